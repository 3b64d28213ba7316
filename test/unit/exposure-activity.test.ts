// The exposeFault activity (activities/index.ts) over the in-memory fault proxy (test/support/memory-ports.ts),
// with the real http.abort and proxy.latency kinds: the rule is born at the first step's share (prepare), a
// step updates it in place under a new lease, the same step twice is the same rule, a rule that is gone is
// never put back, nothing changes once the run's guard has concluded, and the revert removes it whatever the step.
import { describe, expect, it } from 'vitest';
import { createActivities, type RunLink } from '../../activities/index.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { FaultEntry } from '../../experiments/schema.ts';
import type { GuardViolation } from '../../experiments/journal.ts';
import { MemoryWorld } from '../support/memory-ports.ts';

const JUDGE = `judge:
  metrics: [ { name: e, events: { total: 'sum(t)', bad: 'sum(b)' }, maxRate: 0.01 } ]`;

function fault(line: string): FaultEntry {
  const r = parseExperiment(
    `title: t
hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }
method: [ ${line} ]
${JUDGE}
blastRadius: { maxTargets: 2 }`,
    'x.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.experiment.method[0] as FaultEntry;
}

function setup(violation?: GuardViolation) {
  const world = new MemoryWorld();
  world.addProxy('r1');
  world.addProxy('r2');
  const link = (): RunLink => ({ reportViolation: async () => undefined, guardRecord: async () => ({ violation }) });
  return { world, acts: createActivities(world.ports('w'), { runLink: link }) };
}

/** Each rule on the proxy: route/name -> its share (percent) and lease end. */
const rulesOf = (world: MemoryWorld) =>
  [...world.toxics].flatMap(([p, rules]) =>
    [...rules.values()].map((r) => ({
      at: `${p}/${r.spec.name}`,
      share: (r.spec.attributes.percentage as number | undefined) ?? r.spec.toxicity * 100,
      expiresAt: r.expiresAt,
    })),
  );

describe('exposeFault: a step of a progressive exposure', () => {
  it('http.abort: born at its first step, each step updates the same rules in place under a new lease; idempotent; reverted whatever the step', async () => {
    const { world, acts } = setup();
    const spec = fault(
      '{ kind: http.abort, proxy: [r1, r2], duration: 1m, exposure: { steps: [1%, 5%, 25%], hold: 10s } }',
    );
    const handle = await acts.prepareFault(spec, undefined);
    await acts.injectFault(spec, handle);
    const born = rulesOf(world);
    expect(born.map((r) => r.share)).toEqual([1, 1]);
    await new Promise((r) => setTimeout(r, 5));
    expect(await acts.exposeFault(spec.kind, handle, 5)).toMatchObject({ missing: [] });
    const five = rulesOf(world);
    expect(five.map((r) => [r.at, r.share])).toEqual(born.map((r) => [r.at, 5])); // same names: updated, not added
    five.forEach((r, i) => expect(r.expiresAt).toBeGreaterThan(born[i]!.expiresAt)); // a new lease
    expect(await acts.exposeFault(spec.kind, handle, 5)).toMatchObject({ missing: [] });
    expect(rulesOf(world).map((r) => r.share)).toEqual([5, 5]);
    await acts.exposeFault(spec.kind, handle, 25);
    expect(rulesOf(world).map((r) => r.share)).toEqual([25, 25]);
    expect(world.calls.filter((c) => c.op === 'addToxic')).toHaveLength(2); // only the inject added
    await acts.revertFault(spec.kind, handle);
    expect(rulesOf(world)).toEqual([]);
  });

  it('proxy.latency grows its toxicity', async () => {
    const { world, acts } = setup();
    const spec = fault(
      '{ kind: proxy.latency, proxy: r1, latency: 100ms, duration: 1m, exposure: { steps: [10%, 50%], hold: 10s } }',
    );
    const handle = await acts.prepareFault(spec, undefined);
    await acts.injectFault(spec, handle);
    expect([...(world.toxics.get('r1')?.values() ?? [])].map((r) => r.spec.toxicity)).toEqual([0.1]);
    await acts.exposeFault(spec.kind, handle, 50);
    expect([...(world.toxics.get('r1')?.values() ?? [])].map((r) => r.spec.toxicity)).toEqual([0.5]);
  });

  it('a rule that is gone (reverted, or its lease lapsed) is never put back', async () => {
    const { world, acts } = setup();
    const spec = fault('{ kind: http.abort, proxy: r1, duration: 1m, exposure: { steps: [1%, 5%], hold: 10s } }');
    const handle = await acts.prepareFault(spec, undefined);
    await acts.injectFault(spec, handle);
    await acts.revertFault(spec.kind, handle);
    const r = await acts.exposeFault(spec.kind, handle, 5);
    expect(r.missing).toEqual([expect.stringMatching(/^r1\/faultline-http-abort-/)]);
    expect(rulesOf(world)).toEqual([]);
  });

  it("once the run's guard has concluded, a step changes nothing", async () => {
    const at = new Date().toISOString();
    const v: GuardViolation = {
      failing: {
        probe: 'judge',
        at,
        ok: false,
        requests: 0,
        errors: 0,
        errorRate: 0,
        p50Ms: 0,
        p95Ms: 0,
        p99Ms: 0,
        maxMs: 0,
        violations: ['E 41 >= 20'],
        errorSamples: [],
      },
      detectedAt: at,
      firstFailureAt: at,
    };
    const { world, acts } = setup(v);
    const spec = fault('{ kind: http.abort, proxy: r1, duration: 1m, exposure: { steps: [1%, 5%], hold: 10s } }');
    const handle = await acts.prepareFault(spec, undefined);
    await acts.injectFault(spec, handle);
    const r = await acts.exposeFault(spec.kind, handle, 5);
    expect(r.refused).toContain('E 41 >= 20');
    expect(rulesOf(world).map((x) => x.share)).toEqual([1]);
    expect(world.calls.filter((c) => c.op === 'updateToxic')).toEqual([]);
  });
});
