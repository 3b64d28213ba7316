// The anytime-valid sequential test of one event metric: a Bernoulli mixture e-process against the null
// "bad-event rate at most p0". Pure and workflow-safe (no I/O, no clock, no randomness).
//
//   E_t = sum_j w_j (p_j/p0)^X ((1-p_j)/(1-p0))^(N-X),   odds(p_j) = m_j odds(p0),  m_j in {1.5, 2, 3, 5, 10}
//
// Each component is a likelihood ratio, a nonnegative supermartingale under every rate <= p0, so the
// mixture is too, and by Ville's inequality P(ever E_t >= 1/alpha) <= alpha however often one looks.
// Everything is computed in log space: N runs into the millions over a long window.

export const DEFAULT_MULTIPLIERS = [1.5, 2, 3, 5, 10] as const;

/** Running counts of one metric's test; plain JSON so it can live in heartbeats and the journal. */
export interface EState {
  /** Null rate being tested against. */
  p0: number;
  /** Events seen. */
  n: number;
  /** Bad events seen. */
  x: number;
  /** log E at the current counts. */
  logE: number;
  /** Largest log E seen so far (the anytime p-value uses the running maximum). */
  maxLogE: number;
}

/** log(sum(exp(xs))) without overflow. */
export function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * Alternatives above p0: the null's odds times each multiplier, q/(1-q) = m p0/(1-p0). For a small p0 that is
 * about p0 x m; near 1 it divides the distance to 1 by m. Every alternative stays inside (p0, 1), however
 * close p0 is to 1 (an alternative of 1 would make a single good event fatal).
 */
export function alternatives(p0: number, multipliers: readonly number[] = DEFAULT_MULTIPLIERS): number[] {
  return multipliers.map((m) => (m * p0) / (1 - p0 + m * p0));
}

/** log of one likelihood ratio (q/p)^x ((1-q)/(1-p))^(n-x), with 0 * log 0 = 0. */
function logLR(n: number, x: number, q: number, p: number): number {
  const a = x === 0 ? 0 : x * (Math.log(q) - Math.log(p));
  const b = n - x === 0 ? 0 : (n - x) * (Math.log1p(-q) - Math.log1p(-p));
  return a + b;
}

/** log E of the mixture against "rate <= p0" after x bad events out of n (equal weights by default). */
export function logMixtureE(
  n: number,
  x: number,
  p0: number,
  multipliers: readonly number[] = DEFAULT_MULTIPLIERS,
  weights?: readonly number[],
): number {
  if (!(p0 > 0 && p0 < 1)) throw new RangeError(`null rate p0 must be in (0, 1), got ${p0}`);
  if (n === 0) return 0;
  const alts = alternatives(p0, multipliers);
  const w = weights ?? alts.map(() => 1 / alts.length);
  return logSumExp(alts.map((q, j) => Math.log(w[j] ?? 0) + logLR(n, x, q, p0)));
}

export function startE(p0: number): EState {
  return { p0, n: 0, x: 0, logE: 0, maxLogE: 0 };
}

/** Adds one tick's events. Negative deltas are a caller bug (counter resets are handled before this). */
export function updateE(s: EState, events: number, bad: number): EState {
  if (events < 0 || bad < 0 || bad > events)
    throw new RangeError(`bad tick: ${bad} bad of ${events} events (need 0 <= bad <= events)`);
  const n = s.n + events;
  const x = s.x + bad;
  const logE = logMixtureE(n, x, s.p0);
  return { p0: s.p0, n, x, logE, maxLogE: Math.max(s.maxLogE, logE) };
}

/** The e-value threshold of the guard: m judged metrics at overall level alpha (Bonferroni over metrics). */
export function logThreshold(alpha: number, metrics = 1): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  return Math.log(Math.max(1, metrics)) - Math.log(alpha);
}

/** Anytime-valid p-value: 1 / max_s E_s, capped at 1. */
export function anytimeP(s: Pick<EState, 'maxLogE'>): number {
  return Math.min(1, Math.exp(-s.maxLogE));
}

/**
 * Anytime-valid upper confidence bound of the bad-event rate at level alpha: the smallest q whose
 * test "rate >= q" (a mixture over the alternatives q/m_j) has reached 1/alpha. Each component grows
 * with q, so the rejected set is an interval [u, 1] and bisection finds u.
 */
export function anytimeUpper(n: number, x: number, alpha: number, multipliers = DEFAULT_MULTIPLIERS): number {
  if (n === 0) return 1;
  const target = -Math.log(alpha);
  const logE = (q: number) => {
    const alts = multipliers.map((m) => q / m);
    return logSumExp(alts.map((a) => Math.log(1 / alts.length) + logLR(n, x, a, q)));
  };
  let lo = x / n;
  let hi = 1 - 1e-12;
  if (logE(hi) < target) return 1;
  for (let i = 0; i < 60 && hi - lo > 1e-9; i++) {
    const mid = (lo + hi) / 2;
    if (logE(mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
