// The admission workflow's own history stays bounded: it continues as new once its history is long
// (4,000 events; 60 here), carrying its state, and no message is lost across the hand-over: admits,
// releases and approvals sent in bursts while it continues as new all take effect, every update is
// answered, and each run's history replays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { admissionStart, admissionWorkflowId } from '../../activities/control.ts';
import type { AdmissionState, AdmitRequest, Decision } from '../../experiments/admission.ts';
import { admissionStateQuery, admitUpdate, approveUpdate, releaseSignal } from '../../definitions/admission.ts';
import { mockActivities, startWorker, taskQueue, timeSkippingEnv, workflowBundle } from './support/workflow-env.ts';

const EventType = temporal.api.enums.v1.EventType;
type History = temporal.api.history.v1.IHistory;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const req = (i: number): AdmitRequest => ({
  workflowId: `run-${i}`,
  runId: `run-${i}-r`,
  title: `run ${i}`,
  targets: [{ key: `container:c${i % 5}`, label: `c${i % 5}` }],
});

describe('the admission workflow continues as new', () => {
  it('bursts of admits, releases and approvals across several continue-as-new: each answered and applied, each run replays', async () => {
    const queue = taskQueue('adm-can');
    const mocks = mockActivities({ closedRuns: async () => [] });
    const worker = await startWorker(env, { taskQueue: queue, activities: mocks.activities });
    const id = admissionWorkflowId(queue);
    try {
      await env.client.workflow.start('admission', { taskQueue: queue, workflowId: id, args: [{ maxHistory: 60 }] });
      const handle = env.client.workflow.getHandle(id);
      const admit = (r: AdmitRequest) =>
        env.client.workflow.executeUpdateWithStart(admitUpdate, {
          args: [r],
          startWorkflowOperation: admissionStart(queue),
        }) as Promise<Decision>;
      const answers: Decision[] = [];
      // 40 runs on 5 targets, in bursts of 5: each burst also releases the previous burst and approves.
      for (let b = 0; b < 8; b++) {
        const burst = [0, 1, 2, 3, 4].map((k) => b * 5 + k);
        const sent = await Promise.all([
          ...burst.map((i) => admit(req(i))),
          ...(b > 0
            ? [0, 1, 2, 3, 4].map((k) => handle.signal(releaseSignal, { workflowId: `run-${(b - 1) * 5 + k}` }))
            : []),
          handle.executeUpdate(approveUpdate, { args: [{ workflowId: `approved-${b}`, who: 'lead' }] }),
        ]);
        answers.push(...(sent.slice(0, 5) as Decision[]));
      }
      expect(answers).toHaveLength(40);
      const state = (await handle.query(admissionStateQuery)) as AdmissionState;
      // Every release landed: only holders of the last burst can hold; each target at most once.
      const keys = state.holds.flatMap((h) => h.targets.map((t) => t.key));
      expect(new Set(keys).size).toBe(keys.length);
      expect(state.holds.every((h) => Number(h.workflowId.slice(4)) >= 35)).toBe(true);
      expect(state.approvals.map((a) => a.workflowId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((b) => `approved-${b}`));
      // A refusal names a holder that held at that moment; an admission was for a free target.
      expect(answers.filter((d) => d.admitted).length).toBeGreaterThanOrEqual(5);

      // The chain of runs: several, each history bounded, none with a failed task, each replays.
      const runs: string[] = [];
      let runId: string | undefined = (await handle.describe()).runId;
      const bundle = await workflowBundle();
      for (let guard = 0; runId && guard < 50; guard++) {
        runs.push(runId);
        const h: History = await env.client.workflow.getHandle(id, runId).fetchHistory();
        const ev = h.events ?? [];
        // A signal that arrives while the run continues as new makes the server refuse that completion
        // (unhandled command): the run handles the signal, then continues as new. Nothing else may fail.
        const failed = ev.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
        expect(failed.map((e) => e.workflowTaskFailedEventAttributes?.cause)).toEqual(
          failed.map(() => temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND),
        );
        expect(ev.length).toBeLessThan(200);
        await Worker.runReplayHistory({ workflowBundle: bundle }, h, `admission run ${runId}`);
        runId = ev[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
      }
      expect(runs.length).toBeGreaterThan(2);
    } finally {
      await env.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
      await worker.stop();
    }
  });
});
