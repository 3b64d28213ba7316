// The judge at the edges of the rate: every direction over baselines of 0 %, 0.1 %, 50 %, 99.9 % and 100 %
// bad events. A healthy stream (the same rate as its baseline) must never abort, 200,000 events each; a
// direction whose null no healthy stream can be told from (a rate of 0 % cannot fall, one of 100 % cannot
// rise) is refused before anything is injected, with the metric and the reason; a real shift still aborts.
import { describe, expect, it } from 'vitest';
import { judgeSchema } from '../../experiments/schema.ts';
import { baselineOf, judgeReport, judgeTick, startJudge, unjudgeable, type Baseline } from '../../judge/guard.ts';
import type { CounterReading } from '../../judge/counters.ts';
import { mulberry32 } from '../../judge/random.ts';
import { binomial } from '../../judge/simulate.ts';

const T0 = Date.UTC(2026, 10, 25, 12);
const BASELINE_EVENTS = 10_000;
const PER_TICK = 100;
const TICKS = 2_000; // 200,000 events
const RATES = [0, 0.001, 0.5, 0.999, 1] as const;
const DIRECTIONS = ['increase', 'decrease', 'either'] as const;
type Direction = (typeof DIRECTIONS)[number];

const r = (total: number, part: number): CounterReading => ({ total, part, partIs: 'bad' });
const iso = (ms: number) => new Date(ms).toISOString();
const judge = (direction: Direction, extra: Record<string, unknown> = {}) =>
  judgeSchema.parse({ metrics: [{ name: 'm', events: { total: 't', bad: 'b' }, direction, ...extra }] });

/** A baseline window that counted exactly `rate` of its events bad. */
const baseline = (rate: number, n = BASELINE_EVENTS): Baseline =>
  baselineOf(r(0, 0), r(n, Math.round(rate * n)), 0.95, iso(T0), iso(T0 + 10_000));

/** What cannot be judged, and why (null: it must be judged and a healthy stream must pass). */
const REFUSED: Record<Direction, Partial<Record<(typeof RATES)[number], RegExp>>> = {
  increase: {
    1: /^metric m: direction increase cannot be judged: every one of its 10000 baseline events was bad \(bad-event rate 100%\), and a rate of 100% cannot rise; check which counter is bad and which good, or judge direction: decrease$/,
  },
  decrease: {
    0: /^metric m: direction decrease cannot be judged: none of its 10000 baseline events was bad \(bad-event rate 0%\), and a rate of 0% cannot fall; judge direction: increase/,
  },
  either: {
    0: /^metric m: direction either \(its decrease half\) cannot be judged: none of its 10000 baseline events was bad \(bad-event rate 0%\), and a rate of 0% cannot fall; judge direction: increase/,
    1: /^metric m: direction either \(its increase half\) cannot be judged: every one of its 10000 baseline events was bad/,
  },
};

/** Feeds `ticks` ticks of PER_TICK events, each bad with probability `rate` (after `from` healthy ticks at `base`). */
function stream(direction: Direction, base: number, seed: number, shiftTo?: number) {
  const j = judge(direction);
  const s = startJudge(j, { m: baseline(base) });
  const random = mulberry32(seed);
  let total = 0;
  let bad = 0;
  judgeTick(s, 'm', r(total, bad), T0);
  for (let i = 1; i <= TICKS; i++) {
    total += PER_TICK;
    bad += binomial(random, PER_TICK, shiftTo ?? base);
    const abort = judgeTick(s, 'm', r(total, bad), T0 + i * 1000);
    if (abort) return { abort, events: total, report: judgeReport(s, j), state: s };
  }
  return { abort: undefined, events: total, report: judgeReport(s, j), state: s };
}

describe('a healthy stream never aborts, in any direction, at any baseline rate (200,000 events each)', () => {
  const cases = DIRECTIONS.flatMap((d) =>
    RATES.map((rate, i) => [d, rate, 1000 + DIRECTIONS.indexOf(d) * 10 + i] as const),
  );
  it.each(cases)('%s at %f', (direction, rate, seed) => {
    const refused = REFUSED[direction][rate];
    const m = judge(direction).metrics[0]!;
    if (refused) {
      // Refused at baseline (the run is not-started, nothing injected), never judged with a clamped null.
      expect(unjudgeable(m, baseline(rate))).toMatch(refused);
      expect(() => startJudge(judge(direction), { m: baseline(rate) })).toThrow(refused);
      return;
    }
    expect(unjudgeable(m, baseline(rate))).toBeUndefined();
    const run = stream(direction, rate, seed);
    expect(run.abort, run.abort?.reason).toBeUndefined();
    expect(run.events).toBe(200_000);
    expect(run.report.metrics[0]!.classification).toBe('pass');
    // Every null is a real rate inside (0, 1), and the healthy rate is on the right side of it.
    for (const t of run.state.metrics[0]!.tests) {
      expect(t.p0).toBeGreaterThan(0);
      expect(t.p0).toBeLessThan(1);
      expect(t.dir === 'up' ? rate : 1 - rate).toBeLessThan(t.p0);
    }
  });
});

describe('a real shift still aborts, in the direction that is judged', () => {
  const shifts: [Direction, number, number][] = [
    ['increase', 0, 0.01],
    ['increase', 0.001, 0.01],
    ['increase', 0.5, 0.9],
    ['increase', 0.999, 1],
    ['decrease', 0.001, 0],
    ['decrease', 0.5, 0.1],
    ['decrease', 0.999, 0.9],
    ['decrease', 1, 0.99],
    ['either', 0.001, 0.01],
    ['either', 0.001, 0],
    ['either', 0.5, 0.9],
    ['either', 0.5, 0.1],
    ['either', 0.999, 1],
    ['either', 0.999, 0.99],
  ];
  it.each(shifts)('%s from %f to %f', (direction, from, to) => {
    const run = stream(direction, from, 7, to);
    expect(run.abort, `no abort over ${run.events} events`).toBeDefined();
    expect(run.abort!.reason).toMatch(
      to > from
        ? /^judged metric m: e-value \S+ reached \S+ \(m\/alpha\): bad-event rate [\d.]+% over \d+ events against at most [\d.]+%$/
        : /^judged metric m: e-value \S+ reached \S+ \(m\/alpha\): bad-event rate fell to [\d.]+% over \d+ events against at least [\d.]+%$/,
    );
    expect(run.report.metrics[0]!.classification).toBe(to > from ? 'high' : 'low');
  });
});

describe('nulls that cannot be tested are refused with the metric and the reason', () => {
  it('no baseline event: refused without maxRate; a fall is refused even with it (maxRate caps only a rise)', () => {
    const empty = baseline(0, 0);
    expect(unjudgeable(judge('increase').metrics[0]!, empty)).toMatch(
      /^metric m: direction increase cannot be judged: no event during the baseline window \(10000 ms\) and no maxRate, so there is nothing to judge against; lengthen judge\.baseline\.window, or set maxRate$/,
    );
    expect(unjudgeable(judge('increase', { maxRate: 0.01 }).metrics[0]!, empty)).toBeUndefined();
    expect(unjudgeable(judge('decrease', { maxRate: 0.01 }).metrics[0]!, empty)).toMatch(
      /^metric m: direction decrease cannot be judged: no event during the baseline window \(10000 ms\), so there is nothing to judge against; lengthen judge\.baseline\.window \(maxRate caps only a rise\)$/,
    );
  });

  it('a maxRate the steady state already exceeds is refused rather than aborting the healthy service', () => {
    expect(unjudgeable(judge('increase', { maxRate: 0.01 }).metrics[0]!, baseline(0.05))).toMatch(
      /^metric m: direction increase cannot be judged: its baseline bad-event rate 5\.00% \(500 of 10000; at least [\d.]+% at 95% confidence\) is already above maxRate 1\.00%/,
    );
    // A baseline inside the cap is judged against it (3 %: twice its bound's odds would be ~6.6 %).
    const s = startJudge(judge('increase', { maxRate: 0.05 }), { m: baseline(0.03) });
    expect(s.metrics[0]!.tests[0]!.p0).toBe(0.05);
  });
});
