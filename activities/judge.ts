// The judge's I/O: measures the baselines during steady state before (and so checks every judged
// expression against the server before anything is injected), and runs the judged ticks during the
// fault window. The statistics are pure (judge/); this file only reads counters and keeps time.
import { InvalidInput } from '../errors.ts';
import { durationMs } from '../faults/duration.ts';
import type { Judge } from '../experiments/schema.ts';
import type { CounterReading } from '../judge/counters.ts';
import {
  baselineOf,
  judgeTick,
  MAX_BASELINE_MS,
  startJudge,
  unjudgeable,
  type Baseline,
  type JudgeState,
} from '../judge/guard.ts';
import { prometheusFor } from './adapters/prometheus.ts';
import { readCounters } from './prometheus-probe.ts';

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

/** Reads every judged metric's counters at once; errors name the metric. */
export async function readAll(j: Judge): Promise<(CounterReading | null)[]> {
  return Promise.all(j.metrics.map((m) => readCounters(prometheusFor(m.url), `judged metric ${m.name}`, m.events)));
}

export interface BaselineResult {
  baselines: Record<string, Baseline | undefined>;
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
): Promise<BaselineResult> {
  const windowMs = durationMs(j.baseline.window);
  const names = j.metrics.map((m) => m.name).join(', ');
  if (windowMs > MAX_BASELINE_MS)
    throw new InvalidInput(
      `judge.baseline.window ${j.baseline.window} (for judged metrics ${names}) is longer than the experiment allows: at most ${MAX_BASELINE_MS / 60_000}m of baseline before any fault`,
    );
  const startedAt = iso();
  const first = await readAll(j);
  heartbeat({ phase: 'baseline', startedAt });
  const end = Date.now() + windowMs;
  while (Date.now() < end && !signal?.aborted) {
    await nap(Math.min(1000, end - Date.now()), signal);
    heartbeat({ phase: 'baseline', startedAt });
  }
  const last = await readAll(j);
  const endedAt = iso();
  const baselines: Record<string, Baseline | undefined> = {};
  j.metrics.forEach((m, i) => {
    const a = first[i];
    const b = last[i];
    baselines[m.name] = a && b ? baselineOf(a, b, j.baseline.confidence, startedAt, endedAt) : undefined;
    const why = unjudgeable(m, baselines[m.name]);
    if (why) throw new InvalidInput(why + (a && b ? '' : ' (its expressions returned no series)'));
  });
  return { baselines };
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
  opts: { resume?: JudgeState; signal?: AbortSignal; beat?: (s: JudgeState) => void; bucketMs?: number },
): Promise<JudgeState> {
  const state = opts.resume ?? startJudge(j, baselines, opts.bucketMs ?? Math.max(1000, durationMs(j.interval)));
  const interval = durationMs(j.interval);
  while (!state.abort && !opts.signal?.aborted) {
    const tick = Date.now();
    // Prometheus not answering mid-window is no data for this tick, not a reason to abort.
    const readings = await readAll(j).catch(() => j.metrics.map(() => null));
    if (opts.signal?.aborted) break;
    const now = Date.now();
    j.metrics.forEach((m, i) => judgeTick(state, m.name, readings[i] ?? null, now));
    opts.beat?.(state);
    if (state.abort || now >= endsAt) break;
    await nap(Math.max(0, Math.min(tick + interval, endsAt) - Date.now()), opts.signal);
  }
  return state;
}
