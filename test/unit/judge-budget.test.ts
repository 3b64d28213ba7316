// Error budgets, pure: the objective as the null rate, the burn rate, the share of the window's budget an
// experiment burned (checked against the budget written the other way round: errors over the errors the
// window allows at this traffic), and the judge on a judged SLO: the baseline never moves its null, a
// healthy stream passes with its budget reported, a fast burn aborts naming it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedErrorRate, budgetBurned, budgetText, burnRate, sloBudget, sloNullRate } from '../../judge/budget.ts';
import { judgeReport, judgeTick, startJudge, unjudgeable, type Baseline } from '../../judge/guard.ts';
import type { JudgeConfig, JudgedMetricConfig, SloTarget } from '../../judge/config.ts';
import { mulberry32 } from '../../judge/random.ts';

const DAY = 86_400_000;
/** Equal to a relative 1e-9 (the shares span many orders of magnitude). */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-12);

describe('budget arithmetic', () => {
  it('the objective allows 1 - objective; a burn rate of 1 spends the whole budget in exactly the window', () => {
    expect(allowedErrorRate(0.999)).toBeCloseTo(0.001, 12);
    expect(sloNullRate(0.99)).toBeCloseTo(0.01, 12);
    expect(sloNullRate(0.99, 14.4)).toBeCloseTo(0.144, 12);
    expect(burnRate(10, 1000, 0.99)).toBeCloseTo(1, 12);
    expect(burnRate(0, 0, 0.99)).toBe(0);
    // 1 % errors against a 99 % objective for 30 days: the whole 30-day budget
    expect(budgetBurned(10, 1000, 0.99, 30 * DAY, 30 * DAY)).toBeCloseTo(1, 12);
    // 5 % errors against 99 % for an hour of a 30-day window: 5 x 1/720 of the budget
    expect(budgetBurned(50, 1000, 0.99, 3_600_000, 30 * DAY)).toBeCloseTo(5 / 720, 12);
    expect(budgetBurned(50, 1000, 0.99, 0, 30 * DAY)).toBe(0);
    expect(budgetText({ burnRate: 6.5, budgetBurned: 0.00012, window: '30d', maxBurnRate: 1 })).toBe(
      'burn rate 6.50x (allowed 1x), 0.012% of its 30d error budget burned',
    );
    expect(budgetText({ burnRate: 4.21, budgetBurned: 3.2e-6, window: '30d', maxBurnRate: 1 })).toBe(
      'burn rate 4.21x (allowed 1x), 0.00032% of its 30d error budget burned',
    );
  });

  const objective = fc.double({ min: 0.5, max: 0.99999, noNaN: true });
  const counts = fc
    .tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([n, share]) => ({ events: n, errors: Math.floor(n * share) }));
  const ms = fc.integer({ min: 1, max: 365 * DAY });

  it('property: the share burned is the errors over the errors the window allows at the judged traffic', () => {
    fc.assert(
      fc.property(objective, counts, ms, ms, (o, c, judged, window) => {
        const allowedInWindow = allowedErrorRate(o) * c.events * (window / judged);
        const share = budgetBurned(c.errors, c.events, o, judged, window);
        expect(close(share, c.errors / allowedInWindow)).toBe(true);
        expect(share).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('property: the burn rate stays within maxBurnRate exactly when the error rate stays within the null', () => {
    fc.assert(
      fc.property(objective, counts, fc.double({ min: 1, max: 20, noNaN: true }), (o, c, k) => {
        const rate = c.errors / c.events;
        fc.pre(Math.abs(rate - sloNullRate(o, k)) > 1e-9); // not on the boundary, where rounding decides
        expect(burnRate(c.errors, c.events, o) <= k).toBe(rate <= sloNullRate(o, k));
      }),
    );
  });

  it('property: the share burned grows linearly with the judged time and does not depend on the traffic', () => {
    fc.assert(
      fc.property(objective, counts, ms, fc.integer({ min: 2, max: 100 }), (o, c, judged, f) => {
        const w = 30 * DAY;
        const once = budgetBurned(c.errors, c.events, o, judged, w);
        expect(close(budgetBurned(c.errors, c.events, o, judged * f, w), f * once)).toBe(true);
        expect(close(budgetBurned(c.errors * f, c.events * f, o, judged, w), once)).toBe(true);
      }),
    );
  });

  it('sloBudget: the burn rate and its anytime upper bound over the allowed rate', () => {
    const slo: SloTarget = {
      file: 'f.yaml',
      format: 'sloth',
      name: 's',
      objective: 0.99,
      window: '30d',
      windowMs: 30 * DAY,
    };
    const b = sloBudget(slo, 2, { events: 1000, errors: 20, judgedMs: 60_000, upperRate: 0.04 });
    expect(b).toMatchObject({ allowedRate: 0.010000000000000009, maxBurnRate: 2, events: 1000, errors: 20 });
    expect(b.burnRate).toBeCloseTo(2, 9);
    expect(b.burnRateUpper).toBeCloseTo(4, 9);
    expect(b.budgetBurned).toBeCloseTo((2 * 60_000) / (30 * DAY), 12);
  });
});

const SLO: SloTarget = {
  file: 'slos/front.yaml',
  format: 'sloth',
  name: 'front-latency',
  objective: 0.95,
  window: '30d',
  windowMs: 30 * DAY,
};
const metric = (over: Partial<JudgedMetricConfig> = {}): JudgedMetricConfig => ({
  name: 'front-latency',
  direction: 'increase',
  allowedIncrease: 2,
  absentMeansZero: false,
  maxNoData: '10%',
  minEvents: 20,
  critical: false,
  slo: SLO,
  ...over,
});
const judge = (m: JudgedMetricConfig): JudgeConfig => ({
  alpha: 0.05,
  metrics: [m],
  thresholds: { pass: 95, marginal: 75 },
});
const baseline = (n: number, x: number, upper: number, complementUpper = 1): Baseline => ({
  n,
  x,
  rate: x / n,
  upper,
  complementUpper,
  confidence: 0.95,
  windowMs: 10_000,
  startedAt: '2026-12-08T00:00:00.000Z',
  endedAt: '2026-12-08T00:00:10.000Z',
});

/** Ticks of 50 events a second at `rate` errors (seeded), until an abort or `ticks`. */
function run(m: JudgedMetricConfig, rate: number, ticks: number, seed = 42) {
  const j = judge(m);
  const s = startJudge(j, { [m.name]: baseline(500, 0, 0.006) });
  const rnd = mulberry32(seed);
  let total = 0;
  let bad = 0;
  let t = 1_000_000;
  judgeTick(s, m.name, { total, part: bad, partIs: 'bad' }, t);
  for (let i = 0; i < ticks && !s.abort; i++) {
    for (let k = 0; k < 50; k++) if (rnd() < rate) bad++;
    total += 50;
    t += 1000;
    judgeTick(s, m.name, { total, part: bad, partIs: 'bad' }, t);
  }
  return { s, report: judgeReport(s, j) };
}

describe('the judge on a judged SLO', () => {
  it("the objective is the null, whatever the baseline's bound (a quiet baseline would have allowed only about 1.2%)", () => {
    const { s } = run(metric(), 0, 0);
    expect(s.metrics[0]?.tests[0]?.p0).toBeCloseTo(0.05, 12);
    const { s: faster } = run(metric({ maxBurnRate: 2 }), 0, 0);
    expect(faster.metrics[0]?.tests[0]?.p0).toBeCloseTo(0.1, 12);
  });

  it('a healthy stream (1% slow against 5% allowed) passes for 10 minutes, its small burn reported', () => {
    const { s, report } = run(metric(), 0.01, 600);
    expect(s.abort).toBeUndefined();
    const b = report.metrics[0]?.slo;
    expect(b).toMatchObject({ name: 'front-latency', file: 'slos/front.yaml', window: '30d', events: 30_000 });
    expect(b!.judgedMs).toBe(600_000);
    expect(b!.burnRate).toBeCloseTo(b!.errors / 30_000 / 0.05, 9);
    expect(b!.burnRate).toBeLessThan(0.4);
    expect(b!.budgetBurned).toBeCloseTo((b!.burnRate * 600_000) / (30 * DAY), 12);
    expect(report.metrics[0]?.classification).toBe('pass');
  });

  it('a fast burn (30% slow against 5% allowed) aborts within seconds, naming the SLO and its burn', () => {
    const { s, report } = run(metric(), 0.3, 600);
    expect(s.abort?.reason).toMatch(
      /^judged metric front-latency: e-value \S+ reached 20\.0 \(m\/alpha\): bad-event rate \S+ over \d+ events against at most 5\.00%; SLO front-latency burn rate \d+\.\d\dx \(allowed 1x\), \S+% of its 30d error budget burned$/,
    );
    expect(report.metrics[0]?.tests[0]?.n).toBeLessThanOrEqual(500);
    expect(report.metrics[0]?.slo?.burnRate).toBeGreaterThan(3);
    expect(report.metrics[0]?.classification).toBe('high');
  });

  it('a service already past its objective at baseline is refused, naming the SLO', () => {
    expect(unjudgeable(metric(), baseline(1000, 200, 0.22, 0.82))).toMatch(
      /^metric front-latency: direction increase cannot be judged: its baseline bad-event rate 20\.00% .* is already above the 5\.00% its SLO front-latency allows \(objective 95\.00%\): the service burns its error budget too fast before any fault; judge it once the service meets its objective, or allow a higher maxBurnRate$/,
    );
  });
});
