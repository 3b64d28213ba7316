// The guard's abort (activities/guard.ts) against a real HTTP service and the in-memory ports, outside
// Temporal (its context is a plain object): on a conclusion the guard of a run from 'guard-reverts-at-once'
// on reverts at once, side by side with reporting it: the faults it holds, and the faults its hosts' holders
// hold on a daemon its own ports reach, so the revert waits for neither the report nor a workflow task. A run
// from before (no atOnce in its input) keeps the old order: durable first, then the reverts. A retry that
// finds no conclusion on record, but a fault its earlier attempt reverted, concludes again.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostConclusion, runGuard, type GuardFault, type RunLink } from '../../activities/guard.ts';
import type { GuardViolation } from '../../experiments/journal.ts';
import type { Guard } from '../../experiments/schema.ts';
import { faultKind } from '../../faults/registry.ts';
import type { AnyFaultKind } from '../../faults/types.ts';
import { MemoryWorld, MEMORY_HOST } from '../support/memory-ports.ts';
import { httpGuard } from './support/http-guard.ts';

let server: http.Server;
let url = '';
let healthy = false;
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 500;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const guard = (): Guard => httpGuard(url);

const context = (attempt = 1) =>
  ({
    info: { attempt, heartbeatDetails: undefined },
    heartbeat: () => undefined,
    cancellationSignal: new AbortController().signal,
  }) as unknown as Context;

/**
 * The run's end of the guard: each report is recorded in the world's calls with its time, and the workflow
 * "learns" of it only when the test says so (release): until then the report is in flight.
 */
function pendingLink(world: MemoryWorld) {
  const reported: GuardViolation[] = [];
  let release = () => {};
  const learned = new Promise<void>((r) => (release = r));
  const link: RunLink = {
    reportViolation: async (v) => {
      world.calls.push({ t: Date.now(), worker: 'run', op: 'reportViolation', key: 'run', effect: 'none' });
      await learned;
      world.calls.push({ t: Date.now(), worker: 'run', op: 'workflowLearned', key: 'run', effect: 'none' });
      reported.push(v);
    },
    guardRecord: async () => ({}),
  };
  return { link, reported, release };
}

const kindOf = (n: string) => faultKind(n) as AnyFaultKind;
const pause = faultKind('container.pause') as AnyFaultKind;

/** A paused in-memory container on `host`, as a fault of index `index` whose window ends in a minute. */
async function paused(world: MemoryWorld, name: string, index: number, host = MEMORY_HOST): Promise<GuardFault> {
  const id = world.addContainer(name, {}, {}, host);
  const ports = world.ports('agent', host);
  const spec = { kind: 'container.pause', duration: '60s' };
  const handle = await pause.prepare(ports, spec, { container: { id, name } });
  await pause.inject(ports, spec, handle);
  return {
    index,
    kind: 'container.pause',
    handle,
    endsAt: Date.now() + 60_000,
    since: new Date(Date.now() - 1_000).toISOString(),
  };
}

/** Waits (real time, bounded) until cond holds; fails naming what never happened. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 10_000; !cond(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
}

const callOf = (world: MemoryWorld, op: string, key?: string) =>
  world.calls.find(
    (c) => c.op === op && (key === undefined || c.key === key) && (op !== 'unpause' || c.effect === 'revert'),
  );

describe('the guard reverts at once on its conclusion', () => {
  it("reverts its hosts' faults on its own daemon while the report is still in flight; the revert names the guard", async () => {
    healthy = false;
    const world = new MemoryWorld();
    const near = await paused(world, 'near', 0); // held by this daemon's holder
    const far = await paused(world, 'far', 1, 'other'); // held on another daemon: not the guard's to reach
    const { link, reported, release } = pendingLink(world);
    const ports = world.ports('guard'); // the guard's worker: this host's daemon
    const daemon = await ports.containers.daemon!();

    // The report never lands on its own (no fallback within the test): only a guard that does not wait for
    // it reverts before the test lets the workflow learn of the failure.
    const result = runGuard(
      ports,
      kindOf,
      link,
      {
        guard: guard(),
        faults: [],
        until: Date.now() + 60_000,
        renewEveryMs: 3_000,
        atOnce: true,
        elsewhere: [
          { ...near, daemonId: daemon.id },
          { ...far, daemonId: 'memory-daemon-other' },
        ],
      },
      context(),
      { reportWaitMs: 600_000 },
    );
    const nearId = (near.handle as { containerId?: string }).containerId ?? 'near-id';
    await until(() => !!callOf(world, 'unpause', `container:${nearId}`), 'the guard unpaused the near container');

    const reportedAt = callOf(world, 'reportViolation')!;
    const unpause = callOf(world, 'unpause', `container:${nearId}`)!;
    expect(callOf(world, 'workflowLearned')).toBeUndefined(); // the revert did not wait for the run
    expect(unpause.worker).toBe('guard'); // issued by the guard's own ports, not a holder or the workflow
    expect(unpause.t).toBeGreaterThanOrEqual(reportedAt.t); // the report was on its way first
    expect(world.containers.get(nearId)?.state).toBe('running');
    expect(world.containers.get('other.far-id')?.state).toBe('paused'); // another daemon's: left to its holder

    release();
    const r = await result;
    expect(r.violated).toBe(true);
    expect(reported).toEqual([r.violation]);
    expect(Object.keys(r.reverted)).toEqual(['0']); // what it reverted, for the journal
    expect(r.revertReports?.[0]).toMatchObject({ by: 'guard', tookEffect: true });
    expect(r.revertReports![0]!.at).toBe(new Date(unpause.t).toISOString()); // the daemon's record of the unpause
    expect(world.calls.filter((c) => c.op === 'unpause' && c.key === 'container:other.far-id')).toEqual([]);
  });

  it('a run from before (no atOnce): the report is durable first, then the revert, named the workflow', async () => {
    healthy = false;
    const world = new MemoryWorld();
    const held = await paused(world, 'held', 0);
    const near = await paused(world, 'near', 1);
    const { link, release } = pendingLink(world);
    const ports = world.ports('guard');
    const result = runGuard(
      ports,
      kindOf,
      link,
      // What an older workflow history schedules: the faults it holds, nothing else (elsewhere is ignored).
      {
        guard: guard(),
        faults: [held],
        renewEveryMs: 3_000,
        elsewhere: [{ ...near, daemonId: 'memory-daemon-memory' }],
      },
      context(),
      { reportWaitMs: 600_000 },
    );
    await until(() => !!callOf(world, 'reportViolation'), 'the guard reported');
    await new Promise((r) => setTimeout(r, 300)); // room for a wrong order to show
    expect(callOf(world, 'unpause', 'container:held-id')).toBeUndefined();
    release();
    const r = await result;
    const learned = callOf(world, 'workflowLearned')!;
    const unpause = callOf(world, 'unpause', 'container:held-id')!;
    expect(unpause.t).toBeGreaterThanOrEqual(learned.t);
    expect(r.revertReports?.[0]).toMatchObject({ by: 'workflow', tookEffect: true });
    expect(world.containers.get('near-id')?.state).toBe('paused'); // not the guard's in an old run
  });

  it("a retry with no conclusion on record, whose earlier attempt released a fault's lease before its window's end, concludes again and restores nothing", async () => {
    const world = new MemoryWorld();
    world.useLeases();
    const f = await paused(world, 'c', 0);
    const lease = { id: 'run.lease-1', ms: 10_000 };
    const handle = { ...f.handle, lease };
    const ports = world.ports('guard');
    await ports.leases!.grant(
      { id: lease.id, kind: f.kind, handle, leaseMs: lease.ms, grantedAt: new Date().toISOString() },
      lease.ms,
    );
    const fault = { ...f, handle };
    expect(await lostConclusion(ports, kindOf, [fault])).toBeUndefined(); // held: nothing was concluded

    // The earlier attempt's revert (release, then unpause), whose report was lost with its worker.
    await ports.leases!.release(lease.id);
    await pause.revert(ports, handle);
    const v = await lostConclusion(ports, kindOf, [fault]);
    expect(v?.failing.violations[0]).toMatch(/^an earlier attempt of the guard reverted fault 1 \(container\.pause\)/);

    // Taken by the warden (its lease lapsed) is not the guard's conclusion.
    const g = await paused(world, 'd', 1);
    const lease2 = { id: 'run.lease-2', ms: 10_000 };
    const handle2 = { ...g.handle, lease: lease2 };
    await ports.leases!.grant(
      { id: lease2.id, kind: g.kind, handle: handle2, leaseMs: lease2.ms, grantedAt: new Date().toISOString() },
      lease2.ms,
    );
    await world.lapse();
    expect(await lostConclusion(ports, kindOf, [{ ...g, handle: handle2 }])).toBeUndefined();
  });

  it("a retried guard finds its earlier attempt's revert of a proxy rule: aborts on it, nothing put back", async () => {
    healthy = true; // the service recovered once the rule was gone: only the record tells
    const world = new MemoryWorld();
    world.addProxy('r');
    const ports = world.ports('guard');
    const kind = kindOf('proxy.latency');
    const spec = kind.spec.parse({ kind: 'proxy.latency', proxy: 'r', latency: '100ms', duration: '60s' });
    const since = new Date().toISOString();
    const handle = await kind.prepare(ports, spec, {});
    await kind.inject(ports, spec, handle);
    await kind.revert(ports, handle); // the earlier attempt's revert; its report and heartbeat were lost
    const fault: GuardFault = { index: 0, kind: 'proxy.latency', handle, endsAt: Date.now() + 60_000, since };
    const { link, release } = pendingLink(world);
    release();
    const r = await runGuard(
      ports,
      kindOf,
      link,
      { guard: guard(), faults: [fault], renewEveryMs: 50, atOnce: true },
      context(2),
    );
    expect(r.violated).toBe(true);
    expect(r.violation?.failing.violations[0]).toMatch(/^an earlier attempt of the guard reverted fault 1/);
    expect(world.calls.filter((c) => c.op === 'addToxic')).toHaveLength(1); // the inject only: never restored
    expect(world.toxics.get('r')?.size).toBe(0);
  });
});
