// The judged guard, pure: per judged metric a baseline, a null rate p0, one e-process per watched
// direction, a bounded series; a tick folds one counter reading in and says whether to abort; the final
// report classifies each metric and scores the window (Kayenta's vocabulary). Plain JSON throughout: the
// state travels in heartbeats (a retried guard resumes from it) and the report lands in the journal.
import type { JudgeConfig as Judge, JudgedMetricConfig as JudgedMetric } from './config.ts';
import { upperConfidenceBound } from './binomial.ts';
import { classify, score, type Classification, type Scorecard } from './classify.ts';
import { counterDelta, type CounterReading, type ExprValue } from './counters.ts';
import { anytimeP, anytimeUpper, logThreshold, startE, updateE, type EState } from './eprocess.ts';
import { addSample, createSeries, type Series } from './series.ts';
import { budgetText, sloBudget, sloNullRate, type SloBudget } from './budget.ts';
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
  /** A judged SLO: the SLO, the burn rate allowed, and when the judge first and last read the counters. */
  slo?: { target: NonNullable<JudgedMetric['slo']>; maxBurnRate: number; firstAtMs?: number; lastAtMs?: number };
}

export interface JudgeState {
  alpha: number;
  /** log of m / alpha, m = number of direction tests over all metrics. */
  logThreshold: number;
  metrics: MetricState[];
  /** The first crossing, which aborts the run. */
  abort?: { metric: string; at: string; reason: string; critical: boolean };
}

/** Rate r with its odds scaled by k: r/(1-r) x k, back to a rate. About r x k while r is small, below 1 for every r < 1. */
export const scaleOdds = (r: number, k: number): number => (k * r) / (1 - r + k * r);

/** A null rate closer to 1 than this is refused: no healthy stream could be told from it in double precision. */
const MIN_GAP_TO_ONE = 1e-9;

/** The default of a judged metric's maxNoData: the share of its ticks it may have no data for. */
export const DEFAULT_MAX_NO_DATA = 0.1;

/** A share as the language writes it (0..1, or a percentage such as "10%") as a number, or undefined when it is neither. */
export function shareOf(v: number | string | undefined): number | undefined {
  if (typeof v === 'number') return v >= 0 && v <= 1 ? v : undefined;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v) : null;
  const pctValue = m ? Number(m[1]) : NaN;
  return pctValue >= 0 && pctValue <= 100 ? pctValue / 100 : undefined;
}

type Dir = 'up' | 'down';
const dirsOf = (d: JudgedMetric['direction']): Dir[] =>
  d === 'either' ? ['up', 'down'] : d === 'decrease' ? ['down'] : ['up'];

/**
 * The null of one direction. "up" tests the bad-event rate against p0 = the baseline's upper bound with its
 * odds times allowedIncrease (capped by maxRate; maxRate alone without baseline events). "down" tests the
 * complement (the good-event rate) the same way: its odds times allowedIncrease, which is the bad-event
 * rate's odds divided by allowedIncrease. Healthy data has a rate at most the baseline bound (at the
 * baseline's confidence), which is below p0, so the e-process is a test supermartingale for it and Ville
 * bounds the false aborts by alpha. A direction whose watched rate cannot exceed any p0 < 1 (the baseline
 * saw only watched events: a bad-event rate of 100% cannot rise, one of 0% cannot fall) has no null a
 * healthy stream can be told from: it is refused with the reason, never judged against a clamped p0
 * (a clamped p0 below the healthy rate aborts a healthy service).
 */
function nullRate(
  m: JudgedMetric,
  b: Baseline | undefined,
  dir: Dir,
): { p0: number; bound?: number } | { why: string; fix: string } {
  const k = m.allowedIncrease;
  const seen = b && b.n > 0 ? b : undefined;
  const bound = seen ? (dir === 'up' ? seen.upper : seen.complementUpper) : undefined;
  // An SLO's objective is the null itself: the baseline only checks the service met it before any fault.
  const fromBaseline = bound !== undefined && bound < 1 && !m.slo ? scaleOdds(bound, k) : undefined;
  const sloCap = m.slo ? sloNullRate(m.slo.objective, m.maxBurnRate) : undefined;
  const cap = dir === 'up' ? (sloCap ?? m.maxRate) : undefined;
  if (fromBaseline === undefined && cap === undefined) {
    if (!seen)
      return {
        why: `no event during the baseline window${b ? ` (${Math.round(b.windowMs)} ms)` : ''}${dir === 'up' ? ' and no maxRate' : ''}, so there is nothing to judge against`,
        fix:
          dir === 'up'
            ? 'lengthen judge.baseline.window, or set maxRate'
            : 'lengthen judge.baseline.window (maxRate caps only a rise)',
      };
    return dir === 'up'
      ? {
          why: `every one of its ${seen.n} baseline events was bad (bad-event rate 100%), and a rate of 100% cannot rise`,
          fix: 'check which counter is bad and which good, or judge direction: decrease',
        }
      : {
          why: `none of its ${seen.n} baseline events was bad (bad-event rate 0%), and a rate of 0% cannot fall`,
          fix: 'judge direction: increase (a counter that stays at zero can only rise)',
        };
  }
  if (cap !== undefined && seen && seen.n > 0) {
    // The baseline already shows (at its confidence) a rate above the cap: judging would abort a service
    // that is as it was before any fault, blaming the fault.
    const lower = 1 - seen.complementUpper;
    if (lower > cap)
      return {
        why: `its baseline bad-event rate ${pct(seen.rate)} (${seen.x} of ${seen.n}; at least ${pct(lower)} at ${seen.confidence * 100}% confidence) is already above ${m.slo ? `the ${pct(cap)} its SLO ${m.slo.name} allows (objective ${pct(m.slo.objective)}${m.maxBurnRate ? `, maxBurnRate ${m.maxBurnRate}` : ''}): the service burns its error budget too fast before any fault` : `maxRate ${pct(cap)}`}`,
        fix: m.slo
          ? 'judge it once the service meets its objective, or allow a higher maxBurnRate'
          : 'raise maxRate above the steady state, or leave it out to judge against the baseline',
      };
  }
  const p0 = Math.min(fromBaseline ?? 1, cap ?? 1);
  if (!(p0 > 0 && 1 - p0 >= MIN_GAP_TO_ONE))
    return {
      why: `its null rate ${p0} is too close to ${p0 > 0 ? '100%' : '0'} to be told from a healthy stream`,
      fix: 'lower allowedIncrease',
    };
  return { p0, ...(bound !== undefined && bound < 1 ? { bound } : {}) };
}

/** Why a metric cannot be judged in one of its directions (naming the metric, the direction, why and what to do), or undefined. */
export function unjudgeable(m: JudgedMetric, b: Baseline | undefined): string | undefined {
  for (const d of dirsOf(m.direction)) {
    const r = nullRate(m, b, d);
    if ('why' in r) {
      const half = m.direction === 'either' ? ` (its ${d === 'up' ? 'increase' : 'decrease'} half)` : '';
      return `metric ${m.name}: direction ${m.direction}${half} cannot be judged: ${r.why}; ${r.fix}`;
    }
  }
  return undefined;
}

/** Why a judged metric's reading is no data: the expressions that returned no series, named with the fix. */
export function noSeriesReason(
  m: Pick<JudgedMetric, 'name' | 'absentMeansZero'>,
  missing: readonly ExprValue[],
  when: string,
  group = '',
): string {
  const which = missing.map((e) => `${e.field} ${JSON.stringify(e.expr)}`).join(' and ');
  const hint = m.absentMeansZero
    ? 'absentMeansZero reads one missing expression as 0, not all of them: is there a typo in a metric or label name?'
    : 'a typo in a metric or label name, or a counter that does not exist until its first event (then set absentMeansZero: true on the metric)';
  return `judged metric ${m.name}${group}: ${which} returned no series ${when}, so nothing can be judged against it: ${hint}`;
}

export function startJudge(
  j: Judge,
  baselines: Record<string, Baseline | undefined>,
  bucketMs = 1000,
  controlBaselines?: Record<string, Baseline | undefined>,
): JudgeState {
  const metrics = j.metrics.map((m): MetricState => {
    const b = baselines[m.name];
    const dirs = dirsOf(m.direction);
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
      const r = nullRate(m, b, dir);
      if ('why' in r) throw new RangeError(unjudgeable(m, b));
      return {
        dir,
        p0: r.p0,
        criticalRate: m.criticalIncrease && r.bound !== undefined ? scaleOdds(r.bound, m.criticalIncrease) : undefined,
        e: startE(r.p0),
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
      ...(m.slo ? { slo: { target: m.slo, maxBurnRate: m.maxBurnRate ?? 1 } } : {}),
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
    if (m.slo) m.slo.firstAtMs = nowMs;
    return undefined;
  }
  const d = counterDelta(m.last, reading);
  m.last = reading;
  if (m.slo) m.slo.lastAtMs = nowMs;
  if (d.reset) m.resets++;
  let abort: JudgeState['abort'];
  for (const t of m.tests) {
    const watched = t.dir === 'up' ? d.bad : d.events - d.bad;
    t.e = updateE(t.e, d.events, watched);
    // Said in terms of the bad-event rate either way: "down" watches the good events against 1 - p0.
    const rateText = (n: number, w: number, limit: number) =>
      t.dir === 'up'
        ? `bad-event rate ${pct(w / n)} over ${n} events against at most ${pct(limit)}`
        : `bad-event rate fell to ${pct(1 - w / n)} over ${n} events against at least ${pct(1 - limit)}`;
    if (!t.crossedAt && t.e.logE >= s.logThreshold) {
      t.crossedAt = at;
      abort ??= {
        metric: m.name,
        at,
        critical: false,
        reason: `judged metric ${m.name}: e-value ${fmtE(t.e.logE)} reached ${fmtE(s.logThreshold)} (m/alpha): ${rateText(t.e.n, t.e.x, t.p0)}${m.slo && t.dir === 'up' ? `; SLO ${m.slo.target.name} ${budgetText(budgetOf(m, t.e.n, t.e.x, s.alpha))}` : ''}`,
      };
    }
    if (t.criticalRate !== undefined && d.events >= m.minEvents && watched / d.events > t.criticalRate)
      abort ??= {
        metric: m.name,
        at,
        critical: true,
        reason: `judged metric ${m.name}: critical ${t.dir === 'up' ? 'increase' : 'decrease'} in one tick: ${rateText(d.events, watched, t.criticalRate)}`,
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

/** What a judged SLO metric's errors spent of its budget so far. */
function budgetOf(m: MetricState, events: number, errors: number, alpha: number): SloBudget {
  const slo = m.slo as NonNullable<MetricState['slo']>;
  const judgedMs = slo.firstAtMs !== undefined && slo.lastAtMs !== undefined ? slo.lastAtMs - slo.firstAtMs : 0;
  return sloBudget(slo.target, slo.maxBurnRate, {
    events,
    errors,
    judgedMs,
    upperRate: anytimeUpper(events, errors, alpha),
  });
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
  /** The share of ticks this metric may have no data for (maxNoData) before the run is inconclusive. */
  maxNoData?: number;
  resets: number;
  series: Series;
  /** A judged SLO: the error budget the window burned. */
  slo?: SloBudget;
}

/** A judged metric the window says too little about: no data for more than maxNoData of its ticks, or no event. */
export interface NoDataFinding {
  metric: string;
  ticks: number;
  noDataTicks: number;
  maxNoData: number;
  /** Events judged over the window (control-group mode: the experiment group's). */
  events: number;
}

export interface JudgeReport {
  alpha: number;
  threshold: number;
  metrics: MetricReport[];
  scorecard: Scorecard;
  abort?: JudgeState['abort'];
  /** The metrics that make the window inconclusive (see NoDataFinding); empty when every one was judged. */
  inconclusive?: NoDataFinding[];
}

/**
 * The per-metric classification, the score of the window, and the metrics it says too little about: no
 * data (an empty result or a query error) for more than the metric's maxNoData share of its ticks, or no
 * event at all. No data is never a pass: such a window is inconclusive (workflows/verdict.ts).
 */
export function judgeReport(
  s: JudgeState,
  j: Pick<Judge, 'groups' | 'thresholds'> & { metrics?: readonly Pick<JudgedMetric, 'name' | 'maxNoData'>[] },
): JudgeReport {
  const maxNoDataOf = (name: string) =>
    shareOf(j.metrics?.find((x) => x.name === name)?.maxNoData) ?? DEFAULT_MAX_NO_DATA;
  const inconclusive: NoDataFinding[] = [];
  const metrics = s.metrics.map((m): MetricReport => {
    const maxNoData = maxNoDataOf(m.name);
    const events = m.tests[0]?.e.n ?? 0;
    if (m.ticks === 0 || m.noDataTicks / m.ticks > maxNoData || events === 0)
      inconclusive.push({ metric: m.name, ticks: m.ticks, noDataTicks: m.noDataTicks, maxNoData, events });
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
      maxNoData,
      resets: m.resets,
      series: m.series,
      ...(m.slo ? { slo: budgetOf(m, m.tests[0]?.e.n ?? 0, m.tests[0]?.e.x ?? 0, s.alpha) } : {}),
    };
  });
  return {
    alpha: s.alpha,
    threshold: Math.exp(s.logThreshold),
    metrics,
    scorecard: score(metrics, j.groups, j.thresholds),
    abort: s.abort,
    inconclusive,
  };
}
