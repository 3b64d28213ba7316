// network.split without a kernel: the language refuses bad groups with the field's position (an empty group,
// groups that overlap by name or pattern, a pattern that does not compile, more containers than the blast
// radius allows); planning matches both groups, makes one record per member of either side (both count in
// the blast radius, admission holds both), and refuses a group matching nothing, a container in both groups
// and groups on two hosts, naming the fault's field; the rules each member gets (both ways: every packet to
// and from the other side; one way: only what from opens towards to, on both ends); and the lifecycle on the
// in-memory kernel port (a retried inject applies once, the revert leaves the rule set from prepare, a
// restarted member's revert applies nothing and says why, the warden reverts a lapsed lease).
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import { planFaults } from '../../activities/plan.ts';
import { targetsOf } from '../../experiments/admission.ts';
import type { ContainerInfo } from '../../faults/ports.ts';
import { networkSplit, splitChains, type SplitHandle } from '../../faults/network-split.ts';
import { faultProblems } from './support/fault-problems.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { formatProblem } from '../../errors.ts';

const problems = faultProblems('split.yaml');

const probe = `hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }`;
function exp(body: string): Experiment {
  const r = parseExperiment(`title: t\n${probe}\n${body}`, 'plan.yaml');
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r.experiment;
}
function expProblems(body: string): string[] {
  const r = parseExperiment(`title: t\n${probe}\n${body}`, 'plan.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}
const c = (name: string, labels: Record<string, string> = { app: 'db' }, host?: string): ContainerInfo => ({
  id: `id-${name}`,
  name,
  labels,
  state: 'running',
  networks: {},
  ...(host ? { host } : {}),
});
const fleet = [c('db-1'), c('db-2'), c('db-3'), c('api-1', { app: 'api' })];
const split = (from: string, to: string, extra = '') =>
  `method:\n  - { kind: network.split, from: ${from}, to: ${to}, duration: 2s${extra} }`;

describe('network.split: the language', () => {
  it('reads two groups and defaults to both ways; no targets needed', () => {
    const e = exp(`${split('{ names: [ db-1, db-2 ] }', '{ names: [ db-3 ] }')}\nblastRadius: { maxTargets: 3 }`);
    expect(e.method[0]).toMatchObject({ kind: 'network.split', direction: 'both', to: { names: ['db-3'] } });
    expect(e.targets).toBeUndefined();
  });

  it('refuses an empty group, groups that overlap, a pattern that does not compile, each at its position', () => {
    expect(problems('{ kind: network.split, from: {}, to: { names: [ b ] }, duration: 2s }')).toEqual([
      expect.stringMatching(/^split\.yaml:5:34 method\.0\.from: an empty group selects no container/),
    ]);
    expect(problems('{ kind: network.split, from: { names: [] }, to: { names: [ b ] }, duration: 2s }')).toEqual([
      expect.stringMatching(/^split\.yaml:5:\d+ method\.0\.from\.names: /),
    ]);
    expect(
      problems('{ kind: network.split, from: { names: [ a, b ] }, to: { names: [ c, b ] }, duration: 2s }'),
    ).toEqual([
      expect.stringMatching(
        /^split\.yaml:5:\d+ method\.0\.to\.names\.1: b is in group from too: the two groups must not overlap/,
      ),
    ]);
    expect(
      problems('{ kind: network.split, from: { namePattern: "db-" }, to: { namePattern: "db-" }, duration: 2s }'),
    ).toEqual([expect.stringMatching(/method\.0\.to\.namePattern: the same pattern as group from/)]);
    expect(problems('{ kind: network.split, from: { namePattern: "(" }, to: { names: [ b ] }, duration: 2s }')).toEqual(
      [expect.stringMatching(/method\.0\.from\.namePattern: not a valid regular expression/)],
    );
    expect(problems('{ kind: network.split, from: { labels: {} }, to: { names: [ b ] }, duration: 2s }')).toEqual([
      expect.stringMatching(/method\.0\.from\.labels: an empty label map matches every container/),
    ]);
    expect(
      problems(
        '{ kind: network.split, from: { names: [ a ] }, to: { names: [ b ] }, direction: sideways, duration: 2s }',
      ),
    ).toEqual([expect.stringMatching(/method\.0\.direction: /)]);
  });

  it('both sides count in the blast radius at validation: three named replicas against maxTargets 2', () => {
    expect(
      expProblems(`${split('{ names: [ db-1, db-2 ] }', '{ names: [ db-3 ] }')}\nblastRadius: { maxTargets: 2 }`),
    ).toEqual([
      expect.stringMatching(
        /method\.0\.kind: network\.split's groups hold at least 3 containers \(both sides count\) but blastRadius\.maxTargets is 2/,
      ),
    ]);
  });
});

describe('network.split: planning', () => {
  it('one record per member of either group; both sides count; admission holds both', () => {
    const e = exp(
      `${split('{ names: [ db-1, db-2 ] }', '{ labels: { app: db }, namePattern: "-3$" }')}\nblastRadius: { maxTargets: 3 }`,
    );
    const plan = planFaults(e, fleet, [], 1);
    expect(plan.selection).toBeUndefined();
    expect(plan.faults.map((f) => f.target?.name)).toEqual(['db-1', 'db-2', 'db-3']);
    expect(targetsOf(plan.faults, e.method).map((t) => t.key)).toEqual([
      'container:id-db-1',
      'container:id-db-2',
      'container:id-db-3',
    ]);
    const tight = { ...e, blastRadius: { ...e.blastRadius, maxTargets: 2 } };
    expect(() => planFaults(tight, fleet, [], 1)).toThrow(
      /blastRadius\.maxTargets: 3 container\(s\) and 0 proxy route\(s\) make 3 targets/,
    );
  });

  it('a container both the targets and a group hold counts once', () => {
    const e = exp(
      `targets: { names: [ db-3 ] }\nmethod:\n  - { kind: container.pause, duration: 1s }\n  - { kind: network.split, from: { names: [ db-1, db-2 ] }, to: { names: [ db-3 ] }, duration: 2s }\nblastRadius: { maxTargets: 3 }`,
    );
    const plan = planFaults(e, fleet, [], 1);
    expect(plan.faults.map((f) => `${f.kind}@${f.target?.name}`)).toEqual([
      'container.pause@db-3',
      'network.split@db-1',
      'network.split@db-2',
      'network.split@db-3',
    ]);
  });

  it('refuses a group matching nothing, a container in both groups and groups on two hosts, naming the field', () => {
    const none = exp(`${split('{ names: [ db-1 ] }', '{ names: [ db-9 ] }')}\nblastRadius: { maxTargets: 3 }`);
    expect(() => planFaults(none, fleet, [], 1)).toThrow(
      /method\.0\.to: no running container matches names \[db-9\], so the group is empty/,
    );
    const stopped = [c('db-1'), { ...c('db-9'), state: 'exited' as const }];
    expect(() => planFaults(none, stopped, [], 1)).toThrow(/method\.0\.to: no running container matches/);
    const protectedOnly = [c('db-1'), c('db-9', { 'faultline.protected': 'true' })];
    expect(() => planFaults(none, protectedOnly, [], 1)).toThrow(/method\.0\.to: no running container matches/);
    const both = exp(`${split('{ labels: { app: db } }', '{ names: [ db-3 ] }')}\nblastRadius: { maxTargets: 4 }`);
    expect(() => planFaults(both, fleet, [], 1)).toThrow(
      /method\.0\.to: db-3 is in group from too: the two groups must not overlap/,
    );
    const hosts = exp(`${split('{ names: [ db-1 ] }', '{ names: [ db-2 ] }')}\nblastRadius: { maxTargets: 3 }`);
    expect(() => planFaults(hosts, [c('db-1', {}, 'h1'), c('db-2', {}, 'h2')], [], 1)).toThrow(
      /method\.0: the groups span the hosts h1, h2/,
    );
  });
});

describe('network.split: the rules each member gets', () => {
  const addrs = ['172.18.0.3', '172.18.0.4'];
  it('both ways: every packet to and from the other group, on both sides, loopback spared', () => {
    for (const side of ['from', 'to'] as const) {
      const o = splitChains(side, 'both', addrs, 'FL-x-y', 'c');
      expect(o.chains).toEqual(['FL-x-y-I', 'FL-x-y-O']);
      expect(o.hooks.map((h) => h.slice(0, 4))).toEqual([
        ['INPUT', '!', '-i', 'lo'],
        ['OUTPUT', '!', '-o', 'lo'],
      ]);
      expect(o.rules.map((r) => [r[0], r[1], r[2], r.at(-1)])).toEqual([
        ['FL-x-y-I', '-s', '172.18.0.3/32', 'DROP'],
        ['FL-x-y-I', '-s', '172.18.0.4/32', 'DROP'],
        ['FL-x-y-O', '-d', '172.18.0.3/32', 'DROP'],
        ['FL-x-y-O', '-d', '172.18.0.4/32', 'DROP'],
      ]);
      expect(o.rules.some((r) => r.includes('conntrack'))).toBe(false);
    }
  });

  it("one way: what from opens towards to is dropped on from's way out and on to's way in; nothing else", () => {
    const from = splitChains('from', 'one-way', addrs, 'FL-x-y', 'c');
    expect(from.chains).toEqual(['FL-x-y-O']);
    expect(from.rules.map((r) => r.slice(0, 7))).toEqual(
      addrs.map((a) => ['FL-x-y-O', '-d', `${a}/32`, '-m', 'conntrack', '--ctdir', 'ORIGINAL']),
    );
    const to = splitChains('to', 'one-way', addrs, 'FL-x-y', 'c');
    expect(to.chains).toEqual(['FL-x-y-I']);
    expect(to.rules.map((r) => r.slice(0, 7))).toEqual(
      addrs.map((a) => ['FL-x-y-I', '-s', `${a}/32`, '-m', 'conntrack', '--ctdir', 'ORIGINAL']),
    );
  });
});

describe('network.split on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const ids = ['db-1', 'db-2', 'db-3', 'api-1'].map((n) => w.addContainer(n));
    ids.forEach((id, i) => w.addresses.set(id, [`172.18.0.${i + 2}`]));
    const ports = w.ports('agent');
    const spec = networkSplit.spec.parse({
      kind: 'network.split',
      duration: '5s',
      from: { names: ['db-1', 'db-2'] },
      to: { names: ['db-3'] },
    });
    const target = (n: number) => ({ container: { id: ids[n]!, name: `db-${n + 1}` }, run: 'exp-1' });
    return { w, ids, ports, spec, target };
  };

  it("each side drops the other's addresses; a retried inject applies once; the revert leaves the rules from prepare", async () => {
    const { w, ports, spec, target } = setup();
    const a = (await networkSplit.prepare(ports, spec, target(0))) as SplitHandle;
    const b = (await networkSplit.prepare(ports, spec, target(2))) as SplitHandle;
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    expect(a).toMatchObject({ side: 'from', peers: ['db-3'], addresses: ['172.18.0.4/32'] });
    expect(b).toMatchObject({ side: 'to', peers: ['db-1', 'db-2'], addresses: ['172.18.0.2/32', '172.18.0.3/32'] });
    for (const h of [a, b]) {
      await networkSplit.inject(ports, spec, h);
      await networkSplit.inject(ports, spec, h);
    }
    expect(w.kernelLeftovers()).toHaveLength(4);
    expect(w.namespaces.get(a.containerId)?.rules.filter((l) => /^-A (INPUT|OUTPUT) /.test(l))).toHaveLength(2);
    for (const h of [a, b]) expect(await networkSplit.revert(ports, h)).toEqual({ changed: true });
    expect(await networkSplit.revert(ports, a)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a member no longer in either group, or the other group gone from the host: refused at prepare, nothing applied', async () => {
    const { w, ids, ports, spec, target } = setup();
    const other = networkSplit.spec.parse({ ...spec, from: { names: ['db-2'] } });
    await expect(networkSplit.prepare(ports, other, target(0))).rejects.toMatchObject({
      name: 'FaultTargetGone',
      message: expect.stringMatching(/db-1 is no longer in group from or to/),
    });
    w.containers.get(ids[2]!)!.state = 'exited';
    await expect(networkSplit.prepare(ports, spec, target(0))).rejects.toMatchObject({
      name: 'FaultTargetGone',
      message: expect.stringMatching(/group to \(names \[db-3\]\) matches no running container/),
    });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a member restarted during the fault: its revert says the fault went with the old namespace and applies nothing', async () => {
    const { w, ports, spec, target } = setup();
    const h = (await networkSplit.prepare(ports, spec, target(2))) as SplitHandle;
    await networkSplit.inject(ports, spec, h);
    w.renewNamespace(h.containerId);
    const calls = w.calls.length;
    expect(await networkSplit.revert(ports, h)).toEqual({
      changed: false,
      note: expect.stringMatching(
        /network\.split on db-3: the container restarted .*nothing was applied to the new one/,
      ),
    });
    expect(w.calls.slice(calls).filter((x) => x.effect !== 'none')).toEqual([]);
  });

  it("the warden reverts a lapsed network.split lease with the kind's own revert", async () => {
    const { w, ports, spec, target } = setup();
    w.useLeases();
    const h = (await networkSplit.prepare(ports, spec, target(0))) as SplitHandle;
    await networkSplit.inject(ports, spec, h);
    await w
      .leasePort('agent')
      .grant({ id: 'l1', kind: 'network.split', handle: h, leaseMs: 100, grantedAt: new Date().toISOString() });
    expect(w.kernelLeftovers()).toHaveLength(2);
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });
});
