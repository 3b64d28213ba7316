// network.bandwidth against the real daemon and kernel: a target's TCP source sends as fast as it may; with
// the fault its throughput to this host is the rate asked (tbf under Faultline's handle at the root of its
// interface), a retried inject applies once, and after the revert the interface's root qdisc is the one
// recorded at prepare and the throughput is unlimited again. A root qdisc someone else put there is never
// replaced: the fault is refused at prepare and nothing is injected; a target restarted during the fault:
// the revert says so and applies nothing to the new namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkBandwidth, type BandwidthHandle, type NetworkBandwidthSpec } from '../faults/network-bandwidth.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { uniqueId } from './helpers.ts';
import {
  createNetwork,
  docker,
  hostThroughput,
  inTargetNetns,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-bw');
const net = `${id}-net`;
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
const kernel = ports.kernel!;
let target: KernelTarget;

beforeAll(async () => {
  await createNetwork(net);
  target = await startTarget(`${id}-target`, net);
});
afterAll(async () => {
  await removeContainers(id);
  await removeNetwork(net);
});

const spec = (s: Record<string, unknown>): NetworkBandwidthSpec =>
  networkBandwidth.spec.parse({ kind: 'network.bandwidth', duration: '30s', ...s });
const on = () => ({ container: { id: target.id, name: target.name } });

async function qdiscs(): Promise<string[]> {
  const r = await kernel.netns(target.id);
  if (r.state !== 'ok') throw new Error('no namespace');
  return r.snapshot.qdiscs;
}

const mbit = (b: number) => `${(b / 1e6).toFixed(2)} Mbit/s`;

describe('network.bandwidth', () => {
  it('the target sends at the rate asked; a retried inject applies once; after the revert its root qdisc is the one before', async () => {
    const before = await hostThroughput(target.ip);
    const rootBefore = (await qdiscs()).filter((q) => / dev eth0 root /.test(q));
    const s = spec({ rate: '8mbit', network: net });
    const h = (await networkBandwidth.prepare(ports, s, on())) as BandwidthHandle;
    expect(h.rootsBefore).toEqual({ eth0: 'noqueue 0:' });
    await networkBandwidth.inject(ports, s, h);
    await networkBandwidth.inject(ports, s, h); // retried: replaces its own, never stacks
    expect((await qdiscs()).filter((q) => q.startsWith('qdisc tbf fa17: dev eth0 root'))).toHaveLength(1);
    const limited = await hostThroughput(target.ip);
    console.log(`network.bandwidth 8mbit: ${mbit(limited)} (unlimited before: ${mbit(before)})`);
    expect(limited / 8e6).toBeGreaterThanOrEqual(0.85);
    expect(limited / 8e6).toBeLessThanOrEqual(1.1);
    expect(before).toBeGreaterThan(4 * 8e6);
    expect(await networkBandwidth.revert(ports, h)).toEqual({ changed: true });
    expect((await qdiscs()).filter((q) => / dev eth0 root /.test(q))).toEqual(rootBefore);
    expect(await hostThroughput(target.ip)).toBeGreaterThan(4 * 8e6);
    expect(await networkBandwidth.revert(ports, h)).toEqual({ changed: false });
  });

  it('a root qdisc someone else put there is never replaced: refused at prepare, nothing injected, and it stays', async () => {
    await inTargetNetns(target.name, [
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      '100mbit',
      'burst',
      '64kb',
      'latency',
      '50ms',
    ]);
    try {
      const before = await qdiscs();
      await expect(networkBandwidth.prepare(ports, spec({ rate: '1mbit' }), on())).rejects.toMatchObject({
        name: 'FaultTargetGone',
        message: expect.stringMatching(
          /eth0 of .* has a root qdisc Faultline does not replace \(tbf 1:\); nothing injected/,
        ),
      });
      expect(await qdiscs()).toEqual(before);
    } finally {
      await inTargetNetns(target.name, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    }
  });

  it('a target restarted during the fault: the revert says the fault went with the old namespace and applies nothing', async () => {
    const s = spec({ rate: '1mbit' });
    const h = (await networkBandwidth.prepare(ports, s, on())) as BandwidthHandle;
    await networkBandwidth.inject(ports, s, h);
    await docker.getContainer(target.id).restart({ t: 1 });
    const r = await networkBandwidth.revert(ports, h);
    expect(r).toEqual({
      changed: false,
      note: expect.stringMatching(/restarted .*nothing was applied to the new one/),
    });
    expect((await qdiscs()).some((q) => q.includes('fa17:'))).toBe(false);
  });
});
