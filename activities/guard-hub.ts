// The worker's own line from an inject to its run's guard (one per process, so a host's agent Worker in the
// same process shares it): an inject activity notes the moment it applied a fault, and the guard of that run,
// started with the intents (workflows/experiment.ts 'guard-starts-with-intents'), learns it at once instead
// of a workflow task later. A guard whose injects ran in another process learns them from its run (the
// guardRecord query), the durable record; this is only the fast path, never the only one.

/** A fault applied by an inject: its index in the run's journal, when its inject completed (ISO), its handle. */
export interface Applied {
  index: number;
  at: string;
  handle: Record<string, unknown>;
}

interface RunEntry {
  applied: Map<number, Applied>;
  listeners: Set<() => void>;
  touched: number;
}

/** A run's entry is forgotten this long after it was last used (its guard has long taken it). */
const KEEP_MS = 60 * 60_000;
const runs = new Map<string, RunEntry>();

const keyOf = (workflowId: string, runId: string) => `${workflowId}\u0000${runId}`;

function entry(key: string): RunEntry {
  let e = runs.get(key);
  if (!e) runs.set(key, (e = { applied: new Map(), listeners: new Set(), touched: Date.now() }));
  e.touched = Date.now();
  return e;
}

function forgetOld(now: number): void {
  for (const [k, e] of runs) if (now - e.touched > KEEP_MS && !e.listeners.size) runs.delete(k);
}

/** An inject applied fault `index` of run (workflowId, runId) at `at`; its guard hears of it at once. */
export function noteApplied(workflowId: string | undefined, runId: string | undefined, a: Applied): void {
  if (!workflowId || !runId) return;
  forgetOld(Date.now());
  const e = entry(keyOf(workflowId, runId));
  if (e.applied.has(a.index)) return; // a retried inject reports its recorded time again
  e.applied.set(a.index, a);
  for (const l of [...e.listeners]) l();
}

/** What this process's injects applied for the run so far, by fault index. */
export function appliedIn(workflowId: string, runId: string): Map<number, Applied> {
  return new Map(runs.get(keyOf(workflowId, runId))?.applied);
}

/** Calls `fn` whenever an inject of the run is noted here; returns the unsubscribe. */
export function onApplied(workflowId: string, runId: string, fn: () => void): () => void {
  const e = entry(keyOf(workflowId, runId));
  e.listeners.add(fn);
  return () => {
    e.listeners.delete(fn);
    e.touched = Date.now();
  };
}
