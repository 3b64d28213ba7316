// network.loss without a kernel: the language refuses bad input with the field's position (a share over
// 100%, a CIDR that does not parse, a port out of range, empty peers); the rules it builds (one chain per
// direction, loopback spared, each packet dropped at most once even when peers overlap); the rule-set
// comparison its revert relies on; and its lifecycle on the in-memory kernel port (a retried inject applies
// once, a revert leaves the rule set recorded at prepare, a restarted target's revert applies nothing and
// says why, the warden's revert of a lapsed lease).
import { describe, expect, it } from 'vitest';
import { faultSchema, type FaultEntry } from '../../experiments/schema.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import { formatProblem } from '../../errors.ts';
import { lossChains, networkLoss, type LossHandle } from '../../faults/network-loss.ts';
import { chainBase, disjointCidrs, parseCidr, ruleset, rulesetDiff, shortHash } from '../../faults/netfilter.ts';
import { parseSnapshot, splitRule } from '../../activities/adapters/kernel.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { revertAndReport } from '../../activities/revert.ts';
import { noteRevert } from '../../workflows/reverts.ts';
import type { FaultRecord } from '../../experiments/journal.ts';

const file = (fault: string) => `title: lose packets
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
targets: { names: [ api-1 ] }
method:
${fault}
`;

function problems(fault: string): string[] {
  const r = parseExperiment(file(fault), 'loss.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('network.loss: the language', () => {
  it('reads a share as 30% or 0.3, defaults to both directions', () => {
    for (const share of ['30%', 0.3, ' 30 % ']) {
      const f = faultSchema.parse({ kind: 'network.loss', duration: '1s', share }) as FaultEntry;
      expect(f).toMatchObject({ kind: 'network.loss', share: 0.3, direction: 'both' });
    }
  });

  it('refuses a share over 100%, of 0 or not a share, naming file, line and field', () => {
    expect(problems('  - { kind: network.loss, duration: 10s, share: 120% }')).toEqual([
      expect.stringMatching(/^loss\.yaml:7:49 method\.0\.share: must be at most 100%/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s, share: 1.5 }')).toEqual([
      expect.stringMatching(/^loss\.yaml:7:49 method\.0\.share: must be at most 100%/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s, share: 0% }')).toEqual([
      expect.stringMatching(/method\.0\.share: must be at least 0.01%/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s, share: lots }')).toEqual([
      expect.stringMatching(/method\.0\.share: must be a share such as 30% or 0\.3/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s }')).toEqual([
      expect.stringMatching(/method\.0\.share: required field "share" is missing/),
    ]);
  });

  it('refuses a CIDR that does not parse, a port out of range and empty peers, each at its position', () => {
    const p = problems(`  - kind: network.loss
    duration: 10s
    share: 10%
    peers:
      cidrs: [ 10.0.0.0/8, 10.0.0.300/8, 172.18.0.0/33, fe80::1 ]
      ports: [ 80, 70000 ]`);
    expect(p).toEqual([
      expect.stringMatching(/^loss\.yaml:11:28 method\.0\.peers\.cidrs\.1: must be an IPv4 address or network/),
      expect.stringMatching(/^loss\.yaml:11:42 method\.0\.peers\.cidrs\.2: must be an IPv4 address or network/),
      expect.stringMatching(/^loss\.yaml:11:57 method\.0\.peers\.cidrs\.3: must be an IPv4 address or network/),
      expect.stringMatching(/^loss\.yaml:12:20 method\.0\.peers\.ports\.1: must be at most 65535/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s, share: 10%, peers: {} }')).toEqual([
      expect.stringMatching(/method\.0\.peers: give cidrs, containers or ports/),
    ]);
    expect(problems('  - { kind: network.loss, duration: 10s, share: 10%, direction: sideways }')).toEqual([
      expect.stringMatching(/method\.0\.direction: /),
    ]);
  });
});

describe('network.loss: the rules', () => {
  it('one chain per direction, hooked at the head of INPUT/OUTPUT without loopback, each rule tagged', () => {
    const o = lossChains({ share: 0.25, direction: 'both' }, undefined, undefined, 'FL-abc-xyz', 'tag');
    expect(o.chains).toEqual(['FL-abc-xyz-I', 'FL-abc-xyz-O']);
    expect(o.hooks).toEqual([
      ['INPUT', '!', '-i', 'lo', '-m', 'comment', '--comment', 'tag', '-j', 'FL-abc-xyz-I'],
      ['OUTPUT', '!', '-o', 'lo', '-m', 'comment', '--comment', 'tag', '-j', 'FL-abc-xyz-O'],
    ]);
    expect(o.rules).toEqual([
      [
        'FL-abc-xyz-I',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        '0.250000',
        '-m',
        'comment',
        '--comment',
        'tag',
        '-j',
        'DROP',
      ],
      [
        'FL-abc-xyz-O',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        '0.250000',
        '-m',
        'comment',
        '--comment',
        'tag',
        '-j',
        'DROP',
      ],
    ]);
  });

  it('peers: sources in, destinations out, ports at either end per protocol; overlapping networks drop a packet once', () => {
    const o = lossChains(
      { share: 0.5, direction: 'ingress' },
      ['10.0.0.0/8', '10.1.2.3', '10.0.0.0/8', '192.168.1.7/24'],
      [53, 5432],
      'FL-a-b',
      't',
    );
    expect(o.chains).toEqual(['FL-a-b-I']);
    const heads = o.rules.map((r) => r.slice(0, 9).join(' '));
    expect(heads).toEqual([
      'FL-a-b-I -s 10.0.0.0/8 -p tcp -m multiport --ports 53,5432',
      'FL-a-b-I -s 10.0.0.0/8 -p udp -m multiport --ports 53,5432',
      'FL-a-b-I -s 192.168.1.0/24 -p tcp -m multiport --ports 53,5432',
      'FL-a-b-I -s 192.168.1.0/24 -p udp -m multiport --ports 53,5432',
    ]);
    const egress = lossChains({ share: 0.5, direction: 'egress' }, ['172.18.0.5'], undefined, 'FL-a-b', 't');
    expect(egress.rules[0]?.slice(0, 3)).toEqual(['FL-a-b-O', '-d', '172.18.0.5/32']);
  });

  it('CIDRs: parse, normalise to their network, and keep only the outermost of nested ones', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ base: 10 * 2 ** 24, bits: 8 });
    for (const bad of ['10.0.0.256', '10.0.0/8', '1.2.3.4/33', '1.2.3.4/', '01.2.3.4x', '', '1.2.3.4/8/8'])
      expect(parseCidr(bad), bad).toBeUndefined();
    expect(disjointCidrs(['0.0.0.0/0', '10.0.0.0/8'])).toEqual(['0.0.0.0/0']);
    expect(disjointCidrs(['10.0.0.1', '10.0.0.1/32', '10.0.0.2'])).toEqual(['10.0.0.1/32', '10.0.0.2/32']);
  });

  it("chain names carry the run and the fault, within iptables' 28 characters", () => {
    const base = chainBase('experiment-'.repeat(30), 'z9z9z9');
    expect(`${base}-O`.length).toBeLessThanOrEqual(28);
    expect(base).toBe(`FL-${shortHash('experiment-'.repeat(30))}-z9z9z9`);
    expect(chainBase('run-a', 'n')).not.toBe(chainBase('run-b', 'n'));
  });

  it('rule sets compare without counters, comments or a table that filters nothing', () => {
    const before = [
      '*nat',
      ':PREROUTING ACCEPT [3:180]',
      ':DOCKER_OUTPUT - [0:0]',
      '-A DOCKER_OUTPUT -d 127.0.0.11/32 -j DNAT',
      'COMMIT',
    ];
    const after = [
      '# Generated by iptables-save',
      '*filter',
      ':INPUT ACCEPT [10:600]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      'COMMIT',
      ...before.map((l) => l.replace('[3:180]', '[9:540]')),
    ];
    expect(rulesetDiff(before, after)).toEqual({ missing: [], added: [] });
    const dropped = [...after.slice(0, 5), '-A INPUT -s 10.9.9.9/32 -j DROP', ...after.slice(5)];
    expect(rulesetDiff(before, dropped)).toEqual({
      missing: [],
      added: ['*filter', ':FORWARD ACCEPT', ':INPUT ACCEPT', ':OUTPUT ACCEPT', '-A INPUT -s 10.9.9.9/32 -j DROP'],
    });
    expect(ruleset([':X - [0:0]'])).toEqual([]); // a chain outside any table is noise
  });

  it("the adapter reads a namespace's snapshot and iptables-save lines as arguments", () => {
    const s = parseSnapshot(
      [
        'net:[4026532962]',
        '@@rules',
        '# Generated',
        '*filter',
        ':INPUT ACCEPT [5:300]',
        '-A INPUT -m comment --comment "faultline x" -j FL-a-I',
        'COMMIT',
        '@@qdiscs',
        'qdisc noqueue 0: dev lo root refcnt 2 ',
        '@@links',
        '1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
        '42: eth0@if43: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 02:42:ac:11:00:05 brd ff:ff:ff:ff:ff:ff link-netnsid 0',
      ].join('\n'),
    );
    expect(s).toEqual({
      netns: 'net:[4026532962] eth0@if43',
      rules: ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -m comment --comment "faultline x" -j FL-a-I', 'COMMIT'],
      qdiscs: ['qdisc noqueue 0: dev lo root refcnt 2'],
      links: [{ name: 'eth0', mac: '02:42:ac:11:00:05' }],
    });
    expect(parseSnapshot('net:[1]\n@@rules\n@@qdiscs\n@@links\n')).toEqual({
      netns: 'net:[1]',
      rules: [],
      qdiscs: [],
      links: [],
    });
    expect(splitRule('-A INPUT ! -i lo -m comment --comment "faultline a b" -j FL-a-I')).toEqual([
      '-A',
      'INPUT',
      '!',
      '-i',
      'lo',
      '-m',
      'comment',
      '--comment',
      'faultline a b',
      '-j',
      'FL-a-I',
    ]);
  });
});

describe('network.loss on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    w.addContainer('db-1');
    w.addresses.set('db-1-id', ['172.18.0.9']);
    const ports = w.ports('agent');
    const spec = networkLoss.spec.parse({
      kind: 'network.loss',
      duration: '5s',
      share: '40%',
      peers: { containers: ['db-1'], ports: [5432] },
    });
    return { w, id, ports, spec, target: { container: { id, name: 'api-1' }, run: 'exp-1' } };
  };

  it('a retried inject applies once; revert leaves the rule set from prepare and a second revert changes nothing', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    expect(h.owned.rules.map((r) => r.slice(0, 3))).toEqual([
      [h.owned.chains[0], '-s', '172.18.0.9/32'],
      [h.owned.chains[0], '-s', '172.18.0.9/32'],
      [h.owned.chains[1], '-d', '172.18.0.9/32'],
      [h.owned.chains[1], '-d', '172.18.0.9/32'],
    ]);
    await networkLoss.inject(ports, spec, h);
    await networkLoss.inject(ports, spec, h);
    expect(w.namespaces.get(id)?.rules.filter((l) => l.startsWith('-A INPUT'))).toHaveLength(1);
    expect(w.kernelLeftovers()).toHaveLength(2);
    expect(await networkLoss.revert(ports, h)).toEqual({ changed: true });
    expect(await networkLoss.revert(ports, h)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a target restarted during the fault: the revert says the fault went with the old namespace and applies nothing', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    await networkLoss.inject(ports, spec, h);
    const fresh = w.renewNamespace(id);
    const calls = w.calls.length;
    const r = await networkLoss.revert(ports, h);
    expect(r).toEqual({
      changed: false,
      note: expect.stringMatching(/restarted.*is gone, it now has .*nothing was applied to the new one/),
    });
    expect(r?.note).toContain(h.netns);
    expect(r?.note).toContain(fresh);
    expect(w.calls.slice(calls).filter((c) => c.effect !== 'none')).toEqual([]);
    expect(w.namespaces.get(id)?.rules).toEqual([]);
  });

  it("the revert's note reaches the fault's record in the journal", async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    await networkLoss.inject(ports, spec, h);
    w.renewNamespace(id);
    const report = await revertAndReport(ports, networkLoss, h, { since: new Date(0).toISOString() });
    expect(report).toMatchObject({ tookEffect: false, note: expect.stringMatching(/went with the old namespace/) });
    const rec: FaultRecord = {
      index: 0,
      faultIndex: 0,
      kind: 'network.loss',
      summary: 'loss',
      status: 'reverted',
      errors: [],
      revertAttempts: 1,
    };
    noteRevert(rec, report);
    expect(rec.revertNote).toBe(report.note);
  });

  it('an inject into a namespace other than the prepared one is refused, and nothing is applied', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    w.renewNamespace(id);
    await expect(networkLoss.inject(ports, spec, h)).rejects.toMatchObject({
      name: 'FaultTargetGone',
      message: expect.stringMatching(/restarted.*nothing injected/),
    });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a rule someone else added during the fault is left alone, and the revert says the rule set differs', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    await networkLoss.inject(ports, spec, h);
    const ns = w.namespaces.get(id)!;
    ns.rules.splice(ns.rules.length - 1, 0, '-A INPUT -s 10.9.9.9/32 -j DROP');
    await expect(networkLoss.revert(ports, h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: expect.stringMatching(
        /rules differ from those before the fault; not there before: .*-A INPUT -s 10\.9\.9\.9\/32 -j DROP/,
      ),
    });
    expect(ns.rules).toContain('-A INPUT -s 10.9.9.9/32 -j DROP');
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it("the warden reverts a lapsed network.loss lease with the kind's own revert", async () => {
    const { w, ports, spec, target } = setup();
    w.useLeases();
    const h = (await networkLoss.prepare(ports, spec, target)) as LossHandle;
    await networkLoss.inject(ports, spec, h);
    await w
      .leasePort('agent')
      .grant({ id: 'l1', kind: 'network.loss', handle: h, leaseMs: 100, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a peer container that does not exist is refused at prepare, before anything is applied', async () => {
    const { w, ports, target } = setup();
    const spec = networkLoss.spec.parse({
      kind: 'network.loss',
      duration: '5s',
      share: 0.1,
      peers: { containers: ['nope'] },
    });
    await expect(networkLoss.prepare(ports, spec, target)).rejects.toThrow(/peer container nope does not exist/);
    expect(w.calls.filter((c) => c.effect !== 'none')).toEqual([]);
  });
});
