// An admission workflow started by the previous code (decisions in the `admit` handler) is handed to a
// worker of the current code: the new worker replays its history with the previous code's path, and at
// its first live task answers the admit with a transient refusal (the admitRun activity asks again),
// continues as new into the current code and keeps the state: holds, approvals, policy. Both runs'
// histories replay against the current code.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { admissionStart, admissionWorkflowId } from '../../activities/control.ts';
import type { AdmissionState, AdmitRequest, Decision, Policy } from '../../experiments/admission.ts';
import {
  admissionStateQuery,
  admitUpdate,
  approveUpdate,
  releaseSignal,
  setPolicyUpdate,
} from '../../definitions/admission.ts';
import { DECIDE_IN_LOOP_PATCH } from '../../workflows/admission.ts';
import { mockActivities, startWorker, taskQueue, timeSkippingEnv, workflowBundle } from './support/workflow-env.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const req = (workflowId: string, keys: string[], environment?: string): AdmitRequest => ({
  workflowId,
  runId: `${workflowId}-run`,
  title: workflowId,
  ...(environment ? { environment } : {}),
  targets: keys.map((key) => ({ key, label: key })),
});

const EventType = temporal.api.enums.v1.EventType;
const WFT = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
]);
const eventTypes = (events: { eventId?: unknown; eventType?: unknown }[]) =>
  events.map((e) => `${String(e.eventId)} ${EventType[e.eventType as number]}`).join('\n');

/**
 * Until the run has no workflow task outstanding (its last one completed). A worker stopped right after a
 * signal may have polled the signal's task and never answer it: the task then times out 10 s later and is
 * tried again on the next worker, and the Java test server leaves what a retried task then records (the
 * marker, the continue-as-new) out of the closed run's history.
 */
async function idle(handle: WorkflowHandle): Promise<void> {
  let events: { eventId?: unknown; eventType?: unknown }[] = [];
  for (let i = 0; i < 400; i++) {
    events = (await handle.fetchHistory()).events ?? [];
    const last = events.filter((e) => WFT.has(e.eventType as number)).at(-1);
    if (last?.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the admission workflow never settled:\n${eventTypes(events)}`);
}

let previous: Promise<{ code: string }> | undefined;
/** The workflow bundle of a worker of the previous code (./support/admission-before-loop.ts). */
const previousBundle = () =>
  (previous ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./support/admission-before-loop.ts', import.meta.url)),
    logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never,
  }));

describe('admission across the upgrade to decisions in the main loop', { timeout: 120_000 }, () => {
  it('a run of the previous code moves to the current code at its first live task, with its holds, approvals and policy; both histories replay', async () => {
    const queue = taskQueue('adm-upgrade');
    const mocks = mockActivities({ closedRuns: async () => [] });
    const previous = await previousBundle();
    const admit = (r: AdmitRequest) =>
      env.client.workflow.executeUpdateWithStart(admitUpdate, {
        args: [r],
        startWorkflowOperation: admissionStart(queue),
      }) as Promise<Decision>;
    const handle = env.client.workflow.getHandle(admissionWorkflowId(queue));
    const policy: Policy = {
      exclusiveTargets: true,
      environments: { gated: { requireApproval: true } },
      blackouts: [],
    };

    const old = await startWorker(env, {
      taskQueue: queue,
      activities: mocks.activities,
      workflowBundle: previous,
      maxCachedWorkflows: 0,
    });
    try {
      await env.client.workflow.executeUpdateWithStart(setPolicyUpdate, {
        args: [policy],
        startWorkflowOperation: admissionStart(queue),
      });
      expect(await admit(req('holder', ['container:x']))).toEqual({ admitted: true });
      await handle.executeUpdate(approveUpdate, { args: [{ workflowId: 'gated-run', who: 'lead' }] });
      expect(await admit(req('gone', ['container:y']))).toEqual({ admitted: true });
      await handle.signal(releaseSignal, { workflowId: 'gone' });
      await idle(handle); // the old worker answered the signal's task before it stops
    } finally {
      await old.stop();
    }
    const first = (await handle.describe()).runId;

    const current = await startWorker(env, { taskQueue: queue, activities: mocks.activities, maxCachedWorkflows: 0 });
    try {
      // The old run's first live task (this admit, or the sweep's timer if it fires first) records the
      // marker; an admit it answers meanwhile gets a transient refusal, asked again as the admitRun activity's
      // retries do, until the new run answers, from the state carried over.
      const askAgain = async (r: AdmitRequest) => {
        for (let i = 0; i < 100; i++) {
          const d = await admit(r);
          if (d.admitted || !d.transient) return d;
          expect(d.reason).toContain('continuing as new');
          await new Promise((done) => setTimeout(done, 50));
        }
        throw new Error('admission never stopped moving');
      };
      const blocked = await askAgain(req('blocked', ['container:x']));
      expect(blocked).toMatchObject({ admitted: false, retryable: true });
      expect(blocked.admitted || blocked.reason).toContain('container:x is held by holder');
      expect(await askAgain(req('gated-run', ['container:z'], 'gated'))).toEqual({ admitted: true });
      const state = (await handle.query(admissionStateQuery)) as AdmissionState;
      expect(state.policy).toEqual(policy);
      expect(state.holds.map((h) => h.workflowId)).toEqual(['holder', 'gated-run']);
      const second = (await handle.describe()).runId;
      expect(second).not.toBe(first);

      const bundle = await workflowBundle();
      const oldHistory = await env.client.workflow.getHandle(handle.workflowId, first).fetchHistory();
      // The previous code recorded no marker; the current code recorded its marker at the move.
      const markers = (oldHistory.events ?? []).filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_patch',
      );
      const patchIds = markers.map((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {})
          .flatMap((p) => p.payloads ?? [])
          .map((p) => Buffer.from(p.data ?? []).toString())
          .join(' '),
      );
      expect(patchIds, eventTypes(oldHistory.events ?? [])).toEqual([expect.stringContaining(DECIDE_IN_LOOP_PATCH)]);
      await Worker.runReplayHistory({ workflowBundle: bundle }, oldHistory, 'previous run');
      await Worker.runReplayHistory(
        { workflowBundle: bundle },
        await env.client.workflow.getHandle(handle.workflowId, second).fetchHistory(),
        'current run',
      );
    } finally {
      await handle.terminate('test over').catch(() => undefined); // nothing left pending: the server skips time again
      await current.stop();
    }
  });

  it('an admit that is the first live task of a previous-code run gets a transient refusal; asked again, the new run admits it', async () => {
    const queue = taskQueue('adm-upgrade-moving');
    const mocks = mockActivities({ closedRuns: async () => [] });
    const admit = (r: AdmitRequest) =>
      env.client.workflow.executeUpdateWithStart(admitUpdate, {
        args: [r],
        startWorkflowOperation: admissionStart(queue),
      }) as Promise<Decision>;
    const handle = env.client.workflow.getHandle(admissionWorkflowId(queue));
    const old = await startWorker(env, {
      taskQueue: queue,
      activities: mocks.activities,
      workflowBundle: await previousBundle(),
      maxCachedWorkflows: 0,
    });
    try {
      // Nothing held afterwards, so no timer is pending: the next task is the next message's.
      expect(await admit(req('earlier', ['container:x']))).toEqual({ admitted: true });
      await handle.signal(releaseSignal, { workflowId: 'earlier' });
      await idle(handle); // the old worker answered the signal's task before it stops
    } finally {
      await old.stop();
    }
    const current = await startWorker(env, { taskQueue: queue, activities: mocks.activities, maxCachedWorkflows: 0 });
    try {
      const moving = await admit(req('next', ['container:x']));
      expect(moving).toMatchObject({ admitted: false, retryable: true, transient: true });
      expect(moving.admitted || moving.reason).toContain('continuing as new');
      expect(await admit(req('next', ['container:x']))).toEqual({ admitted: true });
    } finally {
      await handle.terminate('test over').catch(() => undefined); // nothing left pending: the server skips time again
      await current.stop();
    }
  });
});
