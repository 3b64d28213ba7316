// Prometheus probes: the events form (raw counters read at the start and end of a window, differenced)
// and the query form (a gauge checked against min and max). Every expression must answer with exactly
// one series; errors name the probe and the expression.
import { MetricQueryError } from '../errors.ts';
import { durationMs } from '../faults/duration.ts';
import type { PrometheusProbe } from '../experiments/schema.ts';
import type { ProbeSample } from '../experiments/journal.ts';
import { counterDelta, readingOf, type CounterReading, type ExprValue } from '../judge/counters.ts';
import { prometheusFor, type MetricsPort, type MetricSeries } from './adapters/prometheus.ts';

const who = (name: string) => (name.includes(' ') ? name : `probe ${name}`);

function labelsText(s: MetricSeries): string {
  const l = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`);
  return `{${l.join(',')}}`;
}

/** One value, or null when the expression answered nothing; several series are an error. `probe` names the
 * probe or judged metric in every message ("probe front-ok", or a bare name that becomes "probe NAME"). */
export async function readOne(
  port: MetricsPort,
  probe: string,
  field: string,
  expr: string,
  atMs?: number,
): Promise<number | null> {
  let series: MetricSeries[];
  try {
    series = await port.instant(expr, atMs);
  } catch (e) {
    (e as Error).message = `${who(probe)}: ${field}: ${(e as Error).message}`;
    throw e;
  }
  if (series.length > 1)
    throw new MetricQueryError(
      `${who(probe)}: ${field} ${JSON.stringify(expr)} returned ${series.length} series (${series
        .slice(0, 3)
        .map(labelsText)
        .join(', ')}${series.length > 3 ? ', ...' : ''}); it must return exactly one: aggregate it, e.g. sum(...)`,
    );
  const v = series[0]?.value;
  return v === undefined || Number.isNaN(v) ? null : v;
}

export interface EventsSpec {
  total: string;
  bad?: string;
  good?: string;
}

/**
 * Both raw counters: the reading (null when it is no data, see readingOf) and the expressions that
 * returned no series. absentMeansZero reads one missing expression as 0 while the other answers.
 */
export async function readCounterValues(
  port: MetricsPort,
  probe: string,
  ev: EventsSpec,
  absentMeansZero = false,
): Promise<{ reading: CounterReading | null; missing: ExprValue[] }> {
  const field = ev.bad !== undefined ? 'events.bad' : 'events.good';
  const partExpr = (ev.bad ?? ev.good) as string;
  const [total, part] = await Promise.all([
    readOne(port, probe, 'events.total', ev.total),
    readOne(port, probe, field, partExpr),
  ]);
  return readingOf(
    { field: 'events.total', expr: ev.total, value: total },
    { field, expr: partExpr, value: part },
    absentMeansZero,
  );
}

/** Both raw counters, or null when either answered nothing (absentMeansZero: when neither did). */
export async function readCounters(
  port: MetricsPort,
  probe: string,
  ev: EventsSpec,
  absentMeansZero = false,
): Promise<CounterReading | null> {
  return (await readCounterValues(port, probe, ev, absentMeansZero)).reading;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

function sample(p: PrometheusProbe, fields: Partial<ProbeSample>): ProbeSample {
  return {
    probe: p.name,
    at: new Date().toISOString(),
    ok: true,
    requests: 0,
    errors: 0,
    errorRate: 0,
    p50Ms: 0,
    p95Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    violations: [],
    errorSamples: [],
    ...fields,
  };
}

export async function runPrometheusProbe(p: PrometheusProbe, signal?: AbortSignal): Promise<ProbeSample> {
  const port = prometheusFor(p.url);
  const noData = (why: string): ProbeSample =>
    sample(p, { ok: p.noData === 'pass', violations: p.noData === 'pass' ? [] : [`no data: ${why}`], errorRate: 0 });
  if (p.query !== undefined) {
    const v = await readOne(port, p.name, 'query', p.query);
    if (v === null) return noData(`query ${JSON.stringify(p.query)} returned no series`);
    const violations: string[] = [];
    if (p.min !== undefined && v < p.min) violations.push(`value ${v} < min ${p.min}`);
    if (p.max !== undefined && v > p.max) violations.push(`value ${v} > max ${p.max}`);
    return sample(p, { value: v, ok: violations.length === 0, violations });
  }
  const ev = p.events as EventsSpec;
  const first = await readCounters(port, p.name, ev);
  if (!first) return noData('an events expression returned no series');
  await sleep(durationMs(p.window), signal);
  const second = await readCounters(port, p.name, ev);
  if (!second) return noData('an events expression returned no series');
  const d = counterDelta(first, second);
  if (d.events === 0) return noData(`no event in ${p.window}`);
  const rate = d.bad / d.events;
  const violations: string[] = [];
  const max = p.maxBadRate ?? 1;
  if (rate > max) violations.push(`bad-event rate ${(rate * 100).toFixed(2)}% > ${(max * 100).toFixed(2)}%`);
  return sample(p, { requests: d.events, errors: d.bad, errorRate: rate, ok: violations.length === 0, violations });
}
