// Timers with sub-millisecond accuracy for toxics that hold data until a due time. Node's setTimeout
// fires up to ~1 ms late; we wake a little early and finish the wait on the check phase, so a 100 ms
// latency toxic is 100 ms, not 101.
import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

/** Toxics read time only through this, so tests can drive them with a manual clock. */
export interface Clock {
  now(): number;
  at(dueAt: number, fn: () => void): Timer;
}

const EARLY_MS = 1.5;

function realAt(dueAt: number, fn: () => void): Timer {
  const now = (): number => performance.now();
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

export const realClock: Clock = { now: () => performance.now(), at: realAt };
let current: Clock = realClock;

export const now = (): number => current.now();
/** Calls fn once at (or just after) `dueAt`, a `now()` timestamp; never synchronously. */
export const at = (dueAt: number, fn: () => void): Timer => current.at(dueAt, fn);

/** Swaps the clock (tests); returns a function that puts the previous one back. */
export function useClock(c: Clock): () => void {
  const prev = current;
  current = c;
  return () => {
    current = prev;
  };
}
