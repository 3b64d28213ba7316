// The judge's I/O: measures the baselines during steady state before (and so checks every judged
// expression against the server before anything is injected), and runs the judged ticks during the
// fault window. The statistics are pure (judge/); this file only reads counters and keeps time.
import { InvalidInput } from '../errors.ts';
import { durationMs } from '../faults/duration.ts';
import { GROUP_PLACEHOLDER, type Judge, type JudgedMetric } from '../experiments/schema.ts';
import type { CounterReading } from '../judge/counters.ts';
import type { Groups } from './plan.ts';
import {
  baselineOf,
  judgeTick,
  MAX_BASELINE_MS,
  startJudge,
  noSeriesReason,
  unjudgeable,
  type Baseline,
  type GroupReadings,
  type JudgeState,
} from '../judge/guard.ts';
import { prometheusFor } from './adapters/prometheus.ts';
import { readCounterValues } from './prometheus-probe.ts';

const iso = () => new Date().toISOString();

function nap(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * $GROUP replaced by a regular expression matching exactly the group's container names (dots escaped
 * for a PromQL double-quoted string: Docker names hold only letters, digits, _, . and -).
 */
export function expandGroup(expr: string, members: readonly string[]): string {
  const re = members.map((n) => n.replace(/\./g, '\\\\.')).join('|');
  return expr.split(GROUP_PLACEHOLDER).join(re);
}

function groupEvents(m: JudgedMetric, members: readonly string[]): JudgedMetric['events'] {
  const ev = m.events;
  return {
    total: expandGroup(ev.total, members),
    ...(ev.bad !== undefined ? { bad: expandGroup(ev.bad, members) } : {}),
    ...(ev.good !== undefined ? { good: expandGroup(ev.good, members) } : {}),
  };
}

type CounterValues = Awaited<ReturnType<typeof readCounterValues>>;

/** A judged metric's counters now, from its Prometheus, with the expressions that returned no series. */
export const readMetricNow = (m: JudgedMetric): Promise<CounterValues> =>
  readCounterValues(prometheusFor(m.url), `judged metric ${m.name}`, m.events, m.absentMeansZero);

/** Reads every judged metric's counters at once, with the expressions that returned no series; errors name the metric. */
export async function readAll(j: Judge): Promise<CounterValues[]> {
  return Promise.all(j.metrics.map(readMetricNow));
}

/** Control-group mode: every judged metric read for both groups at once; errors name the metric and group. */
export async function readGroupValues(
  j: Judge,
  g: Groups,
): Promise<{ experiment: CounterValues; control: CounterValues }[]> {
  return Promise.all(
    j.metrics.map(async (m) => {
      const port = prometheusFor(m.url);
      const [experiment, control] = await Promise.all([
        readCounterValues(
          port,
          `judged metric ${m.name} (experiment group)`,
          groupEvents(m, g.experiment),
          m.absentMeansZero,
        ),
        readCounterValues(
          port,
          `judged metric ${m.name} (control group)`,
          groupEvents(m, g.control),
          m.absentMeansZero,
        ),
      ]);
      return { experiment, control };
    }),
  );
}

/** Control-group mode: the readings of readGroupValues. */
export async function readGroups(j: Judge, g: Groups): Promise<GroupReadings[]> {
  return (await readGroupValues(j, g)).map((r) => ({
    experiment: r.experiment.reading,
    control: r.control.reading,
  }));
}

/** A judged metric with no series at baseline is refused (not-started), naming it: no data is never a pass. */
function requireSeries(j: Judge, reads: CounterValues[], when: string): void {
  j.metrics.forEach((m, i) => {
    const r = reads[i];
    if (r && !r.reading) throw new InvalidInput(noSeriesReason(m, r.missing, when));
  });
}

export interface BaselineResult {
  baselines: Record<string, Baseline | undefined>;
  /** Control-group mode: the control group's baselines (baselines are then the experiment group's). */
  controlBaselines?: Record<string, Baseline | undefined>;
}

/**
 * Counts each judged metric's events over the baseline window. Throws InvalidInput (naming the metric)
 * when the window is longer than allowed or a metric has nothing to be judged against, MetricQueryError
 * when the server rejects an expression or it returns several series, InfrastructureError when the
 * server does not answer.
 */
export async function measureBaseline(
  j: Judge,
  heartbeat: (d: unknown) => void,
  signal?: AbortSignal,
  groups?: Groups,
): Promise<BaselineResult> {
  if (groups) return measureGroupBaselines(j, groups, heartbeat, signal);
  const windowMs = durationMs(j.baseline.window);
  const names = j.metrics.map((m) => m.name).join(', ');
  if (windowMs > MAX_BASELINE_MS)
    throw new InvalidInput(
      `judge.baseline.window ${j.baseline.window} (for judged metrics ${names}) is longer than the experiment allows: at most ${MAX_BASELINE_MS / 60_000}m of baseline before any fault`,
    );
  const startedAt = iso();
  const first = await readAll(j);
  requireSeries(j, first, 'at the start of the baseline');
  heartbeat({ phase: 'baseline', startedAt });
  await waitWindow(windowMs, startedAt, heartbeat, signal);
  const last = await readAll(j);
  requireSeries(j, last, 'at the end of the baseline');
  const endedAt = iso();
  const baselines: Record<string, Baseline | undefined> = {};
  j.metrics.forEach((m, i) => {
    const a = first[i]?.reading;
    const b = last[i]?.reading;
    baselines[m.name] = a && b ? baselineOf(a, b, j.baseline.confidence, startedAt, endedAt) : undefined;
    const why = unjudgeable(m, baselines[m.name]);
    if (why) throw new InvalidInput(why);
  });
  return { baselines };
}

/** Waits out the baseline window, heartbeating. */
async function waitWindow(windowMs: number, startedAt: string, heartbeat: (d: unknown) => void, signal?: AbortSignal) {
  const end = Date.now() + windowMs;
  while (Date.now() < end && !signal?.aborted) {
    await nap(Math.min(1000, end - Date.now()), signal);
    heartbeat({ phase: 'baseline', startedAt });
  }
}

/**
 * Control-group mode: both groups over the baseline window (recorded, not used as the null: the control
 * measured over the same ticks is). Every expression must answer for both groups: a group whose
 * expressions return no series is InvalidInput naming the metric, the group and its replicas.
 */
async function measureGroupBaselines(
  j: Judge,
  g: Groups,
  heartbeat: (d: unknown) => void,
  signal?: AbortSignal,
): Promise<BaselineResult> {
  const windowMs = durationMs(j.baseline.window);
  const startedAt = iso();
  const first = await readGroupValues(j, g);
  heartbeat({ phase: 'baseline', startedAt });
  await waitWindow(windowMs, startedAt, heartbeat, signal);
  const last = await readGroupValues(j, g);
  const endedAt = iso();
  const baselines: Record<string, Baseline | undefined> = {};
  const controlBaselines: Record<string, Baseline | undefined> = {};
  j.metrics.forEach((m, i) => {
    for (const which of ['experiment', 'control'] as const) {
      const a = first[i]?.[which];
      const b = last[i]?.[which];
      if (!a?.reading || !b?.reading) {
        const missing = [...(a?.missing ?? []), ...(b?.missing ?? [])].filter(
          (e, k, all) => all.findIndex((x) => x.field === e.field) === k,
        );
        throw new InvalidInput(
          `judged metric ${m.name}: its expressions returned no series for the ${which} group (${g[which].join(', ')}): ${missing.map((e) => `${e.field} ${JSON.stringify(e.expr)}`).join(' and ')}; does ${GROUP_PLACEHOLDER} sit in a label matcher those replicas carry?`,
        );
      }
      (which === 'experiment' ? baselines : controlBaselines)[m.name] = baselineOf(
        a.reading,
        b.reading,
        j.baseline.confidence,
        startedAt,
        endedAt,
      );
    }
  });
  return { baselines, controlBaselines };
}

/**
 * The judged ticks of one fault window: every interval, read every metric and fold it in; stop at the
 * window's end, on cancellation, or at the first crossing (returned in state.abort). Resumes from
 * `resume` (a retried guard's heartbeat). `beat` is called after every tick with the state.
 */
export async function runJudge(
  j: Judge,
  baselines: Record<string, Baseline | undefined>,
  endsAt: number,
  opts: {
    resume?: JudgeState;
    signal?: AbortSignal;
    beat?: (s: JudgeState) => void;
    bucketMs?: number;
    groups?: Groups;
    controlBaselines?: Record<string, Baseline | undefined>;
  },
): Promise<JudgeState> {
  const state =
    opts.resume ??
    startJudge(j, baselines, opts.bucketMs ?? Math.max(1000, durationMs(j.interval)), opts.controlBaselines);
  const groups = opts.groups;
  if (j.controlGroup && !groups) throw new InvalidInput('judge.controlGroup: the run planned no groups');
  const interval = durationMs(j.interval);
  while (!state.abort && !opts.signal?.aborted) {
    const tick = Date.now();
    // A query error or an empty result mid-window is no data for that metric's tick, not a reason to abort;
    // too many of them make the window inconclusive (judgeReport).
    const readings: (CounterReading | GroupReadings | null)[] = await Promise.all(
      j.metrics.map((m) => {
        const one = { ...j, metrics: [m] };
        const read = groups
          ? readGroups(one, groups).then((r) => r[0] ?? null)
          : readAll(one).then((r) => r[0]?.reading ?? null);
        // a metric that cannot be read counts as no data (null), which the judge never reads as passed
        return read.catch(() => null);
      }),
    );
    if (opts.signal?.aborted) break;
    const now = Date.now();
    j.metrics.forEach((m, i) => judgeTick(state, m.name, readings[i] ?? null, now));
    opts.beat?.(state);
    if (state.abort || now >= endsAt) break;
    await nap(Math.max(0, Math.min(tick + interval, endsAt) - Date.now()), opts.signal);
  }
  return state;
}
