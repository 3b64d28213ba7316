// The judge's statistics, pure: the mixture e-process, anytime-valid p-value and bound, the baseline
// bound, Kayenta-style classification and score, the bounded series, Mann-Whitney.
import { describe, expect, it } from 'vitest';
import {
  alternatives,
  anytimeP,
  anytimeUpper,
  logMixtureE,
  logThreshold,
  startE,
  updateE,
} from '../../judge/eprocess.ts';
import { binomialCdf, upperConfidenceBound } from '../../judge/binomial.ts';
import { classify, score } from '../../judge/classify.ts';
import { addSample, createSeries } from '../../judge/series.ts';
import { mannWhitneyGreater } from '../../judge/mann-whitney.ts';
import { mulberry32 } from '../../judge/random.ts';
import { binomial } from '../../judge/simulate.ts';
import { counterDelta } from '../../judge/counters.ts';

/** The mixture computed directly (only safe for small n): alternatives at the null's odds times m. */
function directE(n: number, x: number, p0: number): number {
  const ms = [1.5, 2, 3, 5, 10];
  return ms.reduce((s, m) => {
    const q = (m * p0) / (1 - p0 + m * p0);
    return s + (1 / 5) * ((q / p0) ** x * ((1 - q) / (1 - p0)) ** (n - x));
  }, 0);
}

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

describe('mixture e-process', () => {
  it('matches the direct formula for small counts', () => {
    for (const [n, x, p0] of [
      [10, 0, 0.01],
      [50, 3, 0.02],
      [200, 20, 0.05],
      [1, 1, 0.001],
    ] as const)
      expect(logMixtureE(n, x, p0)).toBeCloseTo(Math.log(directE(n, x, p0)), 9);
  });

  it('stays finite in log space where the direct formula overflows', () => {
    const logE = logMixtureE(10_000_000, 200_000, 0.01);
    expect(Number.isFinite(Math.exp(logE))).toBe(false); // the plain value would overflow
    expect(Number.isFinite(logE)).toBe(true);
    expect(logE).toBeGreaterThan(1000);
    expect(Number.isFinite(logMixtureE(10_000_000, 0, 0.01))).toBe(true);
  });

  it('falls with good events and rises with bad ones', () => {
    let s = startE(0.01);
    s = updateE(s, 100, 0);
    expect(s.logE).toBeLessThan(0);
    const before = s.logE;
    s = updateE(s, 10, 5);
    expect(s.logE).toBeGreaterThan(before);
    expect(s.maxLogE).toBeGreaterThanOrEqual(s.logE);
    expect(() => updateE(s, 5, 6)).toThrow(/bad tick/);
    expect(() => updateE(s, -1, 0)).toThrow(/bad tick/);
  });

  it('alternatives are the null odds times m: about p0 x m while small, inside (p0, 1) however close p0 is to 1', () => {
    const small = alternatives(0.001);
    small.forEach((q, j) => expect(Math.abs(q / 0.001 / [1.5, 2, 3, 5, 10][j]! - 1)).toBeLessThan(0.01));
    for (const p0 of [0.5, 0.9, 0.999, 1 - 1e-8]) {
      const qs = alternatives(p0);
      for (const q of qs) {
        expect(q).toBeGreaterThan(p0);
        expect(q).toBeLessThan(1);
      }
      // near 1 each divides the distance to 1 by its multiplier
      if (p0 > 0.99) qs.forEach((q, j) => expect((1 - p0) / (1 - q)).toBeCloseTo([1.5, 2, 3, 5, 10][j]!, 1));
    }
  });

  it('keeps alternatives below 1 when p0 * 10 would reach it', () => {
    expect(Number.isFinite(logMixtureE(100, 30, 0.2))).toBe(true);
    expect(() => logMixtureE(1, 0, 0)).toThrow(/p0/);
  });

  it('anytime p-value is 1 / running max E, and the threshold is m / alpha', () => {
    let s = startE(0.01);
    s = updateE(s, 20, 6);
    const peak = s.maxLogE;
    s = updateE(s, 5000, 0);
    expect(s.logE).toBeLessThan(peak);
    expect(anytimeP(s)).toBeCloseTo(Math.exp(-peak), 12);
    expect(anytimeP(startE(0.01))).toBe(1);
    expect(logThreshold(0.05, 3)).toBeCloseTo(Math.log(60), 12);
  });
});

describe('anytime-valid upper bound of the rate', () => {
  it('is above the observed rate, shrinks with data, and is 1 without data', () => {
    expect(anytimeUpper(0, 0, 0.05)).toBe(1);
    const a = anytimeUpper(100, 5, 0.05);
    const b = anytimeUpper(10_000, 500, 0.05);
    expect(a).toBeGreaterThan(0.05);
    expect(b).toBeGreaterThan(0.05);
    expect(b).toBeLessThan(a);
    expect(b).toBeLessThan(0.065);
  });

  it('covers the true rate at every look in at least 1 - alpha of streams (seed 7)', () => {
    const random = mulberry32(7);
    const p = 0.03;
    let missed = 0;
    for (let s = 0; s < 300; s++) {
      let n = 0;
      let x = 0;
      for (let t = 0; t < 40; t++) {
        n += 25;
        x += binomial(random, 25, p);
        if (anytimeUpper(n, x, 0.05) < p) {
          missed++;
          break;
        }
      }
    }
    expect(missed / 300).toBeLessThanOrEqual(0.05);
  });
});

describe('baseline upper confidence bound (Clopper-Pearson)', () => {
  it('binomial CDF agrees with direct summation', () => {
    for (const [x, n, p] of [
      [0, 10, 0.1],
      [3, 20, 0.2],
      [10, 40, 0.3],
    ] as const) {
      let direct = 0;
      for (let k = 0; k <= x; k++) direct += choose(n, k) * p ** k * (1 - p) ** (n - k);
      expect(binomialCdf(x, n, p)).toBeCloseTo(direct, 10);
    }
  });

  it('is the rate at which seeing so few bad events has probability 1 - level', () => {
    expect(upperConfidenceBound(100, 0, 0.95)).toBeCloseTo(1 - 0.05 ** (1 / 100), 12);
    const u = upperConfidenceBound(100, 5, 0.95);
    expect(binomialCdf(5, 100, u)).toBeCloseTo(0.05, 6);
    expect(u).toBeGreaterThan(0.05);
    expect(upperConfidenceBound(0, 0)).toBe(1);
    expect(upperConfidenceBound(10_000, 100, 0.95)).toBeLessThan(0.0118);
  });
});

describe('classification and score (Kayenta vocabulary)', () => {
  it('classifies by direction', () => {
    expect(classify({ direction: 'increase', high: true, low: false, noData: false })).toBe('high');
    expect(classify({ direction: 'decrease', high: true, low: false, noData: false })).toBe('pass');
    expect(classify({ direction: 'either', high: false, low: true, noData: false })).toBe('low');
    expect(classify({ direction: 'increase', high: true, low: false, noData: true })).toBe('nodata');
  });

  it('weights groups, drops nodata, and a failed critical metric scores 0', () => {
    const card = score(
      [
        { name: 'errors', group: 'errors', critical: false, classification: 'pass' },
        { name: 'slow', group: 'latency', critical: false, classification: 'high' },
        { name: 'p99', group: 'latency', critical: false, classification: 'pass' },
        { name: 'gone', group: 'latency', critical: false, classification: 'nodata' },
      ],
      { errors: 60, latency: 40 },
    );
    expect(card.score).toBe(80); // 60 * 100% + 40 * 50%
    expect(card.result).toBe('marginal');
    const crit = score([
      { name: 'errors', group: 'g', critical: true, classification: 'high' },
      { name: 'b', group: 'g', critical: false, classification: 'pass' },
    ]);
    expect(crit).toMatchObject({ score: 0, result: 'fail', criticalFailed: ['errors'] });
    expect(score([{ name: 'a', group: 'g', critical: false, classification: 'pass' }]).result).toBe('pass');
    expect(score([{ name: 'a', group: 'g', critical: false, classification: 'nodata' }]).result).toBe('nodata');
  });
});

describe('bounded series', () => {
  it('keeps a 24 h run at 250 ms within its bound and loses no events', () => {
    const s = createSeries({ n: 'sum', x: 'sum', logE: 'last', peak: 'max' }, 250, 240);
    const t0 = Date.UTC(2026, 0, 1);
    const samples = (24 * 3600 * 1000) / 250;
    for (let i = 0; i < samples; i++) addSample(s, t0 + i * 250, { n: 10, x: i % 100 === 0 ? 1 : 0, logE: i, peak: i });
    expect(s.buckets.length).toBeLessThanOrEqual(240);
    expect(s.buckets.reduce((a, b) => a + (b.v.n ?? 0), 0)).toBe(samples * 10);
    expect(s.buckets.reduce((a, b) => a + b.n, 0)).toBe(samples);
    expect(s.buckets.at(-1)?.v.logE).toBe(samples - 1);
    expect(JSON.stringify(s).length).toBeLessThan(64 * 1024);
    for (let i = 1; i < s.buckets.length; i++) expect(s.buckets[i]!.t).toBeGreaterThan(s.buckets[i - 1]!.t);
  });
});

describe('Mann-Whitney (fixed horizon)', () => {
  it('finds a shift and not its absence', () => {
    const a = Array.from({ length: 30 }, (_, i) => i % 7);
    expect(mannWhitneyGreater(a, a)).toBeGreaterThan(0.4);
    expect(
      mannWhitneyGreater(
        a,
        a.map((v) => v + 3),
      ),
    ).toBeLessThan(0.001);
    expect(mannWhitneyGreater([], a)).toBe(1);
  });
});

describe('counter differencing', () => {
  it('differences, and treats a counter that went down as restarted from zero', () => {
    expect(counterDelta({ total: 100, part: 5, partIs: 'bad' }, { total: 150, part: 9, partIs: 'bad' })).toEqual({
      events: 50,
      bad: 4,
      reset: false,
    });
    expect(counterDelta({ total: 100, part: 95, partIs: 'good' }, { total: 150, part: 140, partIs: 'good' })).toEqual({
      events: 50,
      bad: 5,
      reset: false,
    });
    expect(counterDelta({ total: 1000, part: 10, partIs: 'bad' }, { total: 30, part: 1, partIs: 'bad' })).toEqual({
      events: 30,
      bad: 1,
      reset: true,
    });
    // a good counter read a moment later than its total never makes bad negative
    expect(counterDelta({ total: 10, part: 10, partIs: 'good' }, { total: 20, part: 21, partIs: 'good' }).bad).toBe(0);
    // a bad counter running ahead never makes bad exceed events
    expect(counterDelta({ total: 10, part: 0, partIs: 'bad' }, { total: 12, part: 3, partIs: 'bad' }).bad).toBe(2);
  });
});
