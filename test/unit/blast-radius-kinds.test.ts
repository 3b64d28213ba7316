// Blast radius and admission for the kinds that act inside a container (issue 18 item 4): each counts its
// target like any container fault, against the targets selector and blastRadius at validation (positioned)
// and at planning (with proxy routes), and admission holds the container it faults, so no two runs fault it
// at once; network.split counts and holds both of its groups.
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import { planFaults } from '../../activities/plan.ts';
import { admit, evaluate, initialState, targetsOf, type AdmitRequest } from '../../experiments/admission.ts';
import type { ContainerInfo } from '../../faults/ports.ts';
import { formatProblem } from '../../errors.ts';

const KINDS: [string, string][] = [
  ['network.loss', 'share: 30%'],
  ['network.bandwidth', 'rate: 1mbit'],
  ['stress.cpu', 'cores: 0.5'],
  ['stress.memory', 'size: 64MiB'],
  ['stress.io', 'workers: 1'],
  ['disk.fill', 'size: 8MiB'],
  ['process.kill', 'pattern: "worker$"'],
  ['process.stop', 'pattern: "worker$"'],
  ['dns.error', 'names: [ api.internal ]'],
  ['dns.spoof', 'names: [ api.internal ], address: 192.0.2.10'],
];

const head = `title: t
hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }`;
function parse(body: string): { e?: Experiment; problems: string[] } {
  const r = parseExperiment(`${head}\n${body}`, 'blast.yaml');
  return r.ok ? { e: r.experiment, problems: [] } : { problems: r.problems.map(formatProblem) };
}
function exp(body: string): Experiment {
  const { e, problems } = parse(body);
  if (!e) throw new Error(problems.join('\n'));
  return e;
}
const c = (name: string): ContainerInfo => ({
  id: `id-${name}`,
  name,
  labels: { app: 'db' },
  state: 'running',
  networks: {},
});
const fleet = [c('db-1'), c('db-2'), c('db-3')];
const fault = (kind: string, fields: string) => `{ kind: ${kind}, ${fields}, duration: 5s }`;
const req = (workflowId: string, keys: { key: string; label: string }[]): AdmitRequest => ({
  workflowId,
  runId: `${workflowId}-run`,
  title: workflowId,
  targets: keys,
});

describe.each(KINDS)('%s in the blast radius and admission', (kind, fields) => {
  it('needs targets, and a selection larger than maxTargets is refused at validation with its position', () => {
    expect(parse(`method: [ ${fault(kind, fields)} ]`).problems).toEqual([
      expect.stringMatching(
        new RegExp(`^blast\\.yaml:\\d+:\\d+ targets: required: method uses ${kind.replace('.', '\\.')}`),
      ),
    ]);
    expect(
      parse(
        `targets: { labels: { app: db }, mode: count, count: 2 }\nmethod: [ ${fault(kind, fields)} ]\nblastRadius: { maxTargets: 1 }`,
      ).problems,
    ).toEqual([
      expect.stringMatching(/^blast\.yaml:3:53 targets\.count: selects 2 containers but blastRadius\.maxTargets is 1/),
    ]);
  });

  it('counts each target it hits, with proxy routes, at validation and at planning', () => {
    const e = exp(
      `targets: { labels: { app: db }, mode: count, count: 2 }\nmethod: [ ${fault(kind, fields)} ]\nblastRadius: { maxTargets: 2 }`,
    );
    const plan = planFaults(e, fleet, [], 3);
    expect(plan.faults.map((f) => f.kind)).toEqual([kind, kind]);
    expect(new Set(plan.faults.map((f) => f.target?.name)).size).toBe(2);
    const withRoute = `targets: { labels: { app: db }, mode: count, count: 2 }\nmethod:\n  - ${fault(kind, fields)}\n  - { kind: proxy.latency, proxy: r1, latency: 100ms, duration: 5s }\nblastRadius: { maxTargets: 2 }`;
    expect(parse(withRoute).problems).toEqual([
      expect.stringMatching(
        /method\.1\.proxy: the method touches 1 proxy route \(r1\) and 2 containers but blastRadius\.maxTargets is 2/,
      ),
    ]);
    const loose = exp(withRoute.replace('maxTargets: 2', 'maxTargets: 3'));
    expect(() =>
      planFaults({ ...loose, blastRadius: { ...loose.blastRadius, maxTargets: 2 } }, fleet, ['r1'], 3),
    ).toThrow(/2 container\(s\) and 1 proxy route\(s\) make 3 targets, above maxTargets 2/);
  });

  it('admission holds the container it faults: another run faulting it waits, one on another container is admitted', () => {
    const e = exp(`targets: { names: [ db-1 ] }\nmethod: [ ${fault(kind, fields)} ]`);
    const mine = targetsOf(planFaults(e, fleet, [], 1).faults, e.method);
    expect(mine.map((t) => t.key)).toEqual(['container:id-db-1']);
    const s = initialState();
    admit(s, req('a', mine), '2026-12-07T22:00:00Z');
    const pause = exp(`targets: { names: [ db-1 ] }\nmethod: [ { kind: container.pause, duration: 5s } ]`);
    const other = targetsOf(planFaults(pause, fleet, [], 1).faults, pause.method);
    expect(evaluate(s, req('b', other), Date.parse('2026-12-07T22:00:01Z'))).toMatchObject({
      admitted: false,
      retryable: true,
      reason: expect.stringMatching(/db-1/),
    });
    expect(evaluate(s, req('c', [{ key: 'container:id-db-2', label: 'db-2' }]), undefined)).toMatchObject({
      admitted: true,
    });
  });
});

describe('network.split in admission', () => {
  it('holds both groups: a run faulting a member of either side waits', () => {
    const e = exp(
      `method: [ { kind: network.split, from: { names: [ db-1, db-2 ] }, to: { names: [ db-3 ] }, duration: 5s } ]\nblastRadius: { maxTargets: 3 }`,
    );
    const s = initialState();
    admit(s, req('split', targetsOf(planFaults(e, fleet, [], 1).faults, e.method)), '2026-12-07T22:00:00Z');
    for (const n of ['db-1', 'db-3']) {
      const x = exp(`targets: { names: [ ${n} ] }\nmethod: [ { kind: stress.cpu, cores: 0.5, duration: 5s } ]`);
      expect(
        evaluate(s, req(`stress-${n}`, targetsOf(planFaults(x, fleet, [], 1).faults, x.method)), undefined),
      ).toMatchObject({
        admitted: false,
        reason: expect.stringMatching(new RegExp(n)),
      });
    }
  });
});
