// The warden and its ledger on a real directory, with an in-memory ContainerPort that records every call:
// a lapsed lease is reverted once through the fault kind's own revert and recorded; a renewed lease is
// left alone; a released lease is never reverted by the warden; a renewal never re-creates a lease the
// warden took; a claim left by a warden that died mid-revert is finished by the next one; a lease the
// warden cannot revert stays claimed and is retried.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerInfo, ContainerPort, Lease, Ports, ProxyPort } from '../../faults/ports.ts';
import {
  activeLeases,
  claimedLeases,
  claimLease,
  createLeaseLedger,
  lapsedLeases,
  writeBeat,
} from '../../warden/lease-ledger.ts';
import { runWarden } from '../../warden/warden.ts';
import { WardenUnavailable } from '../../errors.ts';

/** Containers in memory; every call is recorded as "op:id". */
function memoryContainers(states: Record<string, ContainerInfo['state']>) {
  const calls: string[] = [];
  let failUnpause = 0;
  const info = (id: string): ContainerInfo | null =>
    states[id] ? { id, name: id, labels: {}, state: states[id], networks: {} } : null;
  const port: ContainerPort = {
    list: async () => Object.keys(states).map((id) => info(id) as ContainerInfo),
    inspect: async (id) => info(id),
    kill: async (id) => void (calls.push(`kill:${id}`), (states[id] = 'exited')),
    stop: async (id) => void (calls.push(`stop:${id}`), (states[id] = 'exited')),
    start: async (id) => void (calls.push(`start:${id}`), (states[id] = 'running')),
    restart: async (id) => void calls.push(`restart:${id}`),
    pause: async (id) => void (calls.push(`pause:${id}`), (states[id] = 'paused')),
    unpause: async (id) => {
      calls.push(`unpause:${id}`);
      if (failUnpause-- > 0) throw new Error('daemon hiccup');
      states[id] = 'running';
    },
    disconnect: async (n, id) => void calls.push(`disconnect:${n}:${id}`),
    connect: async (n, id) => void calls.push(`connect:${n}:${id}`),
  };
  return { port, calls, states, failNextUnpauses: (n: number) => (failUnpause = n) };
}

const noProxy = {} as ProxyPort;
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function pauseLease(id: string, container: string, leaseMs: number): Lease {
  return {
    id,
    kind: 'container.pause',
    handle: { containerId: container, containerName: container, wasState: 'running' },
    leaseMs,
    grantedAt: new Date().toISOString(),
    workflowId: 'wf-1',
  };
}

let dir: string;
let stop: AbortController;
let warden: Promise<void> | undefined;
const start = (ports: Ports) => {
  stop = new AbortController();
  warden = runWarden({ dir, ports, tickMs: 20, signal: stop.signal });
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fl-ledger-'));
});
afterEach(async () => {
  stop?.abort();
  await warden;
  warden = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('lease ledger', () => {
  it('refuses a grant when no warden watches, naming the ledger', async () => {
    const ledger = createLeaseLedger(dir);
    await expect(ledger.ready()).rejects.toBeInstanceOf(WardenUnavailable);
    await expect(ledger.grant(pauseLease('a', 'c1', 1000))).rejects.toThrow(dir);
    expect(await activeLeases(dir)).toEqual([]);
  });

  it('a renewal never re-creates a lease the warden claimed or a revert released', async () => {
    const mem = memoryContainers({ c1: 'paused' });
    start({ containers: mem.port, proxy: noProxy });
    await until('first heartbeat', async () =>
      createLeaseLedger(dir)
        .ready()
        .then(
          () => true,
          () => false,
        ),
    );
    const ledger = createLeaseLedger(dir);
    await ledger.grant(pauseLease('a', 'c1', 60_000));
    await ledger.grant(pauseLease('b', 'c1', 60_000));
    expect(await ledger.renew('a')).toBe(true);
    expect(await claimLease(dir, 'a')).toBe(true); // what the warden does when it lapses
    expect(await ledger.renew('a')).toBe(false);
    await ledger.release('b');
    await ledger.release('b'); // idempotent
    expect(await ledger.renew('b')).toBe(false);
    expect((await activeLeases(dir)).map((l) => l.id)).toEqual([]);
  });
});

describe('lapsed lease, as the run sees it', () => {
  it('a lease the warden claimed but has not settled: waited for, then reported as unsettled', async () => {
    await writeBeat(dir, { pid: 1, startedAt: new Date().toISOString(), at: new Date().toISOString() });
    const ledger = createLeaseLedger(dir);
    await ledger.grant(pauseLease('claimed', 'c1', 10_000));
    expect(await claimLease(dir, 'claimed')).toBe(true);
    const r = await ledger.lapsed('claimed');
    expect(r).toMatchObject({ lease: { id: 'claimed' }, error: expect.stringMatching(/not settled/) });
    expect(r?.revertedAt).toBeUndefined();
  });
});

describe('warden', () => {
  it('reverts a lapsed lease once, through the kind, and records that it did', async () => {
    const mem = memoryContainers({ c1: 'paused', other: 'paused' });
    start({ containers: mem.port, proxy: noProxy });
    await until('heartbeat', async () =>
      createLeaseLedger(dir)
        .ready()
        .then(
          () => true,
          () => false,
        ),
    );
    await createLeaseLedger(dir).grant(pauseLease('lapses', 'c1', 150));
    await until('the revert', () => mem.states.c1 === 'running');
    await until('the record', async () => (await lapsedLeases(dir)).some((r) => r.revertedAt));
    const [rec] = await lapsedLeases(dir);
    expect(rec).toMatchObject({ lease: { id: 'lapses', workflowId: 'wf-1' } });
    // The run's revert learns it from the ledger (and a lease it released itself has no record).
    expect(await createLeaseLedger(dir).lapsed('lapses')).toEqual(rec);
    expect(await createLeaseLedger(dir).lapsed('never-lapsed')).toBeUndefined();
    expect(Date.parse(rec!.revertedAt!)).toBeGreaterThanOrEqual(Date.parse(rec!.lapsedAt));
    await new Promise((r) => setTimeout(r, 200));
    // Exactly one unpause, and the paused container that is not in the ledger was never touched.
    expect(mem.calls).toEqual(['unpause:c1']);
    expect(mem.states.other).toBe('paused');
    expect(await activeLeases(dir)).toEqual([]);
    expect(await claimedLeases(dir)).toEqual([]);
  });

  it('leaves a renewed lease alone and never reverts a released one', async () => {
    const mem = memoryContainers({ c1: 'paused', c2: 'paused' });
    start({ containers: mem.port, proxy: noProxy });
    await until('heartbeat', async () =>
      createLeaseLedger(dir)
        .ready()
        .then(
          () => true,
          () => false,
        ),
    );
    const ledger = createLeaseLedger(dir);
    await ledger.grant(pauseLease('renewed', 'c1', 300));
    await ledger.grant(pauseLease('released', 'c2', 300));
    await ledger.release('released');
    for (let i = 0; i < 10; i++) {
      expect(await ledger.renew('renewed')).toBe(true);
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(mem.calls).toEqual([]);
    await until('the lapse once renewals stop', () => mem.states.c1 === 'running');
    // A lease granted with a hold (the inject phase) does not lapse before the hold ends.
    await ledger.grant(pauseLease('held', 'c2', 100), 60_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(mem.states.c2).toBe('paused');
    expect(Date.parse((await activeLeases(dir))[0]!.expiresAt)).toBeGreaterThan(Date.now() + 50_000);
    expect(mem.calls).toEqual(['unpause:c1']);
    expect(mem.states.c2).toBe('paused');
  });

  it('a warden that died mid-revert: the next one finishes the claim; a failed revert is retried', async () => {
    const mem = memoryContainers({ c1: 'paused' });
    // The previous warden beat, the runner granted, the warden claimed the lease and died before reverting.
    await writeBeat(dir, { pid: 1, startedAt: new Date().toISOString(), at: new Date().toISOString() });
    await createLeaseLedger(dir).grant(pauseLease('claimed', 'c1', 60_000));
    expect(await claimLease(dir, 'claimed')).toBe(true);
    mem.failNextUnpauses(1);
    start({ containers: mem.port, proxy: noProxy });
    await until('the retried revert', () => mem.states.c1 === 'running');
    expect(mem.calls).toEqual(['unpause:c1', 'unpause:c1']); // first failed, second succeeded
    await until('the record', async () => (await lapsedLeases(dir)).some((r) => r.revertedAt));
    expect(await claimedLeases(dir)).toEqual([]);
  });
});
