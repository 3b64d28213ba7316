// How a run passes admission, from inside its workflow: ask (update-with-start through an activity),
// wait with backoff while the refusal is one that can clear (a holder leaves, an approval comes) up to
// the run's own wait, and leave once its reverts are done. Deterministic only.
import { CancellationScope, proxyActivities, sleep } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import type { AdmitRequest, Decision } from '../experiments/admission.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  // Bounded as a whole (every attempt and the pauses between them), like every activity of a run.
  scheduleToCloseTimeout: '11m',
  retry: { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 20 },
});

export async function waitForAdmission(req: AdmitRequest, waitMs: number): Promise<Decision> {
  const deadline = Date.now() + waitMs;
  let delay = 250;
  for (;;) {
    const d = await control.admitRun.executeWithOptions(
      { summary: `admission: ${req.targets.map((t) => t.label).join(', ') || 'no targets'}` },
      [req],
    );
    if (d.admitted || !d.retryable || Date.now() + delay > deadline) return d;
    await sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), 3_000);
  }
}

/**
 * Not cancellable: a cancelled or aborted run still leaves admission. By workflow ID: a run that continued
 * as new to finish its reverts leaves with the hold its first run took.
 */
export function leaveAdmission(workflowId: string): Promise<void> {
  return CancellationScope.nonCancellable(() =>
    control.releaseRun.executeWithOptions({ summary: 'leave admission' }, [workflowId]),
  );
}
