// Planning is pure: the experiment, the fleet and the proxy's routes in, fault records out. No Docker, no
// Temporal, no proxy: in-memory data only.
import { describe, expect, it } from 'vitest';
import { planFaults } from '../../activities/plan.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import type { ContainerInfo } from '../../faults/ports.ts';

const probe = `hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }`;
function exp(body: string): Experiment {
  const r = parseExperiment(`title: t\n${probe}\n${body}`, 'plan.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}
const c = (name: string): ContainerInfo => ({
  id: `id-${name}`,
  name,
  labels: { app: 'api' },
  state: 'running',
  networks: {},
});
const fleet = [c('api-1'), c('api-2'), c('api-3')];

describe('planFaults', () => {
  it('a proxy route that does not exist is refused before anything is injected (route typo)', () => {
    const e = exp(`method: [ { kind: proxy.latency, proxy: backend-l, latency: 100ms, duration: 1s } ]`);
    expect(() => planFaults(e, [], ['backend-1', 'backend-2'], 1)).toThrow(
      /method\.0\.proxy: no fault proxy route "backend-l" \(the proxy has backend-1, backend-2\)/,
    );
    expect(() => planFaults(e, [], [], 1)).toThrow(/the proxy has no routes/);
  });

  it('plans one record per route fault and lists the routes it touches', () => {
    const e = exp(`method: [ { kind: proxy.latency, proxy: backend-1, latency: 100ms, duration: 1s } ]`);
    const plan = planFaults(e, [], ['backend-1', 'backend-2'], 1);
    expect(plan.routes).toEqual(['backend-1']);
    expect(plan.faults).toEqual([
      { faultIndex: 0, kind: 'proxy.latency', target: undefined, summary: expect.stringMatching(/backend-1/) },
    ]);
  });

  it('expands container faults over the seeded selection, the same for the same seed', () => {
    const e = exp(
      `targets: { labels: { app: api } }\nmethod: [ { kind: container.pause, duration: 1s } ]\nblastRadius: { maxTargets: 1 }`,
    );
    const a = planFaults(e, fleet, [], 7);
    expect(a.faults).toHaveLength(1);
    expect(planFaults(e, [...fleet].reverse(), [], 7)).toEqual(a);
  });

  it('containers and routes together count against blastRadius.maxTargets', () => {
    const e = exp(
      `targets: { labels: { app: api } }\nmethod:\n  - { kind: container.pause, duration: 1s }\n  - { kind: proxy.latency, proxy: r1, latency: 100ms, duration: 1s }\nblastRadius: { maxTargets: 2 }`,
    );
    expect(planFaults(e, fleet, ['r1'], 1).faults).toHaveLength(2);
    const tight = { ...e, blastRadius: { ...e.blastRadius, maxTargets: 1 } };
    expect(() => planFaults(tight, fleet, ['r1'], 1)).toThrow(/1 container\(s\) and 1 proxy route\(s\) make 2 targets/);
  });
});
