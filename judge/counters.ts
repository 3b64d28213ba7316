// Counter differencing for event probes: raw counter values read at each tick, differenced here.
// rate() and increase() are not used because they extrapolate. Pure.

/** Raw counter values: the total, and either the bad or the good events. */
export interface CounterReading {
  total: number;
  /** The second counter's value. */
  part: number;
  /** What the second counter counts. */
  partIs: 'bad' | 'good';
}

export interface CounterDelta {
  events: number;
  bad: number;
  /** A counter went down: the process behind it restarted (Prometheus's own reset rule). */
  reset: boolean;
}

/**
 * Events between two readings. A counter that went down restarted from zero, so its whole current value
 * is new (as Prometheus assumes for a single counter); both counters are taken as restarted together.
 * Never negative; bad events never exceed events (the two expressions are read at slightly different
 * moments, so one can run ahead of the other by a request or two).
 */
export function counterDelta(prev: CounterReading, cur: CounterReading): CounterDelta {
  const reset = cur.total < prev.total || cur.part < prev.part;
  const events = Math.max(0, Math.round(reset ? cur.total : cur.total - prev.total));
  const part = Math.max(0, Math.round(reset ? cur.part : cur.part - prev.part));
  const bad = cur.partIs === 'bad' ? part : events - part;
  return { events, bad: Math.min(events, Math.max(0, bad)), reset };
}

/** One expression's answer: its value, or null when it returned no series. */
export interface ExprValue {
  field: 'events.total' | 'events.bad' | 'events.good';
  expr: string;
  value: number | null;
}

/**
 * A metric's reading from its two expressions' answers, and the expressions that returned no series.
 * absentMeansZero reads a missing expression as 0 (as `or vector(0)` would: a counter that does not exist
 * until its first event) while the other one answers; when neither answers it is no data all the same (a
 * scrape gap or a lost target: zeros there would make the next reading count each counter's whole value
 * again).
 */
export function readingOf(
  total: ExprValue,
  part: ExprValue,
  absentMeansZero = false,
): { reading: CounterReading | null; missing: ExprValue[] } {
  const missing = [total, part].filter((e) => e.value === null);
  const partIs = part.field === 'events.good' ? 'good' : 'bad';
  if (missing.length === 2 || (missing.length && !absentMeansZero)) return { reading: null, missing };
  return { reading: { total: total.value ?? 0, part: part.value ?? 0, partIs }, missing };
}
