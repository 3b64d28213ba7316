// network.split against the real daemon and kernel: four containers on a network of their own, a majority
// (two) and a minority (one) of a replicated service plus one outside both groups. From inside the
// containers (a TCP connect to each other's port 9100): with the partition both ways no member of one group
// connects to a member of the other, in either direction, while the majority still reach each other and
// everyone reaches the outsider; one-way, the majority cannot open a connection to the minority while the
// minority still opens connections to the majority. After the revert every pair connects again and each
// member's rule set equals the one recorded at prepare. Bad groups (empty, overlapping, matching nothing) are
// refused before anything runs, with the field's position (or name), and nothing is injected.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkSplit, type NetworkSplitSpec, type SplitHandle } from '../faults/network-split.ts';
import { ruleset } from '../faults/netfilter.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { runCli, uniqueId } from './helpers.ts';
import {
  createNetwork,
  connects,
  docker,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-split');
const net = `${id}-net`;
const ports: Ports = {
  containers: createDockerContainerPort(docker),
  kernel: createDockerKernelPort(docker),
} as Ports;
const kernel = ports.kernel!;
let m1: KernelTarget, m2: KernelTarget, minority: KernelTarget, outside: KernelTarget;

beforeAll(async () => {
  await createNetwork(net);
  const started = await Promise.all(['maj-1', 'maj-2', 'min-1', 'out-1'].map((n) => startTarget(`${id}-${n}`, net)));
  [m1, m2, minority, outside] = started as [KernelTarget, KernelTarget, KernelTarget, KernelTarget];
});
afterAll(async () => {
  await removeContainers(id);
  await removeNetwork(net);
});

/** Which ordered pairs connect, as "a>b" strings (every pair of the four, both ways). */
async function matrix(): Promise<string[]> {
  const all = { m1, m2, min: minority, out: outside };
  const pairs = Object.entries(all).flatMap(([a, x]) =>
    Object.entries(all)
      .filter(([b]) => b !== a)
      .map(([b, y]) => [`${a}>${b}`, x, y] as const),
  );
  const ok = await Promise.all(pairs.map(([, x, y]) => connects(x, y)));
  return pairs.filter((_, i) => ok[i]).map(([k]) => k);
}
const ALL = [
  'm1>m2', 'm1>min', 'm1>out', 'm2>m1', 'm2>min', 'm2>out',
  'min>m1', 'min>m2', 'min>out', 'out>m1', 'out>m2', 'out>min',
]; // prettier-ignore

async function rulesOf(t: KernelTarget): Promise<string[]> {
  const r = await kernel.netns(t.id);
  if (r.state !== 'ok') throw new Error(`no namespace: ${JSON.stringify(r)}`);
  return ruleset(r.snapshot.rules);
}

const spec = (direction: 'both' | 'one-way'): NetworkSplitSpec =>
  networkSplit.spec.parse({
    kind: 'network.split',
    duration: '30s',
    from: { names: [m1.name, m2.name] },
    to: { names: [minority.name] },
    direction,
  });

/** The fault on every member of both groups, as planning makes it: one prepare and inject per member. */
async function partition(s: NetworkSplitSpec): Promise<SplitHandle[]> {
  const hs: SplitHandle[] = [];
  for (const t of [m1, m2, minority])
    hs.push((await networkSplit.prepare(ports, s, { container: { id: t.id, name: t.name }, run: id })) as SplitHandle);
  for (const h of hs) await networkSplit.inject(ports, s, h);
  return hs;
}

describe('network.split', () => {
  it('both ways: the majority and the minority cannot connect either way, every other pair can; gone after revert, rules as at prepare', async () => {
    expect(await matrix()).toEqual(ALL);
    const s = spec('both');
    const hs = await partition(s);
    expect(hs.map((h) => h.side)).toEqual(['from', 'from', 'to']);
    expect(hs[2]!.addresses).toEqual([`${m1.ip}/32`, `${m2.ip}/32`].sort());
    await networkSplit.inject(ports, s, hs[0]!); // retried: the chains are replaced, never doubled
    expect((await rulesOf(m1)).filter((l) => /^-A (INPUT|OUTPUT) .*-j FL-/.test(l))).toHaveLength(2);
    const during = await matrix();
    console.log(`network.split both ways: connecting pairs ${during.join(' ')}`);
    expect(during).toEqual(['m1>m2', 'm1>out', 'm2>m1', 'm2>out', 'min>out', 'out>m1', 'out>m2', 'out>min']);
    for (const h of hs) expect(await networkSplit.revert(ports, h)).toEqual({ changed: true });
    for (const [t, h] of [m1, m2, minority].map((t, i) => [t, hs[i]!] as const))
      expect(await rulesOf(t)).toEqual(h.rulesBefore);
    expect(await matrix()).toEqual(ALL);
    expect(await networkSplit.revert(ports, hs[0]!)).toEqual({ changed: false }); // idempotent
  });

  it('one-way: the majority cannot open a connection to the minority, the minority still opens them to the majority', async () => {
    const hs = await partition(spec('one-way'));
    try {
      const during = await matrix();
      console.log(`network.split one-way: connecting pairs ${during.join(' ')}`);
      expect(during).toEqual(ALL.filter((p) => p !== 'm1>min' && p !== 'm2>min'));
    } finally {
      for (const h of hs) await networkSplit.revert(ports, h);
    }
    for (const [t, h] of [m1, m2, minority].map((t, i) => [t, hs[i]!] as const))
      expect(await rulesOf(t)).toEqual(h.rulesBefore);
    expect(await matrix()).toEqual(ALL);
  });

  it('bad groups (empty, overlapping, matching nothing) are refused before anything runs, naming the field; nothing is injected; the dry run shows both sides', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-split-'));
    const since = Date.now();
    const file = path.join(dir, 'bad.yaml');
    const write = (fault: string) =>
      writeFileSync(
        file,
        `title: split badly
hypothesis: { statement: it answers, probes: [ { name: f, type: http, url: "http://127.0.0.1:1/" } ] }
blastRadius: { maxTargets: 3 }
method:
  - ${fault}
`,
      );
    for (const [fault, where] of [
      [
        `{ kind: network.split, from: { names: [] }, to: { names: [ ${minority.name} ] }, duration: 2s }`,
        /bad\.yaml:5:\d+ method\.0\.from\.names: /,
      ],
      [
        `{ kind: network.split, from: { names: [ ${m1.name} ] }, to: { names: [ ${m1.name} ] }, duration: 2s }`,
        /bad\.yaml:5:\d+ method\.0\.to\.names\.0: \S+ is in group from too: the two groups must not overlap/,
      ],
    ] as const) {
      write(fault);
      const r = await runCli(['run', file, '--wait']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr + r.stdout).toMatch(where);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // Known only against the fleet: the dry run reads the daemon and refuses, naming the group.
    for (const [fault, where] of [
      [
        `{ kind: network.split, from: { names: [ ${m1.name} ] }, to: { names: [ ${id}-nobody ] }, duration: 2s }`,
        /method\.0\.to: no running container matches names \[\S+-nobody\], so the group is empty/,
      ],
      [
        `{ kind: network.split, from: { namePattern: "${id}-maj" }, to: { namePattern: "${id}-maj-1" }, duration: 2s }`,
        /method\.0\.to: \S+-maj-1 is in group from too: the two groups must not overlap/,
      ],
    ] as const) {
      write(fault);
      const r = await runCli(['run', file, '--dry-run']);
      expect(r.status, r.stderr + r.stdout).toBe(1);
      expect(r.stderr + r.stdout).toMatch(where);
    }
    // The same file with groups that match: the dry run shows both sides and counts them in the blast radius.
    write(
      `{ kind: network.split, from: { names: [ ${m1.name}, ${m2.name} ] }, to: { names: [ ${minority.name} ] }, duration: 2s }`,
    );
    const ok = await runCli(['run', file, '--dry-run']);
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toContain(
      `method.0 (network.split) groups, both sides: ${[m1.name, m2.name, minority.name].join(', ')}`,
    );
    expect(ok.stdout).toMatch(/blast radius: 3 target\(s\) of at most 3/);
    const helpers = await docker.listContainers({
      all: true,
      filters: { label: ['faultline.component=kernel-helper'] },
    });
    const mine = [m1, m2, minority, outside].flatMap((t) => [t.id, t.name]);
    expect(
      helpers.filter(
        (c) =>
          c.Created * 1000 >= since - 1000 &&
          (mine.includes(c.Labels['faultline.helper.target'] ?? '') ||
            mine.some((x) => (c.HostConfig?.NetworkMode ?? '').includes(x))),
      ),
    ).toEqual([]);
    for (const t of [m1, m2, minority]) expect((await rulesOf(t)).some((l) => l.includes('FL-'))).toBe(false);
  });
});
