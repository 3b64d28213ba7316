// The workflows bench/admission.ts bundles: the real admission workflow and a run that only asks it, the
// way an experiment's admission step does (waitForAdmission), and returns the answer.
import { workflowInfo } from '@temporalio/workflow';
import type { Decision } from '../experiments/admission.ts';
import { waitForAdmission } from '../workflows/admission-client.ts';

export { admission } from '../workflows/admission.ts';

/** One run asking admission for its own proxy route (no other run holds it, so it is admitted). */
export async function admissionBenchRun(route: string, waitMs: number): Promise<Decision> {
  const { workflowId, runId } = workflowInfo();
  return waitForAdmission(
    {
      workflowId,
      runId,
      title: `bench ${route}`,
      targets: [{ key: `proxy:${route}`, label: `proxy route ${route}` }],
    },
    waitMs,
  );
}
