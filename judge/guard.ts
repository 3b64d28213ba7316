// The judged guard, pure: per judged metric a baseline, a null rate p0, one e-process per watched
// direction, a bounded series; a tick folds one counter reading in and says whether to abort; the final
// report classifies each metric and scores the window (Kayenta's vocabulary). Plain JSON throughout: the
// state travels in heartbeats (a retried guard resumes from it) and the report lands in the journal.
import type { Judge, JudgedMetric } from '../experiments/schema.ts';
import { upperConfidenceBound } from './binomial.ts';
import { classify, score, type Classification, type Scorecard } from './classify.ts';
import { counterDelta, type CounterReading } from './counters.ts';
import { anytimeP, anytimeUpper, logThreshold, startE, updateE, type EState } from './eprocess.ts';
import { addSample, createSeries, type Series } from './series.ts';

/** The longest baseline the steady-state phase may spend measuring (its activity budget). */
export const MAX_BASELINE_MS = 10 * 60_000;

export interface Baseline {
  /** Events and bad events counted over the baseline window. */
  n: number;
  x: number;
  rate: number;
  /** One-sided upper confidence bound of the bad-event rate (Clopper-Pearson). */
  upper: number;
  /** The same for the complement (good-event) rate, for direction decrease. */
  complementUpper: number;
  confidence: number;
  windowMs: number;
  startedAt: string;
  endedAt: string;
}

export function baselineOf(
  first: CounterReading,
  last: CounterReading,
  confidence: number,
  startedAt: string,
  endedAt: string,
): Baseline {
  const d = counterDelta(first, last);
  return {
    n: d.events,
    x: d.bad,
    rate: d.events ? d.bad / d.events : 0,
    upper: upperConfidenceBound(d.events, d.bad, confidence),
    complementUpper: upperConfidenceBound(d.events, d.events - d.bad, confidence),
    confidence,
    windowMs: Date.parse(endedAt) - Date.parse(startedAt),
    startedAt,
    endedAt,
  };
}

/** One watched direction: "up" tests the bad-event rate, "down" the complement (the rate fell). */
export interface DirectionTest {
  dir: 'up' | 'down';
  /** The null: the watched rate is at most p0. */
  p0: number;
  /** A single tick above this rate aborts at once (criticalIncrease). */
  criticalRate?: number;
  e: EState;
  crossedAt?: string;
}

export interface MetricState {
  name: string;
  group: string;
  critical: boolean;
  direction: JudgedMetric['direction'];
  minEvents: number;
  baseline?: Baseline;
  tests: DirectionTest[];
  last?: CounterReading;
  ticks: number;
  noDataTicks: number;
  resets: number;
  series: Series;
}

export interface JudgeState {
  alpha: number;
  /** log of m / alpha, m = number of direction tests over all metrics. */
  logThreshold: number;
  metrics: MetricState[];
  /** The first crossing, which aborts the run. */
  abort?: { metric: string; at: string; reason: string; critical: boolean };
}

const clampRate = (p: number) => Math.min(0.999, Math.max(1e-6, p));

/** p0 of one direction: baseline bound x allowed increase, capped by maxRate; maxRate alone without a baseline. */
function nullRate(m: JudgedMetric, b: Baseline | undefined, dir: 'up' | 'down'): number | undefined {
  const bound = b && b.n > 0 ? (dir === 'up' ? b.upper : b.complementUpper) : undefined;
  const fromBaseline = bound !== undefined ? bound * m.allowedIncrease : undefined;
  const cap = dir === 'up' ? m.maxRate : undefined;
  if (fromBaseline === undefined && cap === undefined) return undefined;
  return clampRate(Math.min(fromBaseline ?? 1, cap ?? 1));
}

/** Why a metric cannot be judged (no baseline events and no maxRate), or undefined. */
export function unjudgeable(m: JudgedMetric, b: Baseline | undefined): string | undefined {
  const dirs: ('up' | 'down')[] =
    m.direction === 'either' ? ['up', 'down'] : m.direction === 'decrease' ? ['down'] : ['up'];
  for (const d of dirs)
    if (nullRate(m, b, d) === undefined)
      return `metric ${m.name}: no event during the baseline window${b ? ` (${Math.round(b.windowMs)} ms)` : ''} and no maxRate, so there is nothing to judge against`;
  return undefined;
}

export function startJudge(j: Judge, baselines: Record<string, Baseline | undefined>, bucketMs = 1000): JudgeState {
  const metrics = j.metrics.map((m): MetricState => {
    const b = baselines[m.name];
    const dirs: ('up' | 'down')[] =
      m.direction === 'either' ? ['up', 'down'] : m.direction === 'decrease' ? ['down'] : ['up'];
    const tests = dirs.map((dir): DirectionTest => {
      const p0 = nullRate(m, b, dir);
      if (p0 === undefined) throw new RangeError(unjudgeable(m, b));
      const bound = b && b.n > 0 ? (dir === 'up' ? b.upper : b.complementUpper) : undefined;
      return {
        dir,
        p0,
        criticalRate: m.criticalIncrease && bound !== undefined ? bound * m.criticalIncrease : undefined,
        e: startE(p0),
      };
    });
    return {
      name: m.name,
      group: m.group ?? m.name,
      critical: m.critical,
      direction: m.direction,
      minEvents: m.minEvents,
      baseline: b,
      tests,
      ticks: 0,
      noDataTicks: 0,
      resets: 0,
      series: createSeries({ events: 'sum', bad: 'sum', logE: 'last', maxLogE: 'max' }, bucketMs, 240),
    };
  });
  const m = metrics.reduce((s, x) => s + x.tests.length, 0);
  return { alpha: j.alpha, logThreshold: logThreshold(j.alpha, m), metrics };
}

/**
 * One tick of one metric: the reading (null when Prometheus had no data or did not answer) is differenced
 * against the previous one and folded into its e-processes. Returns the abort when this tick concludes one.
 * The first reading only sets the starting point.
 */
export function judgeTick(
  s: JudgeState,
  metric: string,
  reading: CounterReading | null,
  nowMs: number,
): JudgeState['abort'] | undefined {
  const m = s.metrics.find((x) => x.name === metric);
  if (!m) throw new RangeError(`unknown judged metric ${metric}`);
  const at = new Date(nowMs).toISOString();
  m.ticks++;
  if (!reading) {
    m.noDataTicks++;
    return undefined;
  }
  if (!m.last) {
    m.last = reading;
    return undefined;
  }
  const d = counterDelta(m.last, reading);
  m.last = reading;
  if (d.reset) m.resets++;
  let abort: JudgeState['abort'];
  for (const t of m.tests) {
    const watched = t.dir === 'up' ? d.bad : d.events - d.bad;
    t.e = updateE(t.e, d.events, watched);
    const what = t.dir === 'up' ? 'bad-event rate' : 'good-event rate fell: complement rate';
    if (!t.crossedAt && t.e.logE >= s.logThreshold) {
      t.crossedAt = at;
      abort ??= {
        metric: m.name,
        at,
        critical: false,
        reason: `judged metric ${m.name}: e-value ${fmtE(t.e.logE)} reached ${fmtE(s.logThreshold)} (m/alpha): ${what} ${pct(t.e.x / t.e.n)} over ${t.e.n} events against at most ${pct(t.p0)}`,
      };
    }
    if (t.criticalRate !== undefined && d.events >= m.minEvents && watched / d.events > t.criticalRate)
      abort ??= {
        metric: m.name,
        at,
        critical: true,
        reason: `judged metric ${m.name}: critical increase: ${what} ${pct(watched / d.events)} in one tick (${d.events} events) > ${pct(t.criticalRate)}`,
      };
  }
  addSample(m.series, nowMs, {
    events: d.events,
    bad: d.bad,
    logE: Math.max(...m.tests.map((t) => t.e.logE)),
    maxLogE: Math.max(...m.tests.map((t) => t.e.maxLogE)),
  });
  if (abort && !s.abort) s.abort = abort;
  return abort;
}

export const fmtE = (logE: number) => {
  const v = Math.exp(logE);
  return v >= 1e6 ? v.toExponential(2) : v >= 100 ? v.toFixed(0) : v.toPrecision(3);
};
const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 3 : 2)}%`;

export interface MetricReport {
  name: string;
  group: string;
  critical: boolean;
  direction: JudgedMetric['direction'];
  classification: Classification;
  baseline?: Baseline;
  tests: {
    dir: 'up' | 'down';
    p0: number;
    n: number;
    x: number;
    e: number;
    logE: number;
    maxE: number;
    pAnytime: number;
    /** Anytime-valid upper bound of the watched rate, at level alpha. */
    upper: number;
    crossedAt?: string;
  }[];
  ticks: number;
  noDataTicks: number;
  resets: number;
  series: Series;
}

export interface JudgeReport {
  alpha: number;
  threshold: number;
  metrics: MetricReport[];
  scorecard: Scorecard;
  abort?: JudgeState['abort'];
}

/** The per-metric classification and the score of the window. */
export function judgeReport(s: JudgeState, j: Pick<Judge, 'groups' | 'thresholds'>): JudgeReport {
  const metrics = s.metrics.map((m): MetricReport => {
    const tests = m.tests.map((t) => ({
      dir: t.dir,
      p0: t.p0,
      n: t.e.n,
      x: t.e.x,
      e: Math.exp(t.e.logE),
      logE: t.e.logE,
      maxE: Math.exp(t.e.maxLogE),
      pAnytime: anytimeP(t.e),
      upper: anytimeUpper(t.e.n, t.e.x, s.alpha),
      crossedAt: t.crossedAt,
    }));
    const crossed = (dir: 'up' | 'down') => m.tests.some((t) => t.dir === dir && t.crossedAt);
    const critical = s.abort?.critical && s.abort.metric === m.name;
    return {
      name: m.name,
      group: m.group,
      critical: m.critical,
      direction: m.direction,
      classification: classify({
        direction: m.direction,
        high: crossed('up') || (!!critical && m.direction !== 'decrease'),
        low: crossed('down') || (!!critical && m.direction === 'decrease'),
        noData: m.tests.every((t) => t.e.n === 0),
      }),
      baseline: m.baseline,
      tests,
      ticks: m.ticks,
      noDataTicks: m.noDataTicks,
      resets: m.resets,
      series: m.series,
    };
  });
  return {
    alpha: s.alpha,
    threshold: Math.exp(s.logThreshold),
    metrics,
    scorecard: score(metrics, j.groups, j.thresholds),
    abort: s.abort,
  };
}
