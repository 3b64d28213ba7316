// Asks by signal (admitAsk, what a run sends itself): every ask that arrives is decided in the admission
// workflow's main loop, many per workflow task, and answered by a signal to the run (admissionDecision).
// Temporal allows 10 in-flight updates per workflow; signals have no such limit. On the time-skipping test
// server: the admission workflow alone, asked for runs that only receive (their histories show the answers),
// and the real experiment workflow with the real control activities for the whole path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { admissionStart, createControlActivities } from '../../activities/control.ts';
import type { AdmissionState, AdmitRequest, Decision, Policy } from '../../experiments/admission.ts';
import type { Journal } from '../../experiments/journal.ts';
import {
  admissionWorkflowId,
  admissionStateQuery,
  admitAskSignal,
  admitUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  releaseSignal,
  setPolicyUpdate,
} from '../../definitions/admission.ts';
import { WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { experiment, fakeChaos, runInput } from './support/fake-chaos.ts';
import {
  callsOf,
  mockActivities,
  startWorker,
  taskQueue,
  timeSkippingEnv,
  workflowBundle,
  type TestWorker,
} from './support/workflow-env.ts';

const EventType = temporal.api.enums.v1.EventType;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** Waits for an event (polling), failing with `what` if it never comes: no assertion on how long it took. */
async function until(what: string, ok: () => boolean | Promise<boolean>, limitMs = 90_000): Promise<void> {
  for (const end = Date.now() + limitMs; !(await ok()); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
}

/** Decisions as a run reads them, without what differs between two admission workflows (times, queue). */
const readable = (d: Decision, queue: string): Decision =>
  d.admitted
    ? d
    : {
        ...d,
        blockers: undefined,
        reason: d.reason.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME').replaceAll(`${queue}-`, ''),
      };

/** The admissionDecision signals in the history of the (receiving) run `workflowId`, in order. */
async function answersOf(workflowId: string): Promise<{ ask: number; decision: Decision }[]> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((a) => a?.signalName === 'admissionDecision')
    .map(
      (a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString()) as { ask: number; decision: Decision },
    );
}

/** Waits for the answer to ask `ask` of the receiving run `workflowId`. */
async function answerTo(workflowId: string, ask: number): Promise<Decision> {
  let got: Decision | undefined;
  await until(`an answer to ${workflowId} ask ${ask}`, async () => {
    got = (await answersOf(workflowId)).find((x) => x.ask === ask)?.decision;
    return got !== undefined;
  });
  return got!;
}

/**
 * A run that only receives: a workflow on a queue no worker polls, so every signal sent to it stays in its
 * history. Its answers are the admissionDecision signals there, in order.
 */
async function receiver(workflowId: string) {
  const h = await env.client.workflow.start('receiver', { taskQueue: taskQueue('nobody'), workflowId });
  const answers = () => answersOf(workflowId);
  return { workflowId, runId: h.firstExecutionRunId, answers, close: () => h.terminate('test over') };
}

/** The admission workflow alone on its queue (closedRuns mocked: no holder has closed). */
async function admissionAlone(name: string) {
  const queue = taskQueue(name);
  const mocks = mockActivities({
    closedRuns: async () => [],
    answerAsks: createControlActivities(env.client).answerAsks,
  });
  // Nothing cached: a replaced worker gets the workflow's tasks at once (no sticky queue of a stopped one).
  const opts = { taskQueue: queue, activities: mocks.activities, maxCachedWorkflows: 0 };
  let worker: TestWorker = await startWorker(env, opts);
  const handle: WorkflowHandle = env.client.workflow.getHandle(admissionWorkflowId(queue));
  await env.client.workflow.executeUpdateWithStart(setPolicyUpdate, {
    args: [{ exclusiveTargets: true, environments: {}, blackouts: [] }],
    startWorkflowOperation: admissionStart(queue),
  });
  const receivers: Awaited<ReturnType<typeof receiver>>[] = [];
  /** A run (a receiver) that asks for `target`. */
  const run = async (i: number | string, target: string, more: Partial<AdmitRequest> = {}) => {
    const r = await receiver(`${queue}-run-${i}`);
    receivers.push(r);
    const req: AdmitRequest = {
      workflowId: r.workflowId,
      runId: r.runId,
      title: `run ${i}`,
      targets: [{ key: `proxy:${target}`, label: `proxy route ${target}` }],
      ...more,
    };
    let n = 0;
    /** Sends ask number n + 1 and waits for its answer. */
    const ask = async (): Promise<Decision> => {
      const k = ++n;
      await handle.signal(admitAskSignal, { req, ask: k });
      return answerTo(req.workflowId, k);
    };
    return { req, ask, answers: r.answers };
  };
  const state = async () => (await handle.query(admissionStateQuery)) as AdmissionState;
  const replays = async () => {
    const h = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, h, `admission ${queue}`);
    return h.events ?? [];
  };
  const stop = () => worker.stop();
  const restart = async () => {
    worker = await startWorker(env, opts);
  };
  const close = async () => {
    await handle.terminate('test over').catch(() => undefined);
    await Promise.all(receivers.map((r) => r.close().catch(() => undefined)));
    await worker.stop();
  };
  return { queue, handle, run, state, replays, stop, restart, close, calls: mocks.calls };
}

describe('asks by signal, decided in the main loop', { timeout: 180_000 }, () => {
  it('100 asks at once: decided in one workflow task, each answered exactly once, admitted, 100 holds; the history replays', async () => {
    const a = await admissionAlone('adm-async-100');
    try {
      const runs = await Promise.all(Array.from({ length: 100 }, (_, i) => a.run(i, `route-${i}`)));
      // No worker while they arrive: the next workflow task carries all 100 (the way a busy worker sees them).
      await a.stop();
      await Promise.all(runs.map((r) => a.handle.signal(admitAskSignal, { req: r.req, ask: 1 })));
      await a.restart();
      await until('100 answers', async () => (await Promise.all(runs.map((r) => r.answers()))).every((x) => x.length));
      for (const r of runs)
        expect(await r.answers(), r.req.workflowId).toEqual([{ ask: 1, decision: { admitted: true } }]);
      const st = await a.state();
      expect(new Set(st.holds.map((h) => h.workflowId)).size).toBe(100);
      expect(st.holds).toHaveLength(100);
      const events = await a.replays();
      expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)).toEqual([]);
      // Decided in one task: one answerAsks activity carried the 100 answers.
      const answered = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'answerAsks',
      );
      expect(answered).toHaveLength(1);
      expect(callsOf(a.calls, 'answerAsks').map((c) => (c.args[0] as unknown[]).length)).toEqual([100]);
    } finally {
      await a.close();
    }
  });

  it('an ask repeated (by signal, or by update after no answer) gets the same decision and never holds or queues twice', async () => {
    const a = await admissionAlone('adm-async-retry');
    try {
      const holder = await a.run(1, 'shared');
      expect(await holder.ask()).toEqual({ admitted: true });
      expect(await holder.ask()).toEqual({ admitted: true });
      expect(await a.handle.executeUpdate(admitUpdate, { args: [holder.req] })).toEqual({ admitted: true });
      // A run that waits for it asks three times, and once by update: refused each time, one place in the queue.
      const waiter = await a.run(2, 'shared', { waitUntil: '2099-01-01T00:00:00Z' });
      for (let k = 0; k < 3; k++) {
        const d = await waiter.ask();
        expect(d).toMatchObject({ admitted: false, retryable: true });
        expect(d.admitted || d.reason).toContain(`is held by ${holder.req.workflowId}`);
      }
      expect(await a.handle.executeUpdate(admitUpdate, { args: [waiter.req] })).toMatchObject({ admitted: false });
      const st = await a.state();
      expect(st.holds.map((h) => h.workflowId)).toEqual([holder.req.workflowId]);
      expect(st.waiters?.map((w) => w.workflowId)).toEqual([waiter.req.workflowId]);
      // Each ask was answered once, in order.
      expect((await waiter.answers()).map((x) => x.ask)).toEqual([1, 2, 3]);
      await a.replays();
    } finally {
      await a.close();
    }
  });

  it('the same asks by update and by signal get the same decisions: holders, limits, approvals, the lever, blackouts, control groups', async () => {
    const policy: Policy = {
      maxConcurrent: 3,
      exclusiveTargets: true,
      environments: { prod: { requireApproval: true } },
      blackouts: [],
    };
    const blackout: Policy = {
      ...policy,
      blackouts: [{ name: 'freeze', from: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' }],
    };
    const byUpdate = await admissionAlone('adm-async-same-u');
    const bySignal = await admissionAlone('adm-async-same-s');
    try {
      const script = async (a: typeof byUpdate, viaSignal: boolean) => {
        await a.handle.executeUpdate(setPolicyUpdate, { args: [policy] });
        const ask = async (i: number, target: string, more: Partial<AdmitRequest> = {}) => {
          const r = await a.run(i, target, more);
          return viaSignal ? r.ask() : (a.handle.executeUpdate(admitUpdate, { args: [r.req] }) as Promise<Decision>);
        };
        const ro = (key: string) => ({ targets: [{ key: `container:${key}`, label: key, readOnly: true }] });
        const out: Decision[] = [];
        out.push(await ask(1, 'a')); // admitted
        out.push(await ask(2, 'a')); // held by run 1
        out.push(await ask(3, 'x', ro('c1'))); // a control group: a read-only hold
        out.push(await ask(4, 'x', ro('c1'))); // two control groups share
        out.push(await ask(5, 'b')); // the limit of 3
        out.push(await ask(6, 'b', { environment: 'prod' })); // needs an approval
        await a.handle.signal(releaseSignal, { workflowId: `${a.queue}-run-4` });
        out.push(await ask(7, 'x', { targets: [{ key: 'container:c1', label: 'c1' }] })); // faults a control replica
        await a.handle.executeUpdate(pullLeverUpdate, { args: [{ reason: 'incident', who: 'oncall' }] });
        out.push(await ask(8, 'd')); // the lever
        const holder = (await a.state()).holds.find((h) => h.workflowId.endsWith('-run-1'))!;
        out.push(
          viaSignal
            ? await (async () => {
                await a.handle.signal(admitAskSignal, { req: holder, ask: 2 });
                return readable(await answerTo(holder.workflowId, 2), a.queue);
              })()
            : ((await a.handle.executeUpdate(admitUpdate, { args: [holder] })) as Decision),
        ); // a holder asking again: it holds, so admitted
        await a.handle.executeUpdate(releaseLeverUpdate, { args: [{}] });
        await a.handle.executeUpdate(setPolicyUpdate, { args: [blackout] });
        out.push(await ask(9, 'e')); // the blackout
        return out.map((d) => readable(d, a.queue));
      };
      const viaUpdate = await script(byUpdate, false);
      const viaSignal = await script(bySignal, true);
      expect(viaSignal).toEqual(viaUpdate);
      expect(viaSignal.map((d) => d.admitted)).toEqual([
        true,
        false,
        true,
        true,
        false,
        false,
        false,
        false,
        true,
        false,
      ]);
      const reasons = viaSignal.map((d) => (d.admitted ? '' : d.reason));
      expect(reasons[7]).toContain('safety lever is pulled by oncall');
      expect(reasons[9]).toContain('blackout window "freeze"');
      const [u, s] = [await byUpdate.state(), await bySignal.state()];
      const ids = (st: AdmissionState, queue: string) => st.holds.map((h) => h.workflowId.replace(`${queue}-`, ''));
      expect(ids(s, bySignal.queue)).toEqual(ids(u, byUpdate.queue));
      expect(ids(s, bySignal.queue)).toEqual(['run-1', 'run-3']);
      await bySignal.replays();
    } finally {
      await byUpdate.close();
      await bySignal.close();
    }
  });
});

describe('experiment runs asking by signal', { timeout: 300_000 }, () => {
  /** Experiment runs on their own queue, faults mocked, admission real; prepareFault waits for `open`. */
  async function runs(name: string, opts: { startAdmission: boolean }) {
    const queue = taskQueue(name);
    const control = createControlActivities(env.client);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const chaos = fakeChaos({
      admitRun: control.admitRun,
      answerAsks: control.answerAsks,
      releaseRun: control.releaseRun,
      closedRuns: control.closedRuns,
      prepareFault: async (spec: { proxy?: string | string[] }) => {
        await Promise.race([gate, Context.current().cancelled]);
        return { id: [spec.proxy].flat().join(','), kind: 'proxy.latency' };
      },
    } as never);
    const worker = await startWorker(env, {
      taskQueue: queue,
      activities: chaos.activities,
      // Every run's prepareFault waits at the gate at once.
      maxConcurrentActivityTaskExecutions: 300,
      maxConcurrentWorkflowTaskExecutions: 10,
    });
    if (opts.startAdmission)
      await env.client.workflow.executeUpdateWithStart(setPolicyUpdate, {
        args: [{ exclusiveTargets: true, environments: {}, blackouts: [] }],
        startWorkflowOperation: admissionStart(queue),
      });
    const admission = env.client.workflow.getHandle(admissionWorkflowId(queue));
    const start = (i: number) => {
      const e = experiment({ faults: 1, duration: '5s' });
      (e.method[0] as { proxy: string[] }).proxy = [`route-${i}`];
      return env.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: queue,
        workflowId: `${queue}-run-${i}`,
        args: [runInput(e)],
      });
    };
    const state = async () => (await admission.query(admissionStateQuery)) as AdmissionState;
    const close = async () => {
      open();
      await admission.terminate('test over').catch(() => undefined);
      await worker.stop();
    };
    return { chaos, open, start, state, close };
  }

  it('100 runs started at once: all asked by signal and were answered by signal, once each, all pass and leave', async () => {
    const r = await runs('adm-async-runs', { startAdmission: true });
    try {
      const handles = await Promise.all(Array.from({ length: 100 }, (_, i) => r.start(i)));
      // (No gate holds them at prepareFault: the guard starts with the intents and the fake guard queries its
      // run every 250 ms, so 100 runs held there swamp the test server. 100 holds at once: the test above.)
      r.open();
      const journals = (await Promise.all(handles.map((h) => h.result()))) as Journal[];
      expect(journals.map((j) => j.verdict)).toEqual(journals.map(() => 'passed'));
      // No ask went by update (the admitRun activity): each signalled ask was answered.
      expect(callsOf(r.chaos.calls, 'admitRun')).toEqual([]);
      await until('every hold released', async () => (await r.state()).holds.length === 0);
      for (const h of handles.slice(0, 5)) {
        const events = (await h.fetchHistory()).events ?? [];
        const answers = events.filter(
          (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'admissionDecision',
        );
        expect(answers).toHaveLength(1);
      }
    } finally {
      await r.close();
    }
  });

  it('the first run on a queue (no admission workflow yet): its signal finds nobody, it asks by update, which starts admission; it passes', async () => {
    const r = await runs('adm-async-first', { startAdmission: false });
    try {
      const h = await r.start(1);
      await until('the run held', async () => (await r.state().catch(() => undefined))?.holds.length === 1);
      r.open();
      const j = (await h.result()) as Journal;
      expect(j.verdict, j.reason).toBe('passed');
      expect(callsOf(r.chaos.calls, 'admitRun')).toHaveLength(1);
      // A second run asks by signal now that admission runs.
      const h2 = await r.start(2);
      expect(((await h2.result()) as Journal).verdict).toBe('passed');
      expect(callsOf(r.chaos.calls, 'admitRun')).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});
