// bench:faults' pure figures: nearest-rank percentiles of repeated timings, and the accuracy of an effect
// (a measurement far from the value asked is reported as such, a missing one is never "within").
import { describe, expect, it } from 'vitest';
import { accuracy, percentile, spread, toleranceText } from '../../bench/fault-stats.ts';

describe('percentile', () => {
  it('is the nearest rank of the sorted values, whatever their order', () => {
    const xs = [50, 10, 40, 20, 30];
    expect(percentile(xs, 50)).toBe(30);
    expect(percentile(xs, 95)).toBe(50);
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile([7], 95)).toBe(7);
    expect(
      percentile(
        Array.from({ length: 20 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(19);
    expect(xs).toEqual([50, 10, 40, 20, 30]); // not sorted in place
  });

  it('is NaN for no values and refuses a percentile outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(spread([3, 1, 2])).toEqual({ n: 3, p50: 2, p95: 3 });
  });
});

describe('accuracy', () => {
  it('a loss share near the one asked is within its absolute tolerance; one far from it is not', () => {
    expect(accuracy(0.28, 0.3, { abs: 0.07 })).toMatchObject({ within: true, ratio: 0.28 / 0.3 });
    const far = accuracy(0.05, 0.3, { abs: 0.07 });
    expect(far.within).toBe(false);
    expect(far.error).toBeCloseTo(-0.25);
  });

  it('a rate is judged relative to the one asked, in both directions', () => {
    expect(accuracy(7.6e6, 8e6, { rel: 0.1 }).within).toBe(true);
    expect(accuracy(6e6, 8e6, { rel: 0.1 }).within).toBe(false);
    expect(accuracy(9.2e6, 8e6, { rel: 0.1 }).within).toBe(false);
    expect(accuracy(8e6, 8e6, { rel: 0.1 }).ratio).toBe(1);
  });

  it('a missing measurement is never within, and nothing asked has no ratio', () => {
    expect(accuracy(NaN, 0.5, { abs: 1, rel: 1 }).within).toBe(false);
    expect(accuracy(0, 0, { abs: 0.01 })).toMatchObject({ within: true, ratio: NaN });
    expect(accuracy(0.5, 0, { rel: 0.5 }).within).toBe(false);
  });

  it('prints the tolerance in the row unit', () => {
    expect(toleranceText({ abs: 0.07 })).toBe('±0.07');
    expect(toleranceText({ rel: 0.1 })).toBe('±10 %');
    expect(toleranceText({ abs: 5, rel: 0.05 }, ' ms')).toBe('±5 ms or ±5 %');
  });
});
