// The warden covers the kernel fault kinds: one run per kind, each on a target of its own, all on one worker
// process; each injects its fault through the worker's agent and the guard renews its lease; then the worker
// is SIGKILLed for good, once for all of them. The warden beside the daemon (its own container, the daemon's
// socket only) finds each lease lapsed and reverts the fault with the kind's own revert through helper
// containers: the rules are gone and the target's namespace is as it was at prepare (for dns.error, the
// resolver container gone too; for network.split, each member's, one lease each). Each kind's checks run once every run was reverted (or failed), so none
// measures its target while another kind's fault (a stressor) still runs.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWarden, removeWarden } from '../activities/adapters/warden-container.ts';
import { activeLeases, lapsedLeases, type ActiveLease } from '../warden/lease-ledger.ts';
import type { LapsedLease } from '../faults/ports.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { connectClient, getStatus, startExperiment, type FaultlineClient } from '../cli/client.ts';
import { ruleset } from '../faults/netfilter.ts';
import type { LossHandle } from '../faults/network-loss.ts';
import type { SplitHandle } from '../faults/network-split.ts';
import { rootOf, type BandwidthHandle } from '../faults/network-bandwidth.ts';
import { isStressor, type StressHandle } from '../faults/stress-common.ts';
import type { ProcessHandle } from '../faults/process-common.ts';
import type { DiskFillHandle } from '../faults/disk-fill.ts';
import type { DnsHandle } from '../faults/dns-common.ts';
import { demoExperiment, killProcess, uniqueId, workerProcess } from './helpers.ts';
import {
  createNetwork,
  docker,
  hostLoss,
  hostThroughput,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-kw');
const net = `${id}-net`;
const web = http.createServer((_q, r) => r.end('ok'));
const kernel = createDockerKernelPort(docker);
let ledger: string;
let fc: FaultlineClient;
const started: string[] = [];

/** One run per kind: its method, on a target of its own. */
const METHODS = {
  loss: '{ kind: network.loss, share: 60%, duration: 5m }',
  bandwidth: '{ kind: network.bandwidth, rate: 1mbit, duration: 5m }',
  cpu: '{ kind: stress.cpu, cores: 0.5, duration: 5m }',
  memory: '{ kind: stress.memory, size: 32MiB, duration: 5m }',
  io: '{ kind: stress.io, workers: 1, duration: 5m }',
  stop: '{ kind: process.stop, name: node, includePid1: true, duration: 5m }',
  dns: '{ kind: dns.error, names: [ db.internal ], duration: 5m }',
  disk: '{ kind: disk.fill, path: /tmp, size: 16MiB, duration: 5m }',
  // Its target and a peer of its own (${id}-split-peer), named by the split's groups: no targets line.
  split: `{ kind: network.split, from: { names: [ ${id}-split ] }, to: { names: [ ${id}-split-peer ] }, duration: 5m }`,
} as const;
/** The leases a case's run holds: one per member for the split. */
const LEASES: Partial<Record<string, number>> = { split: 2 };
type Case = keyof typeof METHODS;
interface Killed {
  target: KernelTarget;
  lease: ActiveLease;
  /** The run's phase when the worker was killed. */
  phase: string | undefined;
  rec: LapsedLease;
  /** Every record of the run (the split's two members). */
  recs: LapsedLease[];
  killedAt: number;
}
let runs: Record<Case, Promise<Killed>>;
let settled: Promise<unknown>;

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-kw-'));
  await createNetwork(net);
  const cases = Object.keys(METHODS) as Case[];
  const t0 = Date.now();
  const tq = uniqueId('kw');
  const [targets, worker] = await Promise.all([
    Promise.all([...cases, 'split-peer'].map((c) => startTarget(`${id}-${c}`, net))),
    workerProcess(tq, { FAULTLINE_WARDEN_DIR: ledger }),
    ensureWarden({ dir: ledger }),
  ]);
  console.log(`${cases.length} targets, the worker and the warden up in ${Date.now() - t0} ms`);
  fc = await connectClient();
  const byCase = Object.fromEntries(cases.map((c, i) => [c, targets[i]])) as Record<Case, KernelTarget>;
  runs = await killedTogether(byCase, worker, tq);
  settled = Promise.allSettled(Object.values(runs));
});

afterAll(async () => {
  for (const w of started)
    await fc.client.workflow
      .getHandle(w)
      .terminate('test over')
      .catch(() => undefined);
  await fc?.close();
  await removeWarden({ dir: ledger });
  await removeContainers(id);
  await removeNetwork(net);
  web.close();
  rmSync(ledger, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(200)) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Runs each kind's method on its target through the one worker process, kills the worker once every guard
 * renewed its lease (or a run failed to get that far), and gives each kind's lease and the warden's record. */
async function killedTogether(
  targets: Record<Case, KernelTarget>,
  worker: ChildProcess,
  tq: string,
): Promise<Record<Case, Promise<Killed>>> {
  const t0 = Date.now();
  const port = (web.address() as { port: number }).port;
  const cases = Object.keys(METHODS) as Case[];
  const leased = cases.map(async (c) => {
    const e = demoExperiment(
      `
title: the warden reverts a kernel fault
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
${c === 'split' ? 'blastRadius: { maxTargets: 2 }' : `targets: { names: [ ${targets[c].name} ], mode: one }`}
method: [ ${METHODS[c]} ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    started.push(workflowId);
    const lease = await until(`the guard renewing the lease of ${c}`, async () => {
      const mine = (await activeLeases(ledger)).filter((l) => l.workflowId === workflowId);
      const renewed = mine.filter((l) => Date.parse(l.expiresAt) <= Date.now() + l.leaseMs);
      // Renewed by the guard, not by the inject phase's hold (a slow inject renews it too): the run observes.
      return (
        renewed.length === (LEASES[c] ?? 1) &&
        (await getStatus(fc, workflowId)).journal?.phase === 'observing' &&
        renewed[0]
      );
    });
    return { workflowId, lease, phase: (await getStatus(fc, workflowId)).journal?.phase };
  });
  await Promise.allSettled(leased);
  await killProcess(worker);
  const killedAt = Date.now();
  console.log(`every run's lease renewed ${killedAt - t0} ms after the runs started; the worker SIGKILLed`);
  const out = Object.fromEntries(
    cases.map((c, i) => {
      const run = (leased[i] as (typeof leased)[number]).then(async ({ workflowId, lease, phase }) => {
        const recs = await until(`the warden reverting the lapsed lease of ${c}`, async () => {
          const mine = (await lapsedLeases(ledger)).filter((l) => l.lease.workflowId === workflowId && l.revertedAt);
          return mine.length === (LEASES[c] ?? 1) && mine;
        });
        return { target: targets[c], lease, phase, rec: recs[0]!, recs, killedAt };
      });
      run.catch(() => undefined); // awaited by the kind's test, which reports it
      return [c, run];
    }),
  ) as Record<Case, Promise<Killed>>;
  return out;
}

/** The kind's run, once every kind's run was reverted or failed. */
async function killedDuring(c: Case): Promise<Killed> {
  await settled;
  const k = await runs[c];
  expect(k.phase).toBe('observing');
  return k;
}

describe('the warden reverts the kernel fault kinds when their runner is killed', () => {
  it('network.loss: the chains are gone and the rule set is the one recorded at prepare', async () => {
    const { target, lease, rec, killedAt } = await killedDuring('loss');
    const h = lease.handle as LossHandle;
    expect(lease.kind).toBe('network.loss');
    expect(h.owned.chains.length).toBe(2);
    const now = await kernel.netns(target.id);
    expect(now.state).toBe('ok');
    if (now.state !== 'ok') return;
    expect(ruleset(now.snapshot.rules)).toEqual(h.rulesBefore);
    expect(rec.error).toBeUndefined();
    console.log(
      `network.loss: the worker SIGKILLed, the warden reverted it ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
    );
    expect(await hostLoss(target.ip, 9001)).toBeLessThanOrEqual(0.02);
  });

  it("network.split: the warden reverts both members; each one's rule set is the one recorded at prepare", async () => {
    const { recs, killedAt } = await killedDuring('split');
    expect(recs.map((r) => [r.lease.kind, (r.lease.handle as SplitHandle).side, r.error]).sort()).toEqual([
      ['network.split', 'from', undefined],
      ['network.split', 'to', undefined],
    ]);
    for (const r of recs) {
      const h = r.lease.handle as SplitHandle;
      const now = await kernel.netns(h.containerId);
      expect(now.state).toBe('ok');
      if (now.state === 'ok') expect(ruleset(now.snapshot.rules)).toEqual(h.rulesBefore);
    }
    console.log(
      `network.split: the worker SIGKILLed, the warden reverted both members ${Math.max(...recs.map((r) => Date.parse(r.revertedAt as string))) - killedAt} ms later (lease ${recs[0]!.lease.leaseMs} ms)`,
    );
  });

  it("network.bandwidth: Faultline's qdisc is gone and each interface's root is the one recorded at prepare", async () => {
    const { target, lease, rec, killedAt } = await killedDuring('bandwidth');
    const h = lease.handle as BandwidthHandle;
    expect(lease.kind).toBe('network.bandwidth');
    const now = await kernel.netns(target.id);
    expect(now.state).toBe('ok');
    if (now.state !== 'ok') return;
    for (const [dev, root] of Object.entries(h.rootsBefore)) expect(rootOf(now.snapshot, dev)).toBe(root);
    expect(rec.error).toBeUndefined();
    console.log(
      `network.bandwidth: the worker SIGKILLed, the warden reverted it ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
    );
    expect(await hostThroughput(target.ip)).toBeGreaterThan(8e6);
  });

  for (const c of ['cpu', 'memory', 'io'] as const)
    it(`stress.${c}: the stressor dies with its lease, no stress-ng process is left in the container`, async () => {
      const { target, lease, rec, killedAt } = await killedDuring(c);
      const h = lease.handle as StressHandle;
      expect(rec.error).toBeUndefined();
      expect(((await kernel.processes(target.id)) ?? []).filter(isStressor)).toEqual([]);
      expect(await docker.listContainers({ all: true, filters: { name: [h.stressor] } })).toEqual([]);
      console.log(
        `${lease.kind}: the worker SIGKILLed, the warden ended the stressor ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
      );
    });

  it('process.stop: the warden continues the stopped process (PID 1 here, through the daemon); none left in state T', async () => {
    const { target, lease, rec, killedAt } = await killedDuring('stop');
    const h = lease.handle as ProcessHandle;
    expect(h.procs.map((p) => p.pid)).toEqual([1]);
    expect(rec.error).toBeUndefined();
    const now = (await kernel.nsProcesses(target.id)) ?? [];
    expect(now.find((p) => p.pid === 1)?.start).toBe(h.procs[0]?.start);
    expect(now.filter((p) => p.state === 'T' || p.state === 't')).toEqual([]);
    console.log(
      `process.stop: the worker SIGKILLed, the warden continued the process ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
    );
  });

  it("dns.error: the warden ends the resolver and removes the redirect; the rule set (nat table included) is prepare's", async () => {
    const { target, lease, rec, killedAt } = await killedDuring('dns');
    const h = lease.handle as DnsHandle;
    expect(lease.kind).toBe('dns.error');
    expect(h.owned.table).toBe('nat');
    expect(rec.error).toBeUndefined();
    expect(await docker.listContainers({ all: true, filters: { name: [h.resolver] } })).toEqual([]);
    const now = await kernel.netns(target.id);
    expect(now.state).toBe('ok');
    if (now.state !== 'ok') return;
    expect(ruleset(now.snapshot.rules)).toEqual(h.rulesBefore);
    expect(ruleset(now.snapshot.rules).some((l) => l.includes('FL-'))).toBe(false);
    console.log(
      `dns.error: the worker SIGKILLed, the warden removed the resolver and the redirect ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
    );
  });

  it('disk.fill: the warden removes the file; nothing of it is left in the container', async () => {
    const { target, lease, rec, killedAt } = await killedDuring('disk');
    const h = lease.handle as DiskFillHandle;
    expect(rec.error).toBeUndefined();
    const u = await kernel.dirUsage(target.id, h.dir, h.file);
    expect(u).not.toBeNull();
    expect(u?.fileBytes).toBeUndefined();
    console.log(
      `disk.fill: the worker SIGKILLed, the warden removed the file ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
    );
  });
});
