// The judged guard's state machine, pure: baselines to null rates, ticks to e-values, crossings to an
// abort, critical increases, counter resets, no data, and the scored report.
import { describe, expect, it } from 'vitest';
import { judgeSchema } from '../../experiments/schema.ts';
import { baselineOf, judgeReport, judgeTick, startJudge, unjudgeable } from '../../judge/guard.ts';
import type { CounterReading } from '../../judge/counters.ts';
import { decideVerdict } from '../../workflows/verdict.ts';

const T0 = Date.UTC(2026, 10, 25, 12);
const judge = (metrics: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  judgeSchema.parse({ metrics, ...extra });
const ev = { total: 't', bad: 'b' };
const r = (total: number, part: number): CounterReading => ({ total, part, partIs: 'bad' });
const iso = (ms: number) => new Date(ms).toISOString();

describe('judged guard', () => {
  it('derives p0 from the baseline bound with its odds times the allowed increase, capped by maxRate', () => {
    const b = baselineOf(r(0, 0), r(1000, 10), 0.95, iso(T0), iso(T0 + 10_000));
    expect(b).toMatchObject({ n: 1000, x: 10, rate: 0.01, windowMs: 10_000 });
    expect(b.upper).toBeGreaterThan(0.01);
    expect(b.upper).toBeLessThan(0.02);
    const s = startJudge(judge([{ name: 'errors', events: ev, allowedIncrease: 2 }]), { errors: b });
    const odds = (b.upper / (1 - b.upper)) * 2;
    expect(s.metrics[0]?.tests[0]?.p0).toBeCloseTo(odds / (1 + odds), 12);
    expect(s.metrics[0]?.tests[0]?.p0).toBeCloseTo(b.upper * 2, 2); // about the bound x 2 while it is small
    const capped = startJudge(judge([{ name: 'errors', events: ev, maxRate: 0.015 }]), { errors: b });
    expect(capped.metrics[0]?.tests[0]?.p0).toBe(0.015);
    expect(s.logThreshold).toBeCloseTo(Math.log(1 / 0.05), 12);
  });

  it('refuses a metric with no baseline events and no maxRate, naming it', () => {
    const m = judge([{ name: 'slow', events: ev }]).metrics[0]!;
    const empty = baselineOf(r(5, 0), r(5, 0), 0.95, iso(T0), iso(T0 + 10_000));
    expect(unjudgeable(m, empty)).toMatch(
      /^metric slow: direction increase cannot be judged: no event during the baseline window \(10000 ms\) and no maxRate/,
    );
    expect(() => startJudge(judge([{ name: 'slow', events: ev }]), { slow: empty })).toThrow(/metric slow/);
    expect(unjudgeable(judge([{ name: 'slow', events: ev, maxRate: 0.1 }]).metrics[0]!, empty)).toBeUndefined();
  });

  it('aborts when the e-value crosses m/alpha, and records where', () => {
    const j = judge([
      { name: 'errors', events: ev, maxRate: 0.01 },
      { name: 'slow', events: ev, maxRate: 0.05 },
    ]);
    const s = startJudge(j, {});
    expect(s.logThreshold).toBeCloseTo(Math.log(2 / 0.05), 12);
    judgeTick(s, 'errors', r(0, 0), T0);
    judgeTick(s, 'slow', r(0, 0), T0);
    let abort;
    let total = 0;
    let bad = 0;
    for (let i = 1; i <= 100 && !abort; i++) {
      total += 20;
      bad += 2; // 10%, ten times the null
      judgeTick(s, 'slow', r(total, 0), T0 + i * 1000);
      abort = judgeTick(s, 'errors', r(total, bad), T0 + i * 1000);
    }
    expect(abort).toMatchObject({ metric: 'errors', critical: false });
    expect(abort?.reason).toMatch(/^judged metric errors: e-value \S+ reached 40\.0 \(m\/alpha\)/);
    const rep = judgeReport(s, j);
    const errors = rep.metrics.find((m) => m.name === 'errors')!;
    expect(errors.classification).toBe('high');
    expect(errors.tests[0]!.crossedAt).toBe(abort?.at);
    expect(errors.tests[0]!.e).toBeGreaterThanOrEqual(40);
    expect(errors.tests[0]!.pAnytime).toBeLessThanOrEqual(0.025);
    expect(errors.tests[0]!.upper).toBeGreaterThan(0.01);
    expect(rep.metrics.find((m) => m.name === 'slow')!.classification).toBe('pass');
    expect(rep.scorecard).toMatchObject({ score: 50, result: 'fail' });
    expect(errors.series.buckets.length).toBeGreaterThan(0);
  });

  it('a critical increase aborts at the first tick that shows it', () => {
    // A noisy baseline (10%) and a generous allowed increase: the e-process needs many events, the
    // critical increase (3x the bound) does not.
    const b = baselineOf(r(0, 0), r(2000, 200), 0.95, iso(T0), iso(T0 + 10_000));
    const j = judge([{ name: 'errors', events: ev, allowedIncrease: 5, criticalIncrease: 3, minEvents: 20 }]);
    const s = startJudge(j, { errors: b });
    judgeTick(s, 'errors', r(0, 0), T0);
    expect(judgeTick(s, 'errors', r(10, 3), T0 + 1000)).toBeUndefined(); // below minEvents
    const a = judgeTick(s, 'errors', r(40, 21), T0 + 2000);
    expect(a).toMatchObject({ metric: 'errors', critical: true });
    expect(a?.reason).toMatch(/critical increase/);
  });

  it('a counter reset is never a negative count; no data is counted, not judged', () => {
    const s = startJudge(judge([{ name: 'errors', events: ev, maxRate: 0.05 }]), {});
    judgeTick(s, 'errors', r(1000, 5), T0);
    judgeTick(s, 'errors', r(30, 0), T0 + 1000); // the process restarted
    judgeTick(s, 'errors', null, T0 + 2000);
    const m = s.metrics[0]!;
    expect(m).toMatchObject({ resets: 1, noDataTicks: 1, ticks: 3 });
    expect(m.tests[0]!.e).toMatchObject({ n: 30, x: 0 });
    const empty = startJudge(judge([{ name: 'errors', events: ev, maxRate: 0.05 }]), {});
    judgeTick(empty, 'errors', null, T0);
    expect(judgeReport(empty, judge([{ name: 'x', events: ev }])).metrics[0]!.classification).toBe('nodata');
  });

  it('direction decrease watches the complement', () => {
    const b = baselineOf(r(0, 0), r(1000, 990), 0.95, iso(T0), iso(T0 + 10_000)); // 99% hits
    const j = judge([{ name: 'hits', events: ev, direction: 'decrease', allowedIncrease: 3 }]);
    const s = startJudge(j, { hits: b });
    judgeTick(s, 'hits', r(0, 0), T0);
    let a;
    for (let i = 1; i <= 50 && !a; i++) a = judgeTick(s, 'hits', r(i * 20, i * 10), T0 + i * 1000); // 50% hits
    expect(a?.metric).toBe('hits');
    expect(judgeReport(s, j).metrics[0]!.classification).toBe('low');
  });

  it('state and report are plain JSON (they travel in heartbeats and the journal)', () => {
    const j = judge([{ name: 'errors', events: ev, maxRate: 0.05 }]);
    const s = startJudge(j, {});
    judgeTick(s, 'errors', r(0, 0), T0);
    judgeTick(s, 'errors', r(10, 0), T0 + 1000);
    const copy = JSON.parse(JSON.stringify(s)) as typeof s;
    judgeTick(copy, 'errors', r(20, 0), T0 + 2000);
    expect(copy.metrics[0]!.tests[0]!.e.n).toBe(20);
    expect(JSON.parse(JSON.stringify(judgeReport(copy, j)))).toEqual(judgeReport(copy, j));
  });
});

describe('verdict with a judge', () => {
  const base = { statement: 's', recoveryTimeout: '10s', anyApplied: true, after: { ok: true, samples: [] } };
  const card = (result: 'pass' | 'marginal' | 'fail', score: number) => ({
    score,
    result,
    groups: [{ name: 'latency', weight: 100, score, metrics: 1 }],
    criticalFailed: [],
  });
  it('a failing score refutes, a passing or marginal one passes with the score in the reason', () => {
    expect(decideVerdict({ ...base, judged: card('fail', 50) })).toMatchObject({
      verdict: 'refuted',
      reason: expect.stringMatching(/^observing: the judge scored the window 50 \(fail; latency 50\)/),
    });
    expect(decideVerdict({ ...base, judged: card('marginal', 80) })).toMatchObject({
      verdict: 'passed',
      reason: expect.stringMatching(/the judge scored the window 80 \(marginal; latency 80\)$/),
    });
    expect(decideVerdict({ ...base }).reason).toBe('the steady state held: s');
  });
});
