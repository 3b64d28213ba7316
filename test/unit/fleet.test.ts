// The fleet's pure parts: selection over the union of several hosts (names repeat; identity is host and
// name), the targets.hosts selector and its positioned messages, admission keys, the derived names.
import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../faults/ports.ts';
import { selectTargets } from '../../activities/targets.ts';
import { targetsOf } from '../../experiments/admission.ts';
import { hostNameProblem, hostTaskQueue, hostWorkflowId } from '../../experiments/hosts.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Targets } from '../../experiments/schema.ts';

const on = (host: string, name: string): ContainerInfo => ({
  id: `${host}-${name}`,
  name,
  host,
  labels: { app: 'api' },
  state: 'running',
  networks: {},
});
// The same names on two hosts, listed in no particular order.
const union = [on('b', 'api-2'), on('a', 'api-1'), on('b', 'api-1'), on('a', 'api-2')];
const t = (x: Partial<Targets>): Targets => ({ mode: 'one', labels: { app: 'api' }, ...x }) as Targets;
const wide = { maxTargets: 10, maxPercent: 100 };

describe('selection across hosts', () => {
  it('matches every host, keeps each target with its host, ordered by name then host', () => {
    const s = selectTargets(union, t({ mode: 'all' }), wide, 1);
    expect(s.selected.map((x) => `${x.host}/${x.name}`)).toEqual(['a/api-1', 'b/api-1', 'a/api-2', 'b/api-2']);
  });

  it('the same seed picks the same host and container whatever the listing order', () => {
    const a = selectTargets(union, t({ mode: 'count', count: 2 }), wide, 7);
    const b = selectTargets([...union].reverse(), t({ mode: 'count', count: 2 }), wide, 7);
    expect(a.selected).toEqual(b.selected);
  });

  it('targets.hosts restricts the union; the blast radius counts the restricted fleet', () => {
    const s = selectTargets(union, t({ mode: 'all', hosts: ['b'] }), wide, 1);
    expect(s.selected.map((x) => x.host)).toEqual(['b', 'b']);
    expect(() => selectTargets(union, t({ mode: 'all', hosts: ['c'] }), wide, 1)).toThrow(
      /no running container matches hosts \[c\]/,
    );
    expect(() =>
      selectTargets(union, t({ mode: 'percent', percent: 75, hosts: ['a'] }), { maxTargets: 10, maxPercent: 50 }, 1),
    ).toThrow(/maxPercent: selection of 2 of 2/);
  });

  it('admission keys a container by host and ID, so the same name on two hosts is two targets', () => {
    const keys = targetsOf(
      [
        { faultIndex: 0, target: { id: 'x', name: 'api-1', host: 'a' } },
        { faultIndex: 0, target: { id: 'y', name: 'api-1', host: 'b' } },
      ],
      [{ kind: 'container.pause' }],
    );
    expect(keys).toEqual([
      { key: 'container:a/x', label: 'a/api-1' },
      { key: 'container:b/y', label: 'b/api-1' },
    ]);
  });
});

describe('host names', () => {
  it('derive the host queue and presence workflow from the fleet queue', () => {
    expect(hostTaskQueue('faultline', 'vm')).toBe('faultline@vm');
    expect(hostWorkflowId('faultline', 'vm')).toBe('faultline-host:faultline:vm');
    expect(hostNameProblem('db-1.example')).toBeNull();
    expect(hostNameProblem('bad name')).toMatch(/letters, digits/);
  });

  it('targets.hosts in a file: a bad or empty list is refused with its position', () => {
    const head = `title: t
hypothesis:
  statement: s
  probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ]
method: [ { kind: container.pause, duration: 1s } ]
`;
    const ok = parseExperiment(`${head}targets: { names: [api-1], hosts: [vm, d2] }\n`, 'x.yaml');
    expect(ok.ok && ok.experiment.targets?.hosts).toEqual(['vm', 'd2']);
    for (const [hosts, message, path] of [
      ['[]', /an empty host list selects nothing/, 'targets.hosts'],
      ['[ "bad host" ]', /a host name: letters, digits/, 'targets.hosts.0'],
    ] as const) {
      const r = parseExperiment(`${head}targets: { names: [api-1], hosts: ${hosts} }\n`, 'x.yaml');
      expect(r.ok).toBe(false);
      const p = r.ok ? undefined : r.problems.find((x) => x.path === path);
      expect(p, JSON.stringify(r)).toMatchObject({ line: 6, message });
    }
  });
});
