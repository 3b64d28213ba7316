// Pure figures of bench:faults: percentiles of repeated timings, and how far a measured effect is from the
// one asked (ratio, error, and whether it is within the tolerance the row states). No I/O.

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. With 5 values p95 is the largest. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export interface Spread {
  n: number;
  p50: number;
  p95: number;
}

export function spread(values: readonly number[]): Spread {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95) };
}

/**
 * The tolerance a row is judged by: `abs` in the effect's own unit (a loss share of 0.3 ± 0.07), `rel` as a
 * share of the asked value (a rate within 10 %). With both, either one suffices.
 */
export interface Tolerance {
  abs?: number;
  rel?: number;
}

export interface Accuracy {
  asked: number;
  measured: number;
  /** measured / asked (NaN when nothing was asked). */
  ratio: number;
  /** measured - asked, in the effect's unit. */
  error: number;
  /** Whether the error is within the tolerance; false when the measurement is missing. */
  within: boolean;
}

export function accuracy(measured: number, asked: number, tol: Tolerance): Accuracy {
  const error = measured - asked;
  const ratio = asked === 0 ? NaN : measured / asked;
  const ok =
    Number.isFinite(measured) &&
    ((tol.abs !== undefined && Math.abs(error) <= tol.abs) ||
      (tol.rel !== undefined && asked !== 0 && Math.abs(error) <= tol.rel * Math.abs(asked)));
  return { asked, measured, ratio, error, within: ok };
}

/** The tolerance as the table prints it, in the row's unit: "±0.07", "±10 %", "±0.07 or ±10 %". */
export function toleranceText(tol: Tolerance, unit = ''): string {
  const parts: string[] = [];
  if (tol.abs !== undefined) parts.push(`±${tol.abs}${unit}`);
  if (tol.rel !== undefined) parts.push(`±${Math.round(tol.rel * 100)} %`);
  return parts.join(' or ');
}
