// network.loss against the real daemon and kernel: packets lost at the share asked, measured with real
// datagrams (a UDP echo inside the target, numbered datagrams from the host or from a peer container), in
// either direction and only with the peers named; gone after the revert, with the target's rule set equal
// to the one recorded at prepare (rules someone else put there left alone; one added during the fault makes
// the revert say so); a target restarted during the fault: the revert says the fault went with the old
// namespace and applies nothing to the new one; bad input refused at validation with nothing injected.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerInfo } from 'dockerode';
import { networkLoss, type LossHandle, type NetworkLossSpec } from '../faults/network-loss.ts';
import { ruleset } from '../faults/netfilter.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { runCli, uniqueId } from './helpers.ts';
import {
  createNetwork,
  docker,
  hostLoss,
  inTargetNetns,
  peerLoss,
  removeContainers,
  removeNetwork,
  startIdle,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-loss');
const net = `${id}-net`;
const ports: Ports = {
  containers: createDockerContainerPort(docker),
  kernel: createDockerKernelPort(docker),
} as Ports;
const kernel = ports.kernel!;
let target: KernelTarget;
/**
 * A kernel helper container of this file's target (other files' helpers, on the shared daemon, are not this
 * test's business): the helper is labelled with the container it enters and joins its network namespace.
 */
const ofTarget = (c: ContainerInfo): boolean =>
  [target.id, target.name].includes(c.Labels['faultline.helper.target'] ?? '') ||
  (c.HostConfig?.NetworkMode ?? '').includes(target.id);

beforeAll(async () => {
  await createNetwork(net);
  target = await startTarget(`${id}-target`, net);
});
afterAll(async () => {
  await removeContainers(id);
  await removeNetwork(net);
});

const spec = (s: Record<string, unknown>): NetworkLossSpec =>
  networkLoss.spec.parse({ kind: 'network.loss', duration: '30s', ...s });

async function rulesNow(): Promise<string[]> {
  const r = await kernel.netns(target.id);
  if (r.state !== 'ok') throw new Error(`no namespace: ${JSON.stringify(r)}`);
  return ruleset(r.snapshot.rules);
}

/** Within ±0.07 of the share expected: about 3.5 standard deviations of 600 datagrams at 50 %. */
const near = (measured: number, expected: number) => expect(Math.abs(measured - expected)).toBeLessThanOrEqual(0.07);

describe('network.loss', () => {
  it('both ways: the share asked is lost; a retried inject applies once; gone after revert, rules as at prepare', async () => {
    expect(await hostLoss(target.ip, 9001)).toBeLessThanOrEqual(0.02);
    const s = spec({ share: '30%' });
    const h = (await networkLoss.prepare(ports, s, {
      container: { id: target.id, name: target.name },
      run: 'test-run',
    })) as LossHandle;
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    await networkLoss.inject(ports, s, h);
    await networkLoss.inject(ports, s, h); // retried: the chains are replaced, never doubled
    const during = await rulesNow();
    expect(during.filter((l) => /^-A (INPUT|OUTPUT) .*-j FL-/.test(l))).toHaveLength(2);
    const lost = await hostLoss(target.ip, 9001);
    console.log(`network.loss 30% both ways: ${(lost * 100).toFixed(1)}% of datagrams lost (expected 51%)`);
    near(lost, 1 - 0.7 * 0.7); // the datagram and its echo each cross the filter once
    expect(await networkLoss.revert(ports, h)).toEqual({ changed: true });
    expect(await rulesNow()).toEqual(h.rulesBefore);
    expect(await hostLoss(target.ip, 9001)).toBeLessThanOrEqual(0.02);
    expect(await networkLoss.revert(ports, h)).toEqual({ changed: false }); // idempotent
  });

  it('ingress from one peer container on one port only: its datagrams there are lost, every other path untouched', async () => {
    const peer = await startIdle(`${id}-peer`, net);
    const s = spec({ share: '50%', direction: 'ingress', peers: { containers: [peer.name], ports: [9001] } });
    const h = (await networkLoss.prepare(ports, s, {
      container: { id: target.id, name: target.name },
    })) as LossHandle;
    expect(h.owned.rules.every((r) => r.includes(`${peer.ip}/32`))).toBe(true);
    await networkLoss.inject(ports, s, h);
    try {
      const fromPeer9001 = await peerLoss(peer.name, target.ip, 9001);
      const fromPeer9002 = await peerLoss(peer.name, target.ip, 9002);
      const fromHost = await hostLoss(target.ip, 9001);
      console.log(
        `network.loss 50% ingress from ${peer.ip} port 9001: ${(fromPeer9001 * 100).toFixed(1)}% lost; port 9002 ${(fromPeer9002 * 100).toFixed(1)}%; from the host ${(fromHost * 100).toFixed(1)}%`,
      );
      near(fromPeer9001, 0.5);
      expect(fromPeer9002).toBeLessThanOrEqual(0.02);
      expect(fromHost).toBeLessThanOrEqual(0.02);
    } finally {
      await networkLoss.revert(ports, h);
    }
    expect(await rulesNow()).toEqual(h.rulesBefore);
  });

  it('rules someone else put there stay; one added during the fault makes the revert say so, and it is never touched', async () => {
    await inTargetNetns(target.name, ['iptables', '-N', 'OTHER']);
    await inTargetNetns(target.name, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'OTHER']);
    const s = spec({ share: 0.2, direction: 'egress' });
    const h = (await networkLoss.prepare(ports, s, { container: { id: target.id, name: target.name } })) as LossHandle;
    expect(h.rulesBefore).toContain(':OTHER -');
    await networkLoss.inject(ports, s, h);
    await inTargetNetns(target.name, ['iptables', '-A', 'OUTPUT', '-d', '10.9.9.9', '-j', 'DROP']);
    await expect(networkLoss.revert(ports, h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: expect.stringMatching(/not there before: -A OUTPUT -d 10\.9\.9\.9\/32 -j DROP/),
    });
    const left = await rulesNow();
    expect(left).toContain('-A OUTPUT -d 10.9.9.9/32 -j DROP'); // not Faultline's: left alone
    expect(left.some((l) => l.includes('FL-'))).toBe(false); // Faultline's own: gone
    await inTargetNetns(target.name, ['iptables', '-D', 'OUTPUT', '-d', '10.9.9.9', '-j', 'DROP']);
    expect(await networkLoss.revert(ports, h)).toEqual({ changed: false }); // the retry finds the state from before
    expect(await rulesNow()).toEqual(h.rulesBefore);
    await inTargetNetns(target.name, ['iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'OTHER']);
    await inTargetNetns(target.name, ['iptables', '-X', 'OTHER']);
  });

  it('a target restarted during the fault: the revert says the fault went with the old namespace and applies nothing to the new one', async () => {
    const s = spec({ share: '40%' });
    const h = (await networkLoss.prepare(ports, s, { container: { id: target.id, name: target.name } })) as LossHandle;
    await networkLoss.inject(ports, s, h);
    await docker.getContainer(target.id).restart({ t: 1 });
    for (const end = Date.now() + 30_000; !(await hostLoss(target.ip, 9002, 20).then((l) => l < 1));)
      if (Date.now() > end) throw new Error('the restarted target does not echo');
    const fresh = await kernel.netns(target.id);
    if (fresh.state !== 'ok') throw new Error('no namespace after the restart');
    expect(fresh.snapshot.netns).not.toBe(h.netns);
    const since = Math.floor(Date.now() / 1000);
    const r = await networkLoss.revert(ports, h);
    expect(r).toEqual({
      changed: false,
      note: expect.stringMatching(
        /restarted .*the fault went with its old network namespace net:\[\d+\] eth0@if\d+ and nothing was applied to the new one/,
      ),
    });
    const after = await kernel.netns(target.id);
    expect(after.state === 'ok' && ruleset(after.snapshot.rules)).toEqual(ruleset(fresh.snapshot.rules));
    // Not a single helper entered the new namespace for the revert.
    const helpers = await docker.listContainers({
      all: true,
      filters: { label: ['faultline.component=kernel-helper'] },
    });
    expect(helpers.filter((c) => c.Created >= since && ofTarget(c))).toEqual([]);
    expect(await hostLoss(target.ip, 9001)).toBeLessThanOrEqual(0.02);
  });

  it('bad input (a share over 100%, a CIDR that does not parse) is refused by `run` with its position; nothing is injected', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-loss-'));
    const since = Date.now();
    for (const [fault, where] of [
      ['{ kind: network.loss, share: 120%, duration: 2s }', /bad\.yaml:5:\d+ method\.0\.share: must be at most 100%/],
      [
        '{ kind: network.loss, share: 10%, peers: { cidrs: [ 10.0.0.0/40 ] }, duration: 2s }',
        /bad\.yaml:5:\d+ method\.0\.peers\.cidrs\.0: must be an IPv4 address or network/,
      ],
    ] as const) {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(
        file,
        `title: lose too much
hypothesis: { statement: it answers, probes: [ { name: f, type: http, url: "http://127.0.0.1:1/" } ] }
targets: { names: [ ${target.name} ] }
method:
  - ${fault}
`,
      );
      const r = await runCli(['run', file, '--wait']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr + r.stdout).toMatch(where);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const helpers = await docker.listContainers({
      all: true,
      filters: { label: ['faultline.component=kernel-helper'] },
    });
    expect(helpers.filter((c) => c.Created * 1000 >= since - 1000 && ofTarget(c))).toEqual([]);
    expect((await rulesNow()).some((l) => l.includes('FL-'))).toBe(false);
  });
});
