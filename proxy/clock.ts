// Timers with sub-millisecond accuracy for toxics that hold data until a due time. Node's setTimeout
// fires up to ~1 ms late; we wake a little early and finish the wait on the check phase, so a 100 ms
// latency toxic is 100 ms, not 101.
import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

export interface Timer {
  cancel(): void;
}

const EARLY_MS = 1.5;

/** Calls fn once at (or just after) `dueAt`, a `now()` timestamp. */
export function at(dueAt: number, fn: () => void): Timer {
  let cancelled = false;
  let t: NodeJS.Timeout | undefined;
  let im: NodeJS.Immediate | undefined;
  const spin = (): void => {
    im = undefined;
    if (cancelled) return;
    if (now() >= dueAt) fn();
    else im = setImmediate(spin);
  };
  const wait = dueAt - now() - EARLY_MS;
  if (wait > 0) t = setTimeout(spin, wait);
  else im = setImmediate(spin);
  return {
    cancel() {
      cancelled = true;
      if (t) clearTimeout(t);
      if (im) clearImmediate(im);
    },
  };
}
