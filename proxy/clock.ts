// Timers with sub-millisecond accuracy for toxics that hold data until a due time. Node's setTimeout
// fires up to ~1 ms off; we wake a little early and finish the wait by polling the event loop, so a
// 100 ms latency toxic is 100 ms, not 101. One shared polling chain serves every near-due timer and
// the after-traffic warm-up (see link.ts), so polling costs one Immediate per loop turn, not one per
// timer (each allocation counts: garbage collection pauses are latency too).
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

interface Entry {
  due: number;
  fn: () => void;
  cancelled: boolean;
  timeout: NodeJS.Timeout | undefined;
}

let near: Entry[] = []; // due within EARLY_MS, fired by the polling chain
let nearest = Infinity; // earliest due in `near`
let warmUntil = 0;
let polling = false;
// While a timer is near, each loop turn also busy-waits up to this long (or until it is due): one
// Immediate per slice instead of one per few µs keeps the allocation rate, and so garbage collection
// pauses, low; I/O waits at most this long.
const SLICE_MS = 0.02;

function poll(): void {
  let t = performance.now();
  if (nearest - t < EARLY_MS) {
    // a timer is close: wait for it here a little (only warm polling never blocks I/O)
    const sliceEnd = t + SLICE_MS;
    while (t < nearest && t < sliceEnd) t = performance.now();
  }
  if (t >= nearest) {
    const fire: Entry[] = [];
    const keep: Entry[] = [];
    nearest = Infinity;
    for (const e of near) {
      if (e.cancelled) continue;
      if (e.due <= t) fire.push(e);
      else {
        keep.push(e);
        if (e.due < nearest) nearest = e.due;
      }
    }
    near = keep;
    if (fire.length > 1) fire.sort((a, b) => a.due - b.due);
    for (const e of fire) if (!e.cancelled) e.fn();
  }
  if (near.length || performance.now() < warmUntil) setImmediate(poll);
  else {
    polling = false;
    nearest = Infinity;
  }
}

function startPolling(): void {
  if (polling) return;
  polling = true;
  setImmediate(poll);
}

/** Keep polling the event loop for `ms` more (after traffic): catches the next packet awake. */
export function keepWarm(ms: number): void {
  const until = performance.now() + ms;
  if (until > warmUntil) warmUntil = until;
  startPolling();
}

function realAt(dueAt: number, fn: () => void): Timer {
  const e: Entry = { due: dueAt, fn, cancelled: false, timeout: undefined };
  const toNear = (): void => {
    e.timeout = undefined;
    if (e.cancelled) return;
    near.push(e);
    if (e.due < nearest) nearest = e.due;
    startPolling();
  };
  const wait = dueAt - performance.now() - EARLY_MS;
  if (wait > 0) e.timeout = setTimeout(toNear, wait);
  else toNear();
  return {
    cancel() {
      e.cancelled = true;
      if (e.timeout) clearTimeout(e.timeout);
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
