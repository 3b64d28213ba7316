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
import { observedRatio, startTwoSample, updateTwoSample, type TwoSampleState } from './two-sample.ts';

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
  /** Control-group mode: the two-sample test against the control over the same ticks (e mirrors its counts). */
  two?: TwoSampleState;
  crossedAt?: string;
}

/** Control-group mode: one metric read for each group (null: that group's expressions had no data). */
export interface GroupReadings {
  experiment: CounterReading | null;
  control: CounterReading | null;
}

export interface MetricState {
  name: string;
  group: string;
  critical: boolean;
  direction: JudgedMetric['direction'];
  minEvents: number;
  /** Control-group mode: a tick above this times the control's upper bound aborts at once. */
  criticalIncrease?: number;
  baseline?: Baseline;
  /** Control-group mode: the control group's baseline (baseline is then the experiment group's). */
  controlBaseline?: Baseline;
  tests: DirectionTest[];
  last?: CounterReading;
  /** Control-group mode: the control group's previous reading. */
  controlLast?: CounterReading;
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

export function startJudge(
  j: Judge,
  baselines: Record<string, Baseline | undefined>,
  bucketMs = 1000,
  controlBaselines?: Record<string, Baseline | undefined>,
): JudgeState {
  const metrics = j.metrics.map((m): MetricState => {
    const b = baselines[m.name];
    const dirs: ('up' | 'down')[] =
      m.direction === 'either' ? ['up', 'down'] : m.direction === 'decrease' ? ['down'] : ['up'];
    if (j.controlGroup)
      return {
        name: m.name,
        group: m.group ?? m.name,
        critical: m.critical,
        direction: m.direction,
        minEvents: m.minEvents,
        criticalIncrease: m.criticalIncrease,
        baseline: b,
        controlBaseline: controlBaselines?.[m.name],
        // p0 is not fixed here: the null is "at most allowedIncrease x the control's rate" (two-sample.ts).
        tests: dirs.map((dir) => ({
          dir,
          p0: 0,
          e: { p0: 0, n: 0, x: 0, logE: 0, maxLogE: 0 },
          two: startTwoSample(m.allowedIncrease),
        })),
        ticks: 0,
        noDataTicks: 0,
        resets: 0,
        series: createSeries(
          { events: 'sum', bad: 'sum', cEvents: 'sum', cBad: 'sum', logE: 'last', maxLogE: 'max' },
          bucketMs,
          240,
        ),
      };
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
  reading: CounterReading | GroupReadings | null,
  nowMs: number,
): JudgeState['abort'] | undefined {
  const m = s.metrics.find((x) => x.name === metric);
  if (!m) throw new RangeError(`unknown judged metric ${metric}`);
  const at = new Date(nowMs).toISOString();
  m.ticks++;
  if (m.tests[0]?.two) return groupTick(s, m, reading && 'experiment' in reading ? reading : null, nowMs, at);
  if (reading && 'experiment' in reading)
    throw new RangeError(`metric ${metric} is not judged against a control group`);
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
  return record(s, m, nowMs, { events: d.events, bad: d.bad }, abort);
}

/** Adds the tick to the metric's series (with the largest e-value of its tests) and keeps the first abort. */
function record(
  s: JudgeState,
  m: MetricState,
  nowMs: number,
  counts: Record<string, number>,
  abort: JudgeState['abort'],
): JudgeState['abort'] {
  addSample(m.series, nowMs, {
    ...counts,
    logE: Math.max(...m.tests.map((t) => t.e.logE)),
    maxLogE: Math.max(...m.tests.map((t) => t.e.maxLogE)),
  });
  if (abort && !s.abort) s.abort = abort;
  return abort;
}

/** A control-group tick: both groups differenced over the same tick, folded into the two-sample tests. */
function groupTick(
  s: JudgeState,
  m: MetricState,
  r: GroupReadings | null,
  nowMs: number,
  at: string,
): JudgeState['abort'] | undefined {
  if (!r?.experiment || !r.control) {
    m.noDataTicks++;
    return undefined;
  }
  if (!m.last || !m.controlLast) {
    m.last = r.experiment;
    m.controlLast = r.control;
    return undefined;
  }
  const de = counterDelta(m.last, r.experiment);
  const dc = counterDelta(m.controlLast, r.control);
  m.last = r.experiment;
  m.controlLast = r.control;
  if (de.reset || dc.reset) m.resets++;
  let abort: JudgeState['abort'];
  for (const t of m.tests) {
    const two = t.two as TwoSampleState;
    const we = t.dir === 'up' ? de.bad : de.events - de.bad;
    const wc = t.dir === 'up' ? dc.bad : dc.events - dc.bad;
    updateTwoSample(two, { n: de.events, x: we }, { n: dc.events, x: wc });
    const ctlRate = two.control.n ? two.control.x / two.control.n : 0;
    t.p0 = Math.min(1, ctlRate * two.k);
    t.e = { p0: t.p0, n: two.experiment.n, x: two.experiment.x, logE: two.logE, maxLogE: two.maxLogE };
    const what = t.dir === 'up' ? 'bad-event rate' : 'complement (not-good) rate';
    const rates = `experiment group ${what} ${pct(two.experiment.x / Math.max(1, two.experiment.n))} (${two.experiment.x} of ${two.experiment.n}) against control ${pct(ctlRate)} (${two.control.x} of ${two.control.n})`;
    if (!t.crossedAt && two.logE >= s.logThreshold) {
      t.crossedAt = at;
      abort ??= {
        metric: m.name,
        at,
        critical: false,
        reason: `judged metric ${m.name}: e-value ${fmtE(two.logE)} reached ${fmtE(s.logThreshold)} (m/alpha): ${rates}, allowed at most ${two.k} times the control`,
      };
    }
    const crit = m.criticalIncrease;
    if (crit !== undefined && de.events >= m.minEvents && two.control.n > 0) {
      const bound = upperConfidenceBound(two.control.n, two.control.x, 0.95) * crit;
      if (we / de.events > bound)
        abort ??= {
          metric: m.name,
          at,
          critical: true,
          reason: `judged metric ${m.name}: critical increase: experiment group ${what} ${pct(we / de.events)} in one tick (${de.events} events) > ${pct(bound)} (${crit} x the control's upper bound)`,
        };
    }
  }
  return record(s, m, nowMs, { events: de.events, bad: de.bad, cEvents: dc.events, cBad: dc.bad }, abort);
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
  controlBaseline?: Baseline;
  tests: {
    dir: 'up' | 'down';
    p0: number;
    n: number;
    x: number;
    e: number;
    logE: number;
    maxE: number;
    pAnytime: number;
    /** Anytime-valid upper bound of the watched rate, at level alpha (control mode: the experiment group's). */
    upper: number;
    crossedAt?: string;
    /** Control-group mode: both groups over the same ticks; p0 is then allowedRatio x the control's rate. */
    groups?: {
      allowedRatio: number;
      experiment: { n: number; x: number; rate: number };
      control: { n: number; x: number; rate: number };
      /** Experiment rate / control rate (null when the control had no watched event and the experiment had). */
      ratio: number | null;
    };
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
      ...(t.two
        ? {
            groups: {
              allowedRatio: t.two.k,
              experiment: {
                ...t.two.experiment,
                rate: t.two.experiment.n ? t.two.experiment.x / t.two.experiment.n : 0,
              },
              control: { ...t.two.control, rate: t.two.control.n ? t.two.control.x / t.two.control.n : 0 },
              ratio: Number.isFinite(observedRatio(t.two)) ? observedRatio(t.two) : null,
            },
          }
        : {}),
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
      ...(m.controlBaseline ? { controlBaseline: m.controlBaseline } : {}),
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
