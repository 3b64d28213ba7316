// The orphan sweep against the real daemon and kernel, for every kind that acts inside a container's
// namespaces: a stray iptables chain (network.loss, network.split), a tbf qdisc (network.bandwidth), a
// stressor (stress.cpu), a fill file (disk.fill) and stopped processes (process.stop). Each stray is left the
// way a dead run leaves one: the fault prepared and injected through its own kind, its lease in the host's
// ledger naming a run that does not exist on the Temporal server, and no revert ever (its warden down: no
// warden watches this ledger). `sweep` reports it applied, read from the kernel; `sweep --fix` reverts it
// through the kind's own revert with the host's kernel port, and the effect is gone (the namespace's rule set
// as at prepare, the root qdisc the kernel's, no stressor, no file, no process stopped); a second sweep finds
// nothing. Before the sweep had the kernel port, each of these was reported not applied and its fix failed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import type { Ports, Lease } from '../faults/ports.ts';
import type { AnyFaultKind, FaultTarget } from '../faults/types.ts';
import { faultKind } from '../faults/registry.ts';
import { ruleset } from '../faults/netfilter.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { describeRun } from '../activities/sweep.ts';
import { sweepHost, type HostInventory, type OpenRuns } from '../warden/sweep.ts';
import { connectClient, type FaultlineClient } from '../cli/client.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { uniqueId } from './helpers.ts';
import {
  createNetwork,
  docker,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-swk');
const net = `${id}-net`;
const deadRun = `${id}-dead-run`;
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
const kernel = ports.kernel!;
let target: KernelTarget;
let proc: { id: string; name: string };
let ledger: string;
let fc: FaultlineClient;
const inv = (): HostInventory => ({ host: 'local', ledgerDir: ledger, containers: ports.containers, kernel });
const open: OpenRuns = { ids: new Set(), toxics: new Set(), unreadable: [] };
const clock = () => ({ startedAt: new Date().toISOString(), describe: (w: string) => describeRun(fc.client, w) });

beforeAll(async () => {
  await createNetwork(net);
  [target] = await Promise.all([
    startTarget(`${id}-target`, net, { nanoCpus: 1e9, memory: 256 * 1024 * 1024 }),
    startTarget(`${id}-peer`, net),
  ]);
  const c: Dockerode.Container = await docker.createContainer({
    name: `${id}-proc`,
    Image: await ensureDemoImage(docker),
    Cmd: [
      '/usr/bin/node',
      '-e',
      `require('child_process').spawn('/usr/bin/node', ['-e', 'setInterval(() => {}, 1000)', 'fl-worker'], { stdio: 'ignore' }); setInterval(() => {}, 1000); console.log('ready');`,
    ],
    Labels: { 'faultline.test': id },
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
  for (const end = Date.now() + 60_000; !(await c.logs({ stdout: true })).toString().includes('ready');)
    if (Date.now() > end) throw new Error('process target did not start');
  proc = { id: c.id, name: `${id}-proc` };
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-swk-ledger-'));
  fc = await connectClient();
});
afterAll(async () => {
  await fc?.close();
  await removeContainers(id);
  await removeNetwork(net);
  rmSync(ledger, { recursive: true, force: true });
});

/** What the stray is, read from the target's kernel: true while it is in effect. */
type Effect = (h: Record<string, unknown>) => Promise<boolean>;
const rules = async (t: { id: string }) => {
  const r = await kernel.netns(t.id);
  if (r.state !== 'ok') throw new Error(`no namespace: ${JSON.stringify(r)}`);
  return r.snapshot;
};
const chains: Effect = async () => ruleset((await rules(target)).rules).some((l) => l.includes(':FL-'));
const tbf: Effect = async () => (await rules(target)).qdiscs.some((q) => / fa17: dev eth0 root/.test(q));
const stressor: Effect = async (h) =>
  (await kernel.stressorRunning(h.stressor as string)) ||
  !!(await kernel.processes(target.id))?.some((p) => p.command.includes('stress-ng'));
const file: Effect = async (h) =>
  (await kernel.dirUsage(target.id, h.dir as string, h.file as string))?.fileBytes !== undefined;
const stopped: Effect = async () =>
  !!(await kernel.nsProcesses(proc.id))?.some((p) => p.command.endsWith('fl-worker') && /^[Tt]$/.test(p.state));

const cases: [string, Record<string, unknown>, () => { id: string; name: string }, Effect][] = [
  ['network.loss', { share: '30%' }, () => target, chains],
  ['network.split', { from: { names: [`${id}-target`] }, to: { names: [`${id}-peer`] } }, () => target, chains],
  ['network.bandwidth', { rate: '1mbit' }, () => target, tbf],
  ['stress.cpu', { cores: 0.2 }, () => target, stressor],
  ['disk.fill', { path: '/tmp', size: '8MiB' }, () => target, file],
  ['process.stop', { pattern: 'fl-worker$' }, () => proc, stopped],
];

describe('faultline sweep: the kinds acting inside a container', () => {
  it.each(cases)('a stray %s left by a dead run: found applied, fixed, gone', async (kind, fields, on, effect) => {
    const k = faultKind(kind) as AnyFaultKind;
    const spec = k.spec.parse({ kind, duration: '5m', ...fields }) as never;
    const t: FaultTarget = { container: on(), run: deadRun };
    const handle = (await k.prepare(ports, spec, t)) as Record<string, unknown>;
    const lease: Lease = {
      id: `${id}.${kind.replace('.', '-')}`,
      kind,
      handle,
      leaseMs: 10_000,
      grantedAt: new Date(Date.now() - 60_000).toISOString(),
      workflowId: deadRun,
    };
    // What the dead run's inject left in the ledger (the warden down: nothing lapses it).
    mkdirSync(path.join(ledger, 'active'), { recursive: true });
    writeFileSync(path.join(ledger, 'active', `${lease.id}.json`), JSON.stringify(lease));
    await k.inject(ports, spec, handle);
    expect(await effect(handle)).toBe(true);

    const found = await sweepHost(inv(), open, false, clock());
    expect(found.orphans).toEqual([
      expect.objectContaining({
        what: kind,
        target: on().name,
        applied: true,
        leaseId: lease.id,
        reason: expect.stringMatching(/does not exist/),
      }),
    ]);
    expect(await effect(handle)).toBe(true); // without --fix nothing is touched

    const fixed = await sweepHost(inv(), open, true, clock());
    expect(fixed.orphans).toEqual([expect.objectContaining({ what: kind, fixed: true })]);
    expect(fixed.orphans[0]?.error).toBeUndefined();
    expect(await effect(handle)).toBe(false);
    if (Array.isArray(handle.rulesBefore)) expect(ruleset((await rules(on())).rules)).toEqual(handle.rulesBefore);
    expect((await sweepHost(inv(), open, false, clock())).orphans).toEqual([]);
  });
});
