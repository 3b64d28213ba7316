// Notifications from the experiment and game-day workflows (workflows/notify.ts) on the time-skipping test
// server, with mocked activities (support/fake-chaos.ts) and a mocked delivery: each receiver gets its
// events in order, as CloudEvents with ids from the run ID and a sequence; a receiver that refuses every
// delivery changes nothing but the journal's record of it; a delivery that hangs delays no revert (the
// faults are reverted while it is still open); the policy's receivers join at admission; a game day tells
// of its gate waiting for approval and its children tell the game day's receivers of theirs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Journal } from '../../experiments/journal.ts';
import type { Receiver } from '../../experiments/notify.ts';
import type { GameDayInput, GameDayJournal } from '../../experiments/gameday-types.ts';
import type { CloudEvent } from '../../definitions/notify.ts';
import { abortExperimentUpdate, WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { approveGateUpdate, GAME_DAY_TYPE } from '../../definitions/gameday.ts';
import { sharedWorker, timeSkippingEnv } from './support/workflow-env.ts';
import { summary } from '../../cli/render.ts';
import { experiment, fakeChaos, runInput, untilCancelled } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
let shared: Awaited<ReturnType<typeof sharedWorker>>;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});
beforeAll(async () => {
  shared = await sharedWorker(env, [...Object.keys(fakeChaos().activities), 'deliverNotification']);
});
afterAll(async () => {
  await shared?.stop();
});

const HOOK = `notify:\n  - { name: hook, url: "http://127.0.0.1:9/hook" }\n`;
interface Got {
  to: string;
  event: CloudEvent;
  attempt: number;
}
type Deliver = (r: Receiver, e: CloudEvent) => Promise<{ status: number }>;

/** A receiver mock: records each delivery (in the order they reach it), then answers as `answer` says. */
function receiver(answer: Deliver = async () => ({ status: 202 })) {
  const got: Got[] = [];
  const deliverNotification: Deliver = async (r, e) => {
    got.push({ to: r.name ?? '', event: e, attempt: Context.current().info.attempt });
    return answer(r, e);
  };
  return { got, deliverNotification, types: () => got.map((g) => g.event.type) };
}

/** Waits (real time, bounded) until cond holds; the test fails naming what never happened. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 20_000; !cond(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
}

const RUN_EVENTS = [
  'dev.faultline.experiment.started',
  'dev.faultline.experiment.fault.injected',
  'dev.faultline.experiment.fault.injected',
  'dev.faultline.experiment.aborted',
  'dev.faultline.experiment.verdict',
];

/** An experiment with `notify`, aborted by an operator during its window; its journal. */
async function abortedRun(
  id: string,
  hook: ReturnType<typeof receiver>,
  chaos = fakeChaos({ observe: untilCancelled }),
) {
  shared.route(id, { ...chaos.activities, deliverNotification: hook.deliverNotification });
  const h = await env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: shared.taskQueue,
    workflowId: id,
    args: [runInput(experiment({ extra: HOOK }))],
  });
  await until(() => chaos.calls.some((c) => c.name === 'observe'), 'the fault window began');
  await h.executeUpdate(abortExperimentUpdate, { args: [{ reason: 'enough', who: 'alice' }] });
  const j = (await h.result()) as Journal;
  return { j, chaos, runId: h.firstExecutionRunId };
}

describe('experiment notifications', () => {
  it('an aborted run: start, each inject, the abort, the verdict, in order, as CloudEvents 1.0', async () => {
    const hook = receiver();
    const { j, runId } = await abortedRun('notify-order', hook);
    expect(j.verdict).toBe('aborted');
    expect(hook.types()).toEqual(RUN_EVENTS);
    const events = hook.got.map((g) => g.event);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5].map((n) => `${runId}.${n}`));
    for (const e of events) {
      expect(e).toMatchObject({
        specversion: '1.0',
        source: '/faultline/experiment/notify-order',
        datacontenttype: 'application/json',
      });
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    }
    // The two injects run at once: each is told when it completed, in whichever order that was.
    const subjects = events.map((e) => e.subject);
    expect([subjects[0], subjects[3], subjects[4]]).toEqual(['unit experiment', 'unit experiment', 'unit experiment']);
    expect([subjects[1], subjects[2]].sort()).toEqual(['proxy.latency #0', 'proxy.latency #1']);
    expect(events[3]?.data.abort).toMatchObject({ by: 'operator', reason: 'enough', who: 'alice' });
    expect(events[4]?.data).toMatchObject({ verdict: 'aborted', workflowId: 'notify-order' });
    // Times are the workflow's: the abort is after the injects, the verdict after the abort.
    expect(events.map((e) => Date.parse(e.time))).toEqual(events.map((e) => Date.parse(e.time)).sort((a, b) => a - b));
    expect(j.notify).toEqual({ delivered: 5, failed: [] });
  });

  it('a receiver that refuses every delivery: the run reverts and ends as before, the journal records each', async () => {
    const hook = receiver(async () => {
      throw ApplicationFailure.nonRetryable('receiver hook answered 403 to the event', 'NotifyRefused');
    });
    const { j, chaos } = await abortedRun('notify-refused', hook);
    expect(j.verdict).toBe('aborted');
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    expect(chaos.active.size).toBe(0);
    expect(hook.types()).toEqual(RUN_EVENTS);
    expect(j.notify?.delivered).toBe(0);
    expect(j.notify?.failed.map((f) => [f.receiver, f.type, f.error])).toEqual(
      RUN_EVENTS.map((t) => ['hook', t, 'receiver hook answered 403 to the event']),
    );
    // `faultline status` says so.
    expect(summary(j)).toContain(
      `  notifications: 0 delivered, 5 given up\n    hook dev.faultline.experiment.started ${j.runId}.1: receiver hook answered 403 to the event\n`,
    );
    expect(summary(j)).toContain('    and 2 more (status --json)');
  });

  it('a delivery that hangs delays no revert: the faults are reverted while the abort notice is still open', async () => {
    const chaos = fakeChaos({ observe: untilCancelled });
    let revertedWhileOpen = false;
    const hook = receiver(async (_r, e) => {
      const ctx = Context.current();
      if (!e.type.endsWith('.aborted') || ctx.info.attempt > 1) return { status: 202 };
      // The receiver holds the abort's first request until the run's faults are gone. Were the revert
      // waiting for the delivery, this attempt would end first (its start-to-close), the flag unset.
      while (chaos.active.size > 0) {
        ctx.heartbeat();
        await Promise.race([ctx.cancelled, new Promise((r) => setTimeout(r, 20))]);
      }
      revertedWhileOpen = true;
      return { status: 202 };
    });
    const { j } = await abortedRun('notify-hang', hook, chaos);
    expect(revertedWhileOpen).toBe(true);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    // Each revert completed before the abort's delivery did, and the verdict was sent after it (in order).
    expect(hook.types()).toEqual(RUN_EVENTS);
  });

  it("the policy's receivers, from admission's decision: the run's start (at admission), injects and verdict", async () => {
    const policyHook: Receiver = { name: 'policy', url: 'http://127.0.0.1:9/policy', events: ['start', 'verdict'] };
    const chaos = fakeChaos({ admitRun: async () => ({ admitted: true, notify: [policyHook] }) });
    const hook = receiver();
    shared.route('notify-policy', { ...chaos.activities, deliverNotification: hook.deliverNotification });
    const j = (await env.client.workflow.execute(WORKFLOW_TYPE, {
      taskQueue: shared.taskQueue,
      workflowId: 'notify-policy',
      args: [runInput()],
    })) as Journal;
    expect(j.verdict).toBe('passed');
    expect(hook.got.map((g) => [g.to, g.event.type, g.event.data.phase])).toEqual([
      ['policy', 'dev.faultline.experiment.started', 'admitting'],
      ['policy', 'dev.faultline.experiment.verdict', 'done'],
    ]);
  });

  it("a revert stuck for an hour across continue-as-new: told once; the policy's receiver carried to the new runs", async () => {
    const policyHook: Receiver = { name: 'policy', url: 'http://127.0.0.1:9/policy' };
    let first: number | undefined;
    const chaos = fakeChaos({
      admitRun: async () => ({ admitted: true, notify: [policyHook] }),
      revertFault: async (_kind: string, handle: Record<string, unknown>) => {
        const at = Context.current().info.currentAttemptScheduledTimestampMs;
        if (handle.id === 'route-1' && at - (first ??= at) < 3_600_000) throw new Error('the host does not answer');
        chaos.active.delete(String(handle.id));
        return { at: new Date(at).toISOString() };
      },
    });
    const hook = receiver();
    shared.route('notify-stuck', { ...chaos.activities, deliverNotification: hook.deliverNotification });
    const tuning = { revertBackoffMaxMs: 3 * 60_000, stuckAfterAttempts: 3, historyEventsLimit: 100 };
    const j = (await env.client.workflow.execute(WORKFLOW_TYPE, {
      taskQueue: shared.taskQueue,
      workflowId: 'notify-stuck',
      args: [runInput(experiment(), { tuning })],
    })) as Journal;
    expect(j.verdict).toBe('passed');
    expect(j.continuedFrom?.length).toBeGreaterThanOrEqual(1);
    expect(hook.types()).toEqual([
      'dev.faultline.experiment.started',
      'dev.faultline.experiment.fault.injected',
      'dev.faultline.experiment.fault.injected',
      'dev.faultline.experiment.revert.stuck',
      'dev.faultline.experiment.verdict',
    ]);
    const stuck = hook.got[3]?.event;
    expect(stuck?.data.reason).toMatch(/the host does not answer/);
    // The verdict comes from the last run (its own run ID), the stuck notice from the one that became stuck
    // (an earlier run of the chain): ids stay unique across continue-as-new.
    expect(hook.got[4]?.event.id.startsWith(`${j.runId}.`)).toBe(true);
    expect(j.continuedFrom).toContain(stuck?.id.split('.')[0]);
  });

  it('a run with no receivers schedules no delivery', async () => {
    const hook = receiver();
    const chaos = fakeChaos();
    shared.route('notify-none', { ...chaos.activities, deliverNotification: hook.deliverNotification });
    const j = (await env.client.workflow.execute(WORKFLOW_TYPE, {
      taskQueue: shared.taskQueue,
      workflowId: 'notify-none',
      args: [runInput()],
    })) as Journal;
    expect(j.verdict).toBe('passed');
    expect(hook.got).toEqual([]);
    expect(j.notify).toBeUndefined();
  });
});

describe('game-day notifications', () => {
  it("its start, its gate waiting for approval, its child's events and its verdict, to the game day's receiver", async () => {
    const hook = receiver();
    const chaos = fakeChaos();
    shared.route('notify-gd', { ...chaos.activities, deliverNotification: hook.deliverNotification });
    const input: GameDayInput = {
      title: 'notified game day',
      owner: 'olga',
      approvers: ['ann'],
      observers: [],
      steps: [
        { name: 'go', kind: 'gate', text: 'Is the on-call ready?' },
        {
          name: 'run',
          kind: 'experiments',
          experiments: [{ experiment: experiment(), file: 'unit.yaml' }],
          onFailure: 'stop',
        },
      ],
      searchAttributes: true,
      notify: [{ name: 'hook', url: 'http://127.0.0.1:9/hook' }],
    };
    const h = await env.client.workflow.start(GAME_DAY_TYPE, {
      taskQueue: shared.taskQueue,
      workflowId: 'notify-gd',
      args: [input],
    });
    await until(() => hook.types().includes('dev.faultline.gameday.approval.requested'), 'the gate was announced');
    const gate = hook.got.find((g) => g.event.type === 'dev.faultline.gameday.approval.requested')?.event;
    expect(gate).toMatchObject({
      subject: 'go',
      data: { step: 'go', gate: 'Is the on-call ready?', approvers: ['ann'] },
    });
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'ann', step: 'go' }] });
    const j = (await h.result()) as GameDayJournal;
    expect(j.verdict).toBe('passed');
    expect(hook.got.map((g) => [g.event.source, g.event.type])).toEqual([
      ['/faultline/gameday/notify-gd', 'dev.faultline.gameday.started'],
      ['/faultline/gameday/notify-gd', 'dev.faultline.gameday.approval.requested'],
      ['/faultline/experiment/notify-gd-run', 'dev.faultline.experiment.started'],
      ['/faultline/experiment/notify-gd-run', 'dev.faultline.experiment.fault.injected'],
      ['/faultline/experiment/notify-gd-run', 'dev.faultline.experiment.fault.injected'],
      ['/faultline/experiment/notify-gd-run', 'dev.faultline.experiment.verdict'],
      ['/faultline/gameday/notify-gd', 'dev.faultline.gameday.verdict'],
    ]);
    expect(j.notify).toEqual({ delivered: 3, failed: [] });
  });
});
