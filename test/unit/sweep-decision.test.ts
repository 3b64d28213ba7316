// The sweep never races a run. The decision (warden/sweep-decision.ts, pure) for every age and ownership
// case: held by an open run, holding admission, granted after the sweep began (and within the clock margin),
// old with its owner running / closed / gone / unreadable / not yet checked, naming no run, a toxic listed
// before or after the runs were read, with open runs that did not answer. Then sweepHost and sweepProxy on a
// real ledger directory with in-memory containers and proxy: what they revert is exactly what the decision
// allows, the owner is described before anything is reverted (and never for a lease an open run holds), and
// a lease granted after the sweep began is neither described nor reverted.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerInfo, ContainerPort, Lease } from '../../faults/ports.ts';
import { activeLeases, createLeaseLedger, writeBeat } from '../../warden/lease-ledger.ts';
import {
  SWEEP_MARGIN_MS,
  sweepDecision,
  type OwnerState,
  type SweepItem,
  type SweepView,
} from '../../warden/sweep-decision.ts';
import { sweepHost, sweepProxy, type OpenRuns, type ProxyInventory } from '../../warden/sweep.ts';

const T0 = Date.parse('2026-05-01T12:00:00.000Z'); // the sweep began
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const view = (over: Partial<SweepView> = {}): SweepView => ({
  startedAt: iso(0),
  readAt: iso(100),
  open: new Set(['open-run']),
  admitted: new Map([['admitted-run', iso(-60_000)]]),
  unreadable: [],
  ...over,
});
const lease = (grantedMs: number | undefined, owner?: string): SweepItem => ({
  owner,
  grantedAt: grantedMs === undefined ? undefined : iso(grantedMs),
  seenAt: iso(2_000),
});
const OLD = -10 * 60_000;

describe('sweepDecision', () => {
  const owners: [string, OwnerState | undefined, boolean, RegExp][] = [
    ['not checked yet', undefined, false, /was not checked/],
    ['running', { state: 'running' }, false, /is running \(described just now\)/],
    ['unreadable', { state: 'unknown', error: 'deadline exceeded' }, false, /could not be read: deadline exceeded/],
    ['closed', { state: 'closed', status: 'TERMINATED' }, true, /is closed \(TERMINATED\)/],
    ['gone', { state: 'not-found' }, true, /does not exist/],
  ];

  it.each(owners)('an old lease whose run the list misses, its run %s', (_, owner, sweep, reason) => {
    const d = sweepDecision(lease(OLD, 'missed-run'), view(), owner);
    expect(d.sweep).toBe(sweep);
    expect(d.reason).toMatch(reason);
    expect(d.reason).toMatch(/missed-run/);
  });

  it('without a direct look at its owner, nothing owned is swept: the verdict asks for the check', () => {
    expect(sweepDecision(lease(OLD, 'missed-run'), view())).toEqual({
      sweep: false,
      check: true,
      reason: 'its run missed-run was not checked',
    });
  });

  it.each(owners)('a lease held by a run the list names open is kept, whatever its age and its run (%s)', (_, o) => {
    for (const age of [OLD, 0, 5_000])
      expect(sweepDecision(lease(age, 'open-run'), view(), o)).toEqual({
        sweep: false,
        reason: 'its run open-run is open',
      });
  });

  it.each(owners)('a lease whose run holds admission is kept, whatever its age and its run (%s)', (_, o) => {
    for (const age of [OLD, 0, 5_000]) {
      const d = sweepDecision(lease(age, 'admitted-run'), view(), o);
      expect(d.sweep).toBe(false);
      expect(d.reason).toMatch(/admitted-run holds admission \(admitted 2026-05-01T11:59:00.000Z\)/);
    }
  });

  it.each(owners)('a lease granted after the sweep began is never swept, even when its run is %s', (_, o) => {
    for (const age of [0, 1, 3_000, 60_000]) {
      const d = sweepDecision(lease(age, 'missed-run'), view(), o);
      expect(d).toEqual({ sweep: false, reason: expect.stringMatching(/after the sweep began/) });
    }
  });

  it('the clock margin: granted up to SWEEP_MARGIN_MS before the sweep began is young, a millisecond more is not', () => {
    const closed: OwnerState = { state: 'closed', status: 'COMPLETED' };
    expect(sweepDecision(lease(-SWEEP_MARGIN_MS, 'missed-run'), view(), closed).sweep).toBe(false);
    expect(sweepDecision(lease(-SWEEP_MARGIN_MS - 1, 'missed-run'), view(), closed).sweep).toBe(true);
    expect(sweepDecision(lease(-999, 'r'), view({ marginMs: 1_000 }), closed).sweep).toBe(false);
    expect(sweepDecision(lease(-1_001, 'r'), view({ marginMs: 1_000 }), closed).sweep).toBe(true);
  });

  it('an old lease that names no run is swept; one with an unreadable grantedAt is judged by its owner alone', () => {
    expect(sweepDecision(lease(OLD), view())).toEqual({ sweep: true, reason: 'it names no run' });
    const garbled: SweepItem = { owner: 'missed-run', grantedAt: 'yesterday', seenAt: iso(2_000) };
    expect(sweepDecision(garbled, view()).sweep).toBe(false);
    expect(sweepDecision(garbled, view(), { state: 'running' }).sweep).toBe(false);
    expect(sweepDecision(garbled, view(), { state: 'not-found' }).sweep).toBe(true);
  });

  it('a toxic (no age, no owner) is swept only when it was listed before the runs were read and all of them answered', () => {
    const toxic = (seenMs: number): SweepItem => ({ seenAt: iso(seenMs) });
    expect(sweepDecision(toxic(50), view())).toEqual({ sweep: true, reason: 'no open run holds it' });
    expect(sweepDecision(toxic(100), view()).sweep).toBe(true); // the same millisecond: listed first
    const late = sweepDecision(toxic(101), view());
    expect(late).toEqual({ sweep: false, reason: expect.stringMatching(/after the runs were read/) });
    const mute = sweepDecision(toxic(50), view({ unreadable: ['open-run'] }));
    expect(mute).toEqual({ sweep: false, reason: expect.stringMatching(/1 open run\(s\) did not answer.*open-run/) });
  });
});

/** Containers in memory; every call is recorded as "op:id". */
function memoryContainers(states: Record<string, ContainerInfo['state']>) {
  const calls: string[] = [];
  const info = (id: string): ContainerInfo | null =>
    states[id] ? { id, name: id, labels: {}, state: states[id], networks: {} } : null;
  const port: ContainerPort = {
    list: async () => Object.keys(states).map((id) => info(id) as ContainerInfo),
    inspect: async (id) => info(id),
    kill: async (id) => void calls.push(`kill:${id}`),
    stop: async (id) => void calls.push(`stop:${id}`),
    start: async (id) => void calls.push(`start:${id}`),
    restart: async (id) => void calls.push(`restart:${id}`),
    pause: async (id) => void (calls.push(`pause:${id}`), (states[id] = 'paused')),
    unpause: async (id) => void (calls.push(`unpause:${id}`), (states[id] = 'running')),
    disconnect: async (n, id) => void calls.push(`disconnect:${n}:${id}`),
    connect: async (n, id) => void calls.push(`connect:${n}:${id}`),
  };
  return { port, calls };
}

describe('sweepHost and sweepProxy follow the decision', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fl-sweep-ledger-'));
    await writeBeat(dir, { pid: 1, startedAt: new Date().toISOString(), at: new Date().toISOString() });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const grant = async (id: string, owner: string, grantedAt: Date) => {
    const l: Lease = {
      id,
      kind: 'container.pause',
      handle: { containerId: id, containerName: id, wasState: 'running' },
      leaseMs: 10_000,
      grantedAt: grantedAt.toISOString(),
      workflowId: owner,
    };
    await createLeaseLedger(dir).grant(l, 3_600_000); // held an hour: the warden would leave it
  };

  it('reverts only leases whose run is described closed or gone; spares the young, the running and the unreadable', async () => {
    const startedAt = new Date();
    const old = new Date(startedAt.getTime() - 10 * 60_000);
    await grant('c-open', 'run-open', old);
    await grant('c-young', 'run-young', new Date(startedAt.getTime() + 1_000)); // a run started during the sweep
    await grant('c-running', 'run-running', old); // visibility missed it
    await grant('c-mute', 'run-mute', old);
    await grant('c-closed', 'run-closed', old);
    await grant('c-gone', 'run-gone', old);
    const ids = ['c-open', 'c-young', 'c-running', 'c-mute', 'c-closed', 'c-gone'];
    const { port, calls } = memoryContainers(Object.fromEntries(ids.map((i) => [i, 'paused'])));
    const described: string[] = [];
    const states: Record<string, OwnerState> = {
      'run-running': { state: 'running' },
      'run-closed': { state: 'closed', status: 'TERMINATED' },
      'run-gone': { state: 'not-found' },
    };
    const open: OpenRuns = { ids: new Set(['run-open']), toxics: new Set(), unreadable: [] };
    const r = await sweepHost({ host: 'h1', ledgerDir: dir, containers: port }, open, true, {
      startedAt: startedAt.toISOString(),
      describe: async (id) => {
        described.push(id);
        if (id === 'run-mute') throw new Error('no answer');
        return states[id] as OwnerState;
      },
    });
    expect(r.orphans.map((o) => [o.leaseId, o.fixed, o.reason]).sort()).toEqual([
      ['c-closed', true, 'its run run-closed is closed (TERMINATED)'],
      ['c-gone', true, 'its run run-gone does not exist'],
    ]);
    expect(r.spared.map((s) => [s.leaseId, s.reason]).sort()).toEqual([
      ['c-mute', 'its run run-mute could not be read: no answer'],
      ['c-running', 'its run run-running is running (described just now)'],
      ['c-young', expect.stringMatching(/after the sweep began/)],
    ]);
    expect(calls.sort()).toEqual(['unpause:c-closed', 'unpause:c-gone']);
    expect(described.sort()).toEqual(['run-closed', 'run-gone', 'run-mute', 'run-running']); // never the open or young
    expect((await activeLeases(dir)).map((l) => l.id).sort()).toEqual(['c-mute', 'c-open', 'c-running', 'c-young']);
  });

  it('without a way to describe owners, a sweep reports nothing owned as an orphan and reverts nothing', async () => {
    await grant('c-1', 'run-1', new Date(Date.now() - 10 * 60_000));
    const { port, calls } = memoryContainers({ 'c-1': 'paused' });
    const r = await sweepHost(
      { host: 'h1', ledgerDir: dir, containers: port },
      { ids: new Set(), toxics: new Set(), unreadable: [] },
      true,
    );
    expect(r.orphans).toEqual([]);
    expect(r.spared).toEqual([expect.objectContaining({ leaseId: 'c-1', reason: 'its run run-1 was not checked' })]);
    expect(calls).toEqual([]);
  });

  it('toxics are judged against the runs read after they were listed', async () => {
    const toxics: Record<string, string[]> = { r1: ['faultline-a', 'faultline-held', 'by-someone-else'] };
    const removed: string[] = [];
    const order: string[] = [];
    const p: ProxyInventory = {
      name: 'proxy',
      listProxies: async () => (order.push('list'), Object.keys(toxics)),
      listToxics: async (route) => toxics[route] ?? [],
      removeToxic: async (route, t) => void removed.push(`${route}/${t}`),
    };
    const stale: OpenRuns = { ids: new Set(), toxics: new Set(), unreadable: [] }; // read before the run started
    const r = await sweepProxy(p, stale, true, {
      startedAt: new Date().toISOString(),
      runs: async () => {
        order.push('runs');
        return { ids: new Set(['late-run']), toxics: new Set(['faultline-held']), unreadable: [] };
      },
    });
    expect(order).toEqual(['list', 'runs']);
    expect(removed).toEqual(['r1/faultline-a']);
    expect(r.orphans).toEqual([expect.objectContaining({ what: 'faultline-a', fixed: true })]);
    // A run that did not answer: no toxic is judged.
    const mute = await sweepProxy(p, stale, true, {
      startedAt: new Date().toISOString(),
      runs: async () => ({ ids: new Set(['x']), toxics: new Set(), unreadable: ['x'] }),
    });
    expect(mute.orphans).toEqual([]);
    expect(mute.spared.map((s) => s.what)).toEqual(['faultline-a', 'faultline-held']);
    expect(removed).toEqual(['r1/faultline-a']);
  });
});
