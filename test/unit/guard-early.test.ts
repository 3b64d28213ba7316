// The guard started with the intents (patched('guard-starts-with-intents')): the workflow schedules it in
// the workflow task that schedules the injects, and it learns each inject's time at once from an inject in
// its own process (activities/guard-hub.ts) or, when the inject ran elsewhere, from its run's record (the
// guardRecord query). Its windows start when the faults were applied, never when it happened to start.
// The activity runs outside Temporal here (a plain context, the in-memory ports, a real HTTP service); the
// workflow on the time-skipping server with mocked activities.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learnInjects, runGuard, type EarlyFault, type ObserveInput, type RunLink } from '../../activities/guard.ts';
import { noteApplied } from '../../activities/guard-hub.ts';
import type { GuardProgress, Journal } from '../../experiments/journal.ts';
import type { Guard } from '../../experiments/schema.ts';
import { faultKind } from '../../faults/registry.ts';
import type { AnyFaultKind } from '../../faults/types.ts';
import { WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { experiment, fakeChaos, runInput, serverNow } from './support/fake-chaos.ts';
import { callsOf, sharedWorker, timeSkippingEnv } from './support/workflow-env.ts';
import { httpGuard } from './support/http-guard.ts';

let server: http.Server;
let url = '';
/** When each guard probe request arrived (epoch ms). */
const requests: number[] = [];
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    requests.push(Date.now());
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const guard = (): Guard => httpGuard(url, { failuresToAbort: 2, minCoverage: 0.95 });

let runs = 0;
function context() {
  const ac = new AbortController();
  const beats: GuardProgress[] = [];
  const run = { workflowId: `early-${process.pid}-${++runs}`, runId: `r${runs}` };
  const ctx = {
    info: { attempt: 1, heartbeatDetails: undefined, workflowExecution: run },
    heartbeat: (d: GuardProgress) => beats.push(structuredClone(d)),
    cancellationSignal: ac.signal,
  } as unknown as Context;
  return { ctx, run, cancel: () => ac.abort(new Error('cancelled')), beats };
}

const kindOf = (n: string) => faultKind(n) as AnyFaultKind;

/** A prepared (not yet injected) pause of a new in-memory container, as the workflow gives the guard. */
async function prepared(world: MemoryWorld, name: string, durationMs: number) {
  const id = world.addContainer(name);
  const ports = world.ports('w');
  const spec = { kind: 'container.pause', duration: `${durationMs}ms` };
  const handle = await kindOf('container.pause').prepare(ports, spec as never, { container: { id, name } });
  const early: EarlyFault = { index: 0, kind: 'container.pause', durationMs };
  const inject = async () => {
    await kindOf('container.pause').inject(ports, spec as never, handle);
    return new Date().toISOString();
  };
  return { id, ports, early, inject, handle };
}

describe('a guard started with the intents', () => {
  it('learns its inject from its own process at once, whatever its run answers: its window and first sample start when the fault was applied', async () => {
    const world = new MemoryWorld();
    const { id, ports, early, inject, handle } = await prepared(world, 'c1', 600);
    const { ctx, run } = context();
    let asked = 0;
    // Its run, asked every 10 ms, never answers (its worker is busy): the process's own inject tells it.
    const link: RunLink = {
      reportViolation: async () => undefined,
      guardRecord: () => (asked++, new Promise<never>(() => undefined)),
    };
    const input: ObserveInput = { guard: guard(), faults: [], early: [early], renewEveryMs: 3_000, atOnce: true };
    const before = requests.length;
    const guarding = runGuard(ports, kindOf, link, input, ctx, { ask: { afterMs: 0, everyMs: 10 } });
    await new Promise((r) => setTimeout(r, 300)); // the guard is waiting; nothing is applied yet
    expect(requests.length).toBe(before); // it samples nothing before its fault is applied
    const at = await inject();
    noteApplied(run.workflowId, run.runId, { index: 0, at, handle });
    const r = await guarding;

    expect(asked).toBe(1); // asked once, unanswered: the wait went on beside it
    expect(r.violated).toBe(false);
    expect(r.coverage?.anchor).toBe(Date.parse(at)); // the window starts when the fault was applied
    expect(r.coverage?.end).toBe(Date.parse(at) + 600);
    expect(requests[before]).toBeGreaterThanOrEqual(Date.parse(at)); // its first sample, after the inject
    expect(r.samples).toBeGreaterThan(0);
    expect(r.coverage?.taken).toBeGreaterThan(0);
    // It held the fault and reverted it at its window's end.
    expect(Object.keys(r.reverted)).toEqual(['0']);
    expect(world.containers.get(id)?.state).toBe('running');
  });

  it('an inject noted before the guard started (its worker was slow to start it) is not missed', async () => {
    const world = new MemoryWorld();
    const { early, inject, handle } = await prepared(world, 'c2', 300);
    const { ctx, run } = context();
    const at = await inject();
    noteApplied(run.workflowId, run.runId, { index: 0, at, handle });
    const link: RunLink = { reportViolation: async () => undefined, guardRecord: async () => ({}) };
    const { input: learned } = await learnInjects(
      { guard: guard(), faults: [], early: [early], renewEveryMs: 3_000 },
      link,
      ctx,
      { beat: () => undefined, afterMs: 3_600_000 },
    );
    // Its schedule starts at the inject, not at its own late start: the late start counts as unwatched.
    expect(learned.windows).toEqual([{ fault: 0, from: Date.parse(at), to: Date.parse(at) + 300 }]);
    expect(learned.faults).toEqual([{ index: 0, kind: 'container.pause', handle, endsAt: Date.parse(at) + 300 }]);
    expect(learned.until).toBe(Date.parse(at) + 300);
  });

  it('its injects ran in another process: it learns them from its run, in the journal order, held here or on a host', async () => {
    const { ctx } = context();
    let asked = 0;
    const at0 = new Date(Date.now() - 40).toISOString();
    const at1 = new Date(Date.now() - 20).toISOString();
    const link: RunLink = {
      reportViolation: async () => undefined,
      // The run records the injects once their workflow task has run: not at the first questions, which
      // say only that its injects are under way (so it asks every 10 ms, not once an hour).
      guardRecord: async () =>
        ++asked < 3
          ? { injecting: true }
          : {
              applied: [
                { index: 1, at: at1, handle: { h: 1 } },
                { index: 0, at: at0, handle: { h: 0 } },
              ],
            },
    };
    const early: EarlyFault[] = [
      { index: 1, kind: 'container.pause', durationMs: 5_000, elsewhere: true, daemonId: 'd1' },
      { index: 0, kind: 'proxy.latency', durationMs: 2_000, since: 'x' },
    ];
    const { input: learned, applied } = await learnInjects(
      { guard: guard(), faults: [], early, renewEveryMs: 3_000, atOnce: true },
      link,
      ctx,
      { beat: () => undefined, afterMs: 0, everyMs: 3_600_000, injectingMs: 10 },
    );
    // What it learned, for its heartbeat: a retried attempt knows it without asking.
    expect(applied.map((a) => a.index)).toEqual([0, 1]);
    const again = await learnInjects(
      { guard: guard(), faults: [], early, renewEveryMs: 3_000, atOnce: true },
      link,
      ctx,
      {
        beat: () => undefined,
        had: applied,
        afterMs: 0,
      },
    );
    expect(asked).toBe(3); // not asked again
    expect(again.input).toEqual(learned);
    expect(asked).toBe(3);
    expect(learned.early).toBeUndefined();
    expect(learned.windows).toEqual([
      { fault: 0, from: Date.parse(at0), to: Date.parse(at0) + 2_000 },
      { fault: 1, from: Date.parse(at1), to: Date.parse(at1) + 5_000 },
    ]);
    expect(learned.faults).toEqual([
      { index: 0, kind: 'proxy.latency', handle: { h: 0 }, endsAt: Date.parse(at0) + 2_000, since: 'x' },
    ]);
    expect(learned.elsewhere).toEqual([
      { index: 1, kind: 'container.pause', handle: { h: 1 }, endsAt: Date.parse(at1) + 5_000, daemonId: 'd1' },
    ]);
    expect(learned.until).toBe(Date.parse(at1) + 5_000);
  });

  it('cancelled while it waits (an inject failed, or an abort): it stops, samples nothing and touches nothing', async () => {
    const world = new MemoryWorld();
    const { id, ports, early } = await prepared(world, 'c3', 5_000);
    const { ctx, cancel } = context();
    const link: RunLink = { reportViolation: async () => undefined, guardRecord: async () => ({}) };
    const before = requests.length;
    const guarding = runGuard(
      ports,
      kindOf,
      link,
      { guard: guard(), faults: [], early: [early], renewEveryMs: 3_000 },
      ctx,
      { ask: { afterMs: 0, everyMs: 20 } },
    );
    setTimeout(cancel, 100);
    await expect(guarding).rejects.toThrow('cancelled');
    expect(requests.length).toBe(before);
    expect(world.calls.filter((c) => c.key === `container:${id}` && c.effect === 'revert')).toEqual([]);
  });
});

describe('the workflow starts its guard with the intents', () => {
  let env: TestWorkflowEnvironment;
  let shared: Awaited<ReturnType<typeof sharedWorker>>;
  beforeAll(async () => {
    env = await timeSkippingEnv();
    shared = await sharedWorker(env, Object.keys(fakeChaos().activities));
  });
  afterAll(async () => {
    await shared?.stop();
    await env?.teardown();
  });

  it('the guard is scheduled with the intents, a workflow task before the injects, with every planned fault; each inject names its fault', async () => {
    const chaos = fakeChaos({
      observe: async (input: ObserveInput) => {
        // Started before any fault was prepared: the guard has only the planned faults.
        expect(input.faults).toEqual([]);
        return { violated: false, ...chaos.settled() };
      },
      injectFault: async (_spec: unknown, handle: Record<string, unknown>) => {
        chaos.active.add(String(handle.id));
        return { at: serverNow() };
      },
    });
    const id = `early-wf-${process.pid}`;
    shared.route(id, chaos.activities);
    const e = experiment({
      extra: 'guard: { interval: 1s, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/" } ] }',
    });
    const h = await env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: shared.taskQueue,
      workflowId: id,
      args: [runInput(e)],
    });
    const j = (await h.result()) as Journal;
    expect(j.verdict).toBe('passed');
    expect(chaos.active.size).toBe(0);

    const [guardCall] = callsOf(chaos.calls, 'observe');
    const input = guardCall?.args[0] as ObserveInput;
    expect(input.early?.map((f) => [f.index, f.kind, f.durationMs, f.since])).toEqual(
      j.faults.map((f) => [f.index, f.kind, 20_000, f.intentAt]),
    );
    expect(callsOf(chaos.calls, 'injectFault').map((c) => c.args[2])).toEqual(
      expect.arrayContaining([{ index: 0 }, { index: 1 }]),
    );

    // In history: the patch marker, then the guard scheduled with the intents (one workflow task's commands,
    // the prepares first), and the injects scheduled in a later workflow task.
    const events = (await h.fetchHistory()).events ?? [];
    const marker = events.findIndex(
      (ev) =>
        ev.markerRecordedEventAttributes?.markerName === 'core_patch' &&
        Object.values(ev.markerRecordedEventAttributes.details ?? {})
          .flatMap((p) => p.payloads ?? [])
          .some((p) =>
            Buffer.from(p.data ?? [])
              .toString()
              .includes('guard-starts-with-intents'),
          ),
    );
    const scheduled = (name: string) =>
      events.flatMap((ev, i) => (ev.activityTaskScheduledEventAttributes?.activityType?.name === name ? [i] : []));
    const [guardAt] = scheduled('observe') as [number];
    const prepares = scheduled('prepareFault');
    const injects = scheduled('injectFault');
    expect(marker).toBeGreaterThanOrEqual(0);
    expect(prepares).toHaveLength(2);
    expect(injects).toHaveLength(2);
    expect(guardAt).toBeGreaterThan(Math.max(...prepares));
    // No workflow task completed between the prepares and the guard: one task's commands.
    expect(
      events.slice(Math.min(...prepares), guardAt).filter((ev) => ev.workflowTaskCompletedEventAttributes),
    ).toEqual([]);
    expect(Math.min(...injects)).toBeGreaterThan(guardAt);
  });
});
