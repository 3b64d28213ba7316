// The warden covers the kernel fault kinds: a run injects the fault through its worker's agent, the guard
// renews the lease, then the worker is SIGKILLed for good. The warden beside the daemon (its own container,
// the daemon's socket only) finds the lease lapsed and reverts the fault with the kind's own revert through
// helper containers: the rules are gone and the target's namespace is as it was at prepare (for dns.error, the
// resolver container gone too).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWarden, removeWarden } from '../activities/adapters/warden-container.ts';
import { activeLeases, lapsedLeases } from '../warden/lease-ledger.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { connectClient, getStatus, startExperiment, type FaultlineClient } from '../cli/client.ts';
import { ruleset } from '../faults/netfilter.ts';
import type { LossHandle } from '../faults/network-loss.ts';
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
let target: KernelTarget;
const started: string[] = [];

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-kw-'));
  await createNetwork(net);
  target = await startTarget(`${id}-target`, net);
  await ensureWarden({ dir: ledger });
  fc = await connectClient();
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
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(100)) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Runs `method` on the target through a worker process, kills the worker once the guard renewed, and
 * returns the warden's record and the lease's handle. */
async function killedDuring(method: string) {
  const tq = uniqueId('kw');
  const worker = await workerProcess(tq, { FAULTLINE_WARDEN_DIR: ledger });
  const port = (web.address() as { port: number }).port;
  const e = demoExperiment(
    `
title: the warden reverts a kernel fault
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
targets: { names: [ ${target.name} ], mode: one }
method: [ ${method} ]
`,
    { prefix: id, frontUrl: '' },
  );
  const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
  started.push(workflowId);
  const lease = await until('the guard renewing the lease', async () =>
    (await activeLeases(ledger)).find(
      (l) => l.workflowId === workflowId && Date.parse(l.expiresAt) <= Date.now() + l.leaseMs,
    ),
  );
  expect((await getStatus(fc, workflowId)).journal?.phase).toBe('observing');
  await killProcess(worker);
  const killedAt = Date.now();
  const rec = await until('the warden reverting the lapsed lease', async () =>
    (await lapsedLeases(ledger)).find((l) => l.lease.workflowId === workflowId && l.revertedAt),
  );
  return { lease, rec, killedAt };
}

describe('the warden reverts the kernel fault kinds when their runner is killed', () => {
  it('network.loss: the chains are gone and the rule set is the one recorded at prepare', async () => {
    const { lease, rec, killedAt } = await killedDuring('{ kind: network.loss, share: 60%, duration: 5m }');
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

  it("network.bandwidth: Faultline's qdisc is gone and each interface's root is the one recorded at prepare", async () => {
    const { lease, rec, killedAt } = await killedDuring('{ kind: network.bandwidth, rate: 1mbit, duration: 5m }');
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

  for (const method of [
    '{ kind: stress.cpu, cores: 0.5, duration: 5m }',
    '{ kind: stress.memory, size: 32MiB, duration: 5m }',
    '{ kind: stress.io, workers: 1, duration: 5m }',
  ])
    it(`${method.split(',')[0]?.slice(8)}: the stressor dies with its lease, no stress-ng process is left in the container`, async () => {
      const { lease, rec, killedAt } = await killedDuring(method);
      const h = lease.handle as StressHandle;
      expect(rec.error).toBeUndefined();
      expect(((await kernel.processes(target.id)) ?? []).filter(isStressor)).toEqual([]);
      expect(await docker.listContainers({ all: true, filters: { name: [h.stressor] } })).toEqual([]);
      console.log(
        `${lease.kind}: the worker SIGKILLed, the warden ended the stressor ${Date.parse(rec.revertedAt as string) - killedAt} ms later (lease ${lease.leaseMs} ms)`,
      );
    });

  it('process.stop: the warden continues the stopped process (PID 1 here, through the daemon); none left in state T', async () => {
    const { lease, rec, killedAt } = await killedDuring(
      '{ kind: process.stop, name: node, includePid1: true, duration: 5m }',
    );
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
    const { lease, rec, killedAt } = await killedDuring('{ kind: dns.error, names: [ db.internal ], duration: 5m }');
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
    const { lease, rec, killedAt } = await killedDuring('{ kind: disk.fill, path: /tmp, size: 16MiB, duration: 5m }');
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
