// The experiment workflow (workflows/experiment.ts) on the time-skipping test server, over a mocked fault
// system (support/fake-chaos.ts: injects add to `active`, reverts remove). What a chaos tool must keep:
// every abort reverts before it answers, a guard's violation is final once reported, a failed inject is
// never a pass, a revert that keeps failing is retried with backoff for hours under continue-as-new, and
// a worker replaced between any two messages changes nothing in the journal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { GuardViolation, Journal } from '../../experiments/journal.ts';
import {
  abortExperimentUpdate,
  guardRecordQuery,
  guardViolationSignal,
  journalQuery,
  WORKFLOW_TYPE,
  type RunInput,
} from '../../definitions/experiment.ts';
import { STUCK_KEY } from '../../workflows/search-attributes.ts';
import {
  callsOf,
  sharedWorker,
  startWorker,
  taskQueue,
  timeSkippingEnv,
  withWorker,
  type TestWorker,
} from './support/workflow-env.ts';
import { experiment, fakeChaos, runInput, sample, serverNow, untilCancelled } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

type Chaos = ReturnType<typeof fakeChaos>;
const HOUR = 3_600_000;

let shared: Awaited<ReturnType<typeof sharedWorker>>;
beforeAll(async () => {
  shared = await sharedWorker(env, Object.keys(fakeChaos().activities));
});
afterAll(async () => {
  await shared?.stop();
});

/** Starts an experiment on the file's worker with these mocks. */
function start(chaos: Chaos, id: string, input: RunInput = runInput()): Promise<WorkflowHandle> {
  shared.route(id, chaos.activities);
  return env.client.workflow.start(WORKFLOW_TYPE, { taskQueue: shared.taskQueue, workflowId: id, args: [input] });
}

/** Runs an experiment to its end and returns its journal; `cached: false` on a worker of its own that replays every task. */
async function runToEnd(chaos: Chaos, id: string, input: RunInput = runInput(), cached = true): Promise<Journal> {
  if (cached) return (await start(chaos, id, input)).result() as Promise<Journal>;
  const queue = taskQueue('exp');
  return withWorker(
    env,
    { taskQueue: queue, activities: chaos.activities, maxCachedWorkflows: 0 },
    () =>
      env.client.workflow.execute(WORKFLOW_TYPE, {
        taskQueue: queue,
        workflowId: id,
        args: [input],
      }) as Promise<Journal>,
  );
}

/** Waits (real time, bounded) until cond holds; the test fails naming what never happened. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 20_000; !cond(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
}

/** The journal with what differs between two runs of the same experiment (ids, times) taken out. */
function shape(j: Journal) {
  return {
    verdict: j.verdict,
    reason: j.reason,
    phase: j.phase,
    abort: j.abort && { by: j.abort.by, reason: j.abort.reason, phase: j.abort.phase },
    failure: j.failure && { phase: j.failure.phase, cause: j.failure.cause },
    faults: j.faults.map((f) => ({
      kind: f.kind,
      summary: f.summary,
      status: f.status,
      handle: f.handle,
      revertAttempts: f.revertAttempts,
      errors: f.errors,
      injected: !!f.injectedAt,
      reverted: !!f.revertedAt,
    })),
    before: j.steadyStateBefore.map((s) => [s.probe, s.ok]),
    after: j.steadyStateAfter.map((s) => [s.probe, s.ok]),
    stuck: j.stuck,
  };
}

/** A failing guard sample's conclusion, at `at` (default: the activity's server time). */
const violation = (at = serverNow()): GuardViolation => ({
  failing: sample('front', false, at),
  detectedAt: at,
  firstFailureAt: at,
});

describe('experiment workflow: the happy path', () => {
  it('injects every fault, reverts each once, and passes', async () => {
    const chaos = fakeChaos();
    const j = await runToEnd(chaos, 'exp-pass');
    expect(j.verdict).toBe('passed');
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    expect(callsOf(chaos.calls, 'injectFault')).toHaveLength(2);
    expect(callsOf(chaos.calls, 'revertFault')).toHaveLength(2);
    expect(callsOf(chaos.calls, 'releaseRun').map((c) => c.args)).toEqual([['exp-pass']]);
    expect(chaos.active.size).toBe(0);
  });

  it('a 6-hour fault window: the guard is given the whole window and the run completes', async () => {
    let guardTimeoutMs = 0;
    const chaos = fakeChaos({
      observe: async () => {
        guardTimeoutMs = Context.current().info.startToCloseTimeoutMs;
        return { violated: false, ...chaos.settled() };
      },
    });
    const j = await runToEnd(chaos, 'exp-6h', runInput(experiment({ duration: '6h' })));
    expect(j.verdict).toBe('passed');
    for (const f of j.faults) expect(Date.parse(f.endsAt ?? '') - Date.parse(f.injectedAt ?? '')).toBe(6 * HOUR);
    expect(guardTimeoutMs).toBeGreaterThanOrEqual(6 * HOUR);
    expect(chaos.active.size).toBe(0);
  });
});

describe('experiment workflow: aborts', () => {
  it('the abort update returns only once every injected fault is reverted', async () => {
    const chaos = fakeChaos({ observe: untilCancelled });
    const h = await start(chaos, 'exp-abort');
    await until(() => callsOf(chaos.calls, 'observe').length > 0, 'the fault window began');
    expect(chaos.active.size).toBe(2);
    const answered = await h.executeUpdate(abortExperimentUpdate, { args: [{ reason: 'stop it', who: 'alice' }] });
    // At the moment the update answers, nothing is applied any more, and its journal says so.
    expect(chaos.active.size).toBe(0);
    expect(answered.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    expect(answered.abort).toMatchObject({ by: 'operator', reason: 'stop it', who: 'alice', phase: 'observing' });
    const j = await h.result();
    expect(j.verdict).toBe('aborted');
    expect(j.reason).toMatch(/^an operator aborted the experiment during observing: stop it; every fault was reverted/);
  });

  it('an abort without a reason is refused by the validator and changes nothing', async () => {
    const chaos = fakeChaos({ observe: untilCancelled });
    const h = await start(chaos, 'exp-abort-empty');
    await until(() => callsOf(chaos.calls, 'observe').length > 0, 'the fault window began');
    await expect(h.executeUpdate(abortExperimentUpdate, { args: [{ reason: '  ' }] })).rejects.toThrow();
    expect((await h.query(journalQuery)).abort).toBeUndefined();
    expect(chaos.active.size).toBe(2);
    await h.executeUpdate(abortExperimentUpdate, { args: [{ reason: 'now for real' }] });
    expect(chaos.active.size).toBe(0);
    expect((await h.result()).abort?.reason).toBe('now for real');
  });

  it('a guard violation signalled before the guard dies aborts the run and reverts, never passed', async () => {
    // Attempt 1 reports the violation (the durable signal), then its worker dies; attempt 2 knows nothing.
    const chaos = fakeChaos({
      observe: async () => {
        const { calls } = chaos;
        if (callsOf(calls, 'observe').length === 1) {
          const id = calls.at(-1)?.workflowId as string;
          await env.client.workflow.getHandle(id).signal(guardViolationSignal, violation());
          throw new Error('worker died after reporting');
        }
        return { violated: false, ...chaos.settled() };
      },
    });
    const j = await runToEnd(chaos, 'exp-guard');
    expect(callsOf(chaos.calls, 'observe')).toHaveLength(2);
    expect(j.verdict).toBe('aborted');
    expect(j.abort).toMatchObject({ by: 'guard', sample: { probe: 'front', ok: false } });
    expect(j.reason).toMatch(/^the guard aborted the experiment during observing: guard probe front failed/);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    expect(chaos.active.size).toBe(0);
  });
});

describe('experiment workflow: injects that fail', () => {
  it('an inject that fails for good: what was attempted is reverted and the run reads failed', async () => {
    const chaos = fakeChaos({
      injectFault: async (_spec: unknown, handle: Record<string, unknown>) => {
        if (handle.id === 'route-2') throw ApplicationFailure.nonRetryable('the proxy refused the rule', 'ProxyError');
        chaos.active.add(String(handle.id));
        return { at: serverNow() };
      },
    });
    const j = await runToEnd(chaos, 'exp-inject-fails');
    expect(j.verdict).toBe('failed');
    expect(j.reason).toMatch(/^injecting: .*the proxy refused the rule; everything injected was reverted$/);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    // The failed inject may have half-applied: its revert is attempted too.
    expect(callsOf(chaos.calls, 'revertFault').map((c) => (c.args[1] as { id: string }).id)).toEqual(
      expect.arrayContaining(['route-1', 'route-2']),
    );
    expect(callsOf(chaos.calls, 'observe')).toEqual([]);
    expect(chaos.active.size).toBe(0);
  });

  it('a prepare that fails for good injects nothing and reads not-started', async () => {
    const chaos = fakeChaos({
      prepareFault: async () => {
        throw ApplicationFailure.nonRetryable('no such route', 'InvalidInput');
      },
    });
    const j = await runToEnd(chaos, 'exp-prepare-fails');
    expect(j.verdict).toBe('not-started');
    expect(j.reason).toMatch(/no such route; nothing was injected$/);
    expect(callsOf(chaos.calls, 'injectFault')).toEqual([]);
    expect(callsOf(chaos.calls, 'revertFault')).toEqual([]);
  });
});

describe('experiment workflow: a revert that keeps failing', () => {
  it('is retried with backoff for 6 hours, marked stuck, handed to new runs, and finally reverted', async () => {
    const OUTAGE = 6 * HOUR;
    const seen: { at: number; looked: boolean; stuck?: boolean; stuckAttribute?: unknown }[] = [];
    let first: number | undefined;
    const chaos = fakeChaos({
      revertFault: async (_kind: string, handle: Record<string, unknown>) => {
        const at = Date.parse(serverNow());
        if (handle.id !== 'route-1') {
          chaos.active.delete(String(handle.id));
          return { at: serverNow() };
        }
        first ??= at;
        // What the run shows meanwhile (the first attempts, then every 10th): its journal and FaultlineStuck.
        const look = seen.length < 6 || seen.length % 10 === 0;
        const h = env.client.workflow.getHandle(chaos.calls.at(-1)?.workflowId as string);
        const [j, d] = look ? await Promise.all([h.query(journalQuery), h.describe()]) : [];
        seen.push({ at, looked: look, stuck: j?.stuck, stuckAttribute: d?.typedSearchAttributes.get(STUCK_KEY) });
        if (at - first < OUTAGE) throw new Error('the host does not answer');
        chaos.active.delete(String(handle.id));
        return { at: serverNow() };
      },
    });
    const tuning = { revertBackoffMaxMs: 3 * 60_000, stuckAfterAttempts: 3, historyEventsLimit: 150 };
    const j = await runToEnd(chaos, 'exp-stuck', runInput(experiment(), { tuning }));

    expect(j.verdict).toBe('passed');
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    expect(chaos.active.size).toBe(0);
    // Hours of retries, in runs that continued as new with the journal and the pending revert.
    expect((seen.at(-1)?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(OUTAGE);
    expect(j.continuedFrom?.length).toBeGreaterThanOrEqual(1);
    expect(j.faults[0]?.revertAttempts).toBe(seen.length);
    expect(j.faults[0]?.errorCount).toBe(seen.length - 1);
    expect(j.faults[0]?.errors).toHaveLength(3); // bounded: the first few and the last
    expect(j.faults[0]?.lastError).toMatch(/the host does not answer/);
    // Backoff: quick retries first, then minutes apart (never more than the cap), so hours take few attempts.
    const gaps = seen.slice(1).map((s, i) => s.at - (seen[i]?.at ?? 0));
    expect(gaps.slice(0, 3).every((g) => g < 5_000)).toBe(true);
    expect(gaps.filter((g) => g >= 60_000).length).toBeGreaterThan(gaps.length / 2);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(tuning.revertBackoffMaxMs + 5_000);
    // Stuck from the third failed attempt on, in the journal and the search attribute; cleared at the end.
    expect(seen.slice(0, 3).map((s) => s.stuck ?? false)).toEqual([false, false, false]);
    const later = seen.slice(3).filter((s) => s.looked);
    expect(later.length).toBeGreaterThan(5);
    expect(later.every((s) => s.stuck === true && s.stuckAttribute === 'true')).toBe(true);
    expect(j.stuck).toBe(false);
    const d = await env.client.workflow.getHandle('exp-stuck').describe();
    expect(d.typedSearchAttributes.get(STUCK_KEY)).toBe('false');
  });
});

describe('experiment workflow: workers replaced between messages', () => {
  it('every workflow task replayed by a fresh worker gives the journal of a cached one', async () => {
    const cached = await runToEnd(fakeChaos(), 'exp-cached');
    const replayed = await runToEnd(fakeChaos(), 'exp-replayed', runInput(), false);
    expect(shape(replayed)).toEqual(shape(cached));
  });

  /**
   * A run held in its fault window by a guard that runs until cancelled (and, retried, finds a reported
   * violation as the real guard does); `message` is sent to it. With `replace`, its worker is shut down
   * first (the guard is cancelled with it), the message is sent while no worker runs, and a new worker that
   * caches nothing (every task replays the whole history) takes over.
   */
  async function messageRun(id: string, replace: boolean, message: (h: WorkflowHandle) => Promise<unknown>) {
    const chaos = fakeChaos({
      // Holds the window until cancelled; returns once its run records a violation (as if it had seen it).
      observe: async () => {
        const ctx = Context.current();
        const h = env.client.workflow.getHandle(ctx.info.workflowExecution?.workflowId as string);
        for (;;) {
          const { violation } = await Promise.race([h.query(guardRecordQuery), ctx.cancelled]);
          if (violation) return { violated: true, violation, ...chaos.settled() };
          ctx.heartbeat();
          await Promise.race([ctx.cancelled, new Promise((r) => setTimeout(r, 100))]);
        }
      },
    });
    const queue = taskQueue('exp');
    const opts = { taskQueue: queue, activities: chaos.activities, maxCachedWorkflows: 0 };
    let w: TestWorker = await startWorker(env, opts);
    try {
      const h = await env.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: queue,
        workflowId: id,
        args: [runInput()],
      });
      await until(() => callsOf(chaos.calls, 'observe').length > 0, 'the fault window began');
      let answer: Promise<unknown>;
      if (replace) {
        await w.stop();
        answer = message(h); // accepted by the server, or waiting for a worker
        w = await startWorker(env, opts);
      } else answer = message(h);
      const answered = await answer;
      const activeAfterMessage = chaos.active.size;
      const j = (await h.result()) as Journal;
      return { answered, activeAfterMessage, j, chaos };
    } finally {
      await w.stop();
    }
  }

  it('an abort update sent while no worker runs: the new worker reverts before answering, same journal', async () => {
    const abort = (h: WorkflowHandle) => h.executeUpdate(abortExperimentUpdate, { args: [{ reason: 'stop it' }] });
    const steady = await messageRun('exp-abort-steady', false, abort);
    const moved = await messageRun('exp-abort-moved', true, abort);
    expect(moved.activeAfterMessage).toBe(0);
    expect(moved.j.verdict).toBe('aborted');
    expect(shape(moved.j)).toEqual(shape(steady.j));
    expect(shape(moved.answered as Journal).faults).toEqual(shape(moved.j).faults);
    expect(callsOf(moved.chaos.calls, 'injectFault')).toHaveLength(2); // never injected again
    expect(callsOf(moved.chaos.calls, 'revertFault')).toHaveLength(2);
    expect(moved.chaos.active.size).toBe(0);
  });

  it('a guard violation signalled while no worker runs: the new worker aborts and reverts, same journal', async () => {
    const report = (h: WorkflowHandle) => h.signal(guardViolationSignal, violation(new Date().toISOString()));
    const steady = await messageRun('exp-guard-steady', false, report);
    const moved = await messageRun('exp-guard-moved', true, report);
    expect(moved.j.verdict).toBe('aborted');
    expect(moved.j.abort?.by).toBe('guard');
    expect(shape(moved.j)).toEqual(shape(steady.j));
    expect(callsOf(moved.chaos.calls, 'injectFault')).toHaveLength(2);
    expect(moved.chaos.active.size).toBe(0);
  });
});
