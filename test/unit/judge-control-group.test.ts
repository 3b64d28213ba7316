// Control-group mode (ChAP), pure: the two-sample e-process's calibration with a fixed seed, a shift that
// hits both groups alike (the reason for a control group), the guard's ticks and report with both groups,
// the planner's split of the replicas (and its refusals), and the $GROUP expansion.
import { describe, expect, it } from 'vitest';
import { logThreshold, startE, updateE } from '../../judge/eprocess.ts';
import { startTwoSample, updateTwoSample } from '../../judge/two-sample.ts';
import { mulberry32 } from '../../judge/random.ts';
import { binomial } from '../../judge/simulate.ts';
import { judgeSchema, type Experiment } from '../../experiments/schema.ts';
import { judgeReport, judgeTick, startJudge } from '../../judge/guard.ts';
import type { CounterReading } from '../../judge/counters.ts';
import { upperConfidenceBound } from '../../judge/binomial.ts';
import { planFaults } from '../../activities/plan.ts';
import { expandGroup } from '../../activities/judge.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { ContainerInfo } from '../../faults/ports.ts';

const ALPHA = 0.05;
const STREAMS = 1000;
const TICKS = 1000;
// One faulted replica of three: the experiment group sees half the control group's traffic.
const N_EXP = 10;
const N_CTL = 20;
const TOLERANCE = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / STREAMS); // 3 binomial SDs: 0.0207

/** Experiment events until the two-sample e-process crosses 1/alpha, per stream (Bernoulli counts). */
function run(seed: number, ctl: (t: number) => number, exp: (t: number) => number, k = 2) {
  const r = mulberry32(seed);
  const thr = logThreshold(ALPHA);
  const events: number[] = [];
  for (let s = 0; s < STREAMS; s++) {
    const st = startTwoSample(k);
    for (let t = 0; t < TICKS; t++) {
      updateTwoSample(st, { n: N_EXP, x: binomial(r, N_EXP, exp(t)) }, { n: N_CTL, x: binomial(r, N_CTL, ctl(t)) });
      if (st.logE >= thr) {
        events.push(st.experiment.n);
        break;
      }
    }
  }
  return { aborts: events.length, events: events.sort((a, b) => a - b) };
}

describe('two-sample e-process calibration (seed 42..47, 1,000 streams of 1,000 ticks)', () => {
  it('healthy at the null boundary (experiment exactly 2x the control, allowed 2x): false aborts <= alpha + 3 SD', () => {
    const { aborts } = run(
      42,
      () => 0.01,
      () => 0.02,
    );
    expect(aborts / STREAMS).toBeLessThanOrEqual(ALPHA + TOLERANCE);
  });

  it('healthy with equal rates and allowed ratio 1: false aborts <= alpha + 3 SD', () => {
    const { aborts } = run(
      43,
      () => 0.01,
      () => 0.01,
      1,
    );
    expect(aborts / STREAMS).toBeLessThanOrEqual(ALPHA + TOLERANCE);
  });

  it('a shift that hits both groups alike (5x mid-window) is not blamed on the fault; a before-baseline guard aborts', () => {
    const shift = (t: number) => (t < 100 ? 0.01 : 0.05);
    const { aborts } = run(44, shift, shift);
    expect(aborts / STREAMS).toBeLessThanOrEqual(ALPHA + TOLERANCE);
    // The single-sample e-process against a before-baseline of 1% x 2 sees only the experiment group: it aborts.
    const r = mulberry32(45);
    let e = startE(0.02);
    for (let t = 0; t < 300; t++) e = updateE(e, N_EXP, binomial(r, N_EXP, shift(t)));
    expect(e.maxLogE).toBeGreaterThanOrEqual(logThreshold(ALPHA));
  });

  it('experiment at 5x the control (allowed 2x): every stream aborts within 3,000 experiment events, median within 600', () => {
    const { aborts, events } = run(
      46,
      () => 0.01,
      () => 0.05,
    );
    expect(aborts).toBe(STREAMS);
    expect(events.at(-1)).toBeLessThanOrEqual(3000);
    expect(events[STREAMS >> 1]).toBeLessThanOrEqual(600);
  });

  it('experiment at 10x the control (allowed 2x): every stream aborts within 700 experiment events, median within 150', () => {
    const { aborts, events } = run(
      47,
      () => 0.01,
      () => 0.1,
    );
    expect(aborts).toBe(STREAMS);
    expect(events.at(-1)).toBeLessThanOrEqual(700);
    expect(events[STREAMS >> 1]).toBeLessThanOrEqual(150);
  });
});

const T0 = Date.UTC(2026, 10, 25, 12);
const r = (total: number, part: number): CounterReading => ({ total, part, partIs: 'bad' });
const ev = { total: 'sum(x{g=~"$GROUP"})', bad: 'sum(y{g=~"$GROUP"})' };

describe('judged guard in control-group mode', () => {
  it('judges the experiment group against the control over the same ticks; the report carries both groups', () => {
    const j = judgeSchema.parse({ controlGroup: {}, metrics: [{ name: 'errors', events: ev, allowedIncrease: 2 }] });
    const s = startJudge(j, {});
    judgeTick(s, 'errors', { experiment: r(0, 0), control: r(0, 0) }, T0);
    let abort;
    let i = 0;
    for (; i < 100 && !abort; i++)
      abort = judgeTick(
        s,
        'errors',
        { experiment: r(20 * (i + 1), 4 * (i + 1)), control: r(40 * (i + 1), i + 1) }, // 20% against 2.5%
        T0 + (i + 1) * 1000,
      );
    expect(abort).toMatchObject({ metric: 'errors', critical: false });
    expect(abort?.reason).toMatch(
      /^judged metric errors: e-value \S+ reached 20\.0 \(m\/alpha\): experiment group bad-event rate 20\.00% \(\d+ of \d+\) against control 2\.50% \(\d+ of \d+\), allowed at most 2 times the control$/,
    );
    const rep = judgeReport(s, j);
    const m = rep.metrics[0]!;
    expect(m.classification).toBe('high');
    const t = m.tests[0]!;
    expect(t.groups).toMatchObject({
      allowedRatio: 2,
      experiment: { n: 20 * i, x: 4 * i, rate: 0.2 },
      control: { n: 40 * i, x: i, rate: 0.025 },
      ratio: 8,
    });
    expect(t.e).toBeGreaterThanOrEqual(20);
    expect(t.p0).toBeCloseTo(0.05, 12); // allowed ratio x the control's rate
    expect(m.series.buckets.at(-1)?.v).toMatchObject({ events: 20, bad: 4, cEvents: 40, cBad: 1 });
  });

  it('both groups rising together does not abort; a group without data is a no-data tick', () => {
    const j = judgeSchema.parse({ controlGroup: {}, metrics: [{ name: 'errors', events: ev }] });
    const s = startJudge(j, {});
    for (let i = 0; i <= 60; i++)
      expect(
        judgeTick(s, 'errors', { experiment: r(20 * i, 4 * i), control: r(40 * i, 8 * i) }, T0 + i * 1000),
      ).toBeUndefined();
    judgeTick(s, 'errors', { experiment: r(2000, 400), control: null }, T0 + 62_000);
    const rep = judgeReport(s, j);
    expect(rep.metrics[0]).toMatchObject({ classification: 'pass', noDataTicks: 1 });
    expect(rep.metrics[0]!.tests[0]!.groups?.ratio).toBeCloseTo(1, 12);
  });

  it("criticalIncrease: one tick above criticalIncrease x the control's upper bound aborts at once; below it, or under minEvents, does not", () => {
    // allowedIncrease 5 against a 10% control: the e-process's null is 50%, so only the critical check can act.
    const j = judgeSchema.parse({
      controlGroup: {},
      metrics: [{ name: 'errors', events: ev, allowedIncrease: 5, criticalIncrease: 3, minEvents: 20 }],
    });
    const s = startJudge(j, {});
    const ctl = (i: number) => r(1000 * i, 100 * i); // 10% every tick
    const tick = (i: number, e: CounterReading) =>
      judgeTick(s, 'errors', { experiment: e, control: ctl(i) }, T0 + i * 1000);
    expect(tick(0, r(0, 0))).toBeUndefined();
    expect(tick(1, r(40, 4))).toBeUndefined(); // 10%, like the control
    expect(tick(2, r(80, 16))).toBeUndefined(); // 30% in one tick: below 3 x the bound (~32%)
    expect(tick(3, r(90, 25))).toBeUndefined(); // 90% of 10 events: under minEvents
    const bound = upperConfidenceBound(4000, 400, 0.95) * 3;
    expect(bound).toBeGreaterThan(0.3);
    expect(bound).toBeLessThan(0.35);
    const a = tick(4, r(130, 46)); // 21 of 40 (52.5%) in one tick
    expect(a).toMatchObject({ metric: 'errors', critical: true, at: new Date(T0 + 4000).toISOString() });
    expect(a?.reason).toBe(
      `judged metric errors: critical increase: experiment group bad-event rate 52.50% in one tick (40 events) > ${(bound * 100).toFixed(2)}% (3 x the control's upper bound)`,
    );
    // at once: the sequential test is nowhere near its threshold (35% overall against a 50% null)
    const t = s.metrics[0]!.tests[0]!;
    expect(t.crossedAt).toBeUndefined();
    expect(t.e.logE).toBeLessThan(s.logThreshold);
    expect(s.abort).toEqual(a);
  });

  it('criticalIncrease is relative to the control: the same jump with a control as bad does not abort', () => {
    const j = judgeSchema.parse({
      controlGroup: {},
      metrics: [{ name: 'errors', events: ev, allowedIncrease: 5, criticalIncrease: 3, minEvents: 20 }],
    });
    const s = startJudge(j, {});
    judgeTick(s, 'errors', { experiment: r(0, 0), control: r(0, 0) }, T0);
    // both groups at 52.5% in the same tick: a shift of the whole service, not of the faulted replica
    expect(judgeTick(s, 'errors', { experiment: r(40, 21), control: r(80, 42) }, T0 + 1000)).toBeUndefined();
    expect(s.abort).toBeUndefined();
  });

  it('a single-group reading for a control-group metric is no data, and the other way round an error', () => {
    const cj = judgeSchema.parse({ controlGroup: {}, metrics: [{ name: 'e', events: ev }] });
    const cs = startJudge(cj, {});
    judgeTick(cs, 'e', r(1, 0), T0);
    expect(cs.metrics[0]!.noDataTicks).toBe(1);
    const sj = judgeSchema.parse({ metrics: [{ name: 'e', events: { total: 't', bad: 'b' }, maxRate: 0.1 }] });
    expect(() => judgeTick(startJudge(sj, {}), 'e', { experiment: r(1, 0), control: r(1, 0) }, T0)).toThrow(
      /not judged against a control group/,
    );
  });
});

const probe = `hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }`;
const judged = `judge:
  controlGroup: CG
  metrics:
    - name: errors
      events: { total: 'sum(t{upstream=~"$GROUP"})', bad: 'sum(b{upstream=~"$GROUP"})' }`;
function exp(body: string, cg = '{}'): Experiment {
  const res = parseExperiment(`title: t\n${probe}\n${body}\n${judged.replace('CG', cg)}\n`, 'cg.yaml');
  if (!res.ok) throw new Error(res.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return res.experiment;
}
const c = (name: string, labels: Record<string, string> = {}): ContainerInfo => ({
  id: `id-${name}`,
  name,
  labels: { app: 'shop', ...labels },
  state: 'running',
  networks: {},
});
const fleet = [c('shop-backend-1'), c('shop-backend-2'), c('shop-backend-3'), c('shop-front', { role: 'front' })];

describe('planning the groups', () => {
  it('container faults: the selected replicas are the experiment group, the matched but unselected the control', () => {
    const e = exp(`targets: { namePattern: "backend", seed: 7 }\nmethod: [ { kind: container.pause, duration: 5s } ]`);
    const p = planFaults(e, fleet, [], 7);
    expect(p.groups?.experiment).toEqual(p.selection?.selected.map((t) => t.name));
    expect(p.groups?.experiment).toHaveLength(1);
    expect([...p.groups!.experiment, ...p.groups!.control].sort()).toEqual([
      'shop-backend-1',
      'shop-backend-2',
      'shop-backend-3',
    ]);
  });

  it("route faults: the route's upstream names the replica it hits; the replicas come from controlGroup.replicas", () => {
    const e = exp(
      `method: [ { kind: proxy.latency, proxy: backend-2, latency: 100ms, duration: 5s } ]`,
      '{ replicas: { namePattern: "-backend-" } }',
    );
    const p = planFaults(e, fleet, ['backend-1', 'backend-2', 'backend-3'], 1, { 'backend-2': 'shop-backend-2:8080' });
    expect(p.groups).toMatchObject({ experiment: ['shop-backend-2'], control: ['shop-backend-1', 'shop-backend-3'] });
    // The control replicas with their container IDs: admission holds them read-only (issue 15 item 7).
    expect(p.groups?.controlTargets?.map((t) => [t.name, t.id])).toEqual(
      fleet.filter((c) => ['shop-backend-1', 'shop-backend-3'].includes(c.name)).map((c) => [c.name, c.id]),
    );
  });

  it('refuses (before any intent) an empty control group, an empty experiment group, and no matching replica', () => {
    const all = exp(
      `targets: { namePattern: "backend", mode: count, count: 3 }\nblastRadius: { maxTargets: 3 }\nmethod: [ { kind: container.pause, duration: 5s } ]`,
    );
    expect(() => planFaults(all, fleet, [], 1)).toThrow(
      /^judge\.controlGroup: every matched replica \(shop-backend-1, shop-backend-2, shop-backend-3\) is faulted, so the control group is empty/,
    );
    const route = exp(
      `method: [ { kind: proxy.latency, proxy: backend-2, latency: 100ms, duration: 5s } ]`,
      '{ replicas: { namePattern: "-backend-" } }',
    );
    expect(() => planFaults(route, fleet, ['backend-2'], 1, { 'backend-2': 'elsewhere:8080' })).toThrow(
      /^judge\.controlGroup: no fault hits one of the replicas shop-backend-1, shop-backend-2, shop-backend-3/,
    );
    expect(() => planFaults(route, [c('db-1')], ['backend-2'], 1, {})).toThrow(
      /^judge\.controlGroup\.replicas: no running replica matches/,
    );
  });

  it('$GROUP becomes an exact alternation of the group, dots escaped for a PromQL string', () => {
    expect(expandGroup('sum(x{upstream=~"$GROUP"}) / sum(y{c=~"$GROUP"})', ['a.b-1', 'c_2'])).toBe(
      'sum(x{upstream=~"a\\\\.b-1|c_2"}) / sum(y{c=~"a\\\\.b-1|c_2"})',
    );
  });
});
