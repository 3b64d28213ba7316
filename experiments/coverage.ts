// Guard coverage: how much of each fault window the guard watched, against its schedule. Pure and
// workflow-safe: the guard activity folds each sample in (its state is heartbeated, so a retried guard
// resumes the count and the span it was gone counts as unwatched), and the workflow closes the count against
// the windows' ends, so the span after the last sample counts too, whoever ran (or did not run) the guard.
//
// The schedule: a sample is due every `cadence` from the first fault's inject (slot 0) until the last
// window's end (a slot less than ON_TIME_MS before the end is not due); a sample is on time when it starts
// within ON_TIME_MS of its slot. The guard sees the system at each sample's start and end and, while a sample
// is in flight, every SEEN_EVERY_MS its process runs (a slow probe is watching; a stalled or dead process is
// not); each such moment watches from ON_TIME_MS before it until one cadence and ON_TIME_MS after. A gap is
// the time between two such moments (or from the first window's start, or to the last window's end); a gap
// longer than maxGap is blind: while a fault is still active the guard concludes on it (the faults are
// reverted), after the window the run is inconclusive.
import type { CoverageState, GuardCoverage } from './journal.ts';
import type { Guard } from './schema.ts';
import { durationMs } from '../faults/duration.ts';

/** A sample within this many ms of its slot is on time. */
export const ON_TIME_MS = 50;
/** How often a guard with a sample in flight marks that it still sees (its process runs). */
export const SEEN_EVERY_MS = 100;
/** guard.maxGap's default: this many cadences, and at least MIN_DEFAULT_MAX_GAP_MS. */
export const DEFAULT_MAX_GAP_CADENCES = 3;
export const MIN_DEFAULT_MAX_GAP_MS = 1_000;
/** guard.minCoverage's default. */
export const DEFAULT_MIN_COVERAGE = 0.95;

/** A fault window, epoch ms: from its inject to its own end. */
export interface CoverageWindow {
  fault: number;
  from: number;
  to: number;
}

export interface CoveragePlan {
  cadenceMs: number;
  maxGapMs: number;
  minCoverage: number;
  windows: CoverageWindow[];
}

/**
 * The guard's cadence: its interval, or the longest fixed measuring time of its probes when that is longer
 * (an events probe counts for its `window`, an http probe with `duration` sends for that long).
 */
export function guardCadenceMs(g: Guard): number {
  const fixed = g.probes.map((p) =>
    p.type === 'prometheus'
      ? p.events
        ? durationMs(p.window)
        : 0
      : p.duration !== undefined
        ? durationMs(p.duration)
        : 0,
  );
  return Math.max(durationMs(g.interval), ...fixed);
}

/** guard.maxGap, or its default: three cadences, at least 1 s. */
export function guardMaxGapMs(g: Guard): number {
  if (g.maxGap !== undefined) return durationMs(g.maxGap);
  return Math.max(DEFAULT_MAX_GAP_CADENCES * guardCadenceMs(g), MIN_DEFAULT_MAX_GAP_MS);
}

export function coveragePlan(g: Guard, windows: CoverageWindow[]): CoveragePlan {
  return {
    cadenceMs: guardCadenceMs(g),
    maxGapMs: guardMaxGapMs(g),
    minCoverage: g.minCoverage ?? DEFAULT_MIN_COVERAGE,
    windows,
  };
}

export function startCoverage(plan: CoveragePlan): CoverageState {
  const anchor = Math.min(...plan.windows.map((w) => w.from));
  const end = Math.max(...plan.windows.map((w) => w.to));
  return {
    anchor,
    end,
    cadenceMs: plan.cadenceMs,
    maxGapMs: plan.maxGapMs,
    taken: 0,
    onTime: 0,
    lastSlot: -1,
    watchedUntil: anchor,
    watched: plan.windows.map(() => 0),
  };
}

const overlap = (a: number, b: number, from: number, to: number) => Math.max(0, Math.min(b, to) - Math.max(a, from));

/** The gap open at `at`: from the last moment the guard saw (or the schedule's start) to `at`, inside the windows. */
export function openGap(st: CoverageState, at: number): { ms: number; from: number; to: number } {
  const from = Math.min(Math.max(st.lastSeen ?? st.anchor, st.anchor), st.end);
  const to = Math.min(at, st.end);
  return { ms: Math.max(0, to - from), from, to: Math.max(from, to) };
}

/**
 * The gap open at `now` when it is longer than maxGap and a fault window is still open (so there is
 * something to revert for it); the guard concludes on it.
 */
export function blindNow(
  plan: CoveragePlan,
  st: CoverageState,
  now: number,
): { ms: number; from: number; to: number } | undefined {
  if (now >= st.end || !plan.windows.some((w) => now < w.to)) return undefined;
  const g = openGap(st, now);
  return g.ms > plan.maxGapMs ? g : undefined;
}

function noteGap(plan: CoveragePlan, st: CoverageState, g: { ms: number; from: number; to: number }): void {
  if (!st.longestGap || g.ms > st.longestGap.ms) st.longestGap = g;
  if (!st.blind && g.ms > plan.maxGapMs) st.blind = g;
}

/**
 * The guard saw the system at `t` (a sample's start or end, or a sample in flight while its process runs):
 * closes the gap since the last such moment and watches from 50 ms before `t` to one cadence and 50 ms after.
 */
export function seen(plan: CoveragePlan, st: CoverageState, t: number): void {
  if (st.lastSeen !== undefined && t <= st.lastSeen) return;
  noteGap(plan, st, openGap(st, t));
  const a = Math.max(t - ON_TIME_MS, st.watchedUntil);
  const b = t + plan.cadenceMs + ON_TIME_MS;
  if (b > a) {
    plan.windows.forEach((w, i) => {
      st.watched[i] = (st.watched[i] ?? 0) + overlap(a, b, w.from, w.to);
    });
    st.watchedUntil = b;
  }
  st.lastSeen = t;
}

/** Counts a completed sample against the schedule: the slot it started in, and whether it was on time. */
export function countSample(plan: CoveragePlan, st: CoverageState, start: number, finish = start): void {
  st.slowestMs = Math.max(st.slowestMs ?? 0, finish - start);
  if (start >= st.end) return; // after the last window: nothing was due
  const slot = Math.max(0, Math.floor((start - st.anchor) / plan.cadenceMs));
  if (slot > st.lastSlot) {
    st.taken++;
    st.lastOnTime = start - (st.anchor + slot * plan.cadenceMs) <= ON_TIME_MS;
    if (st.lastOnTime) st.onTime++;
    st.lastSlot = slot;
  }
}

/** A sample that started at `start` and completed at `finish`: the guard saw at both, and it is counted. */
export function sampled(plan: CoveragePlan, st: CoverageState, start: number, finish = start): void {
  seen(plan, st, start);
  seen(plan, st, finish);
  countSample(plan, st, start, finish);
}

/** When the next sample is due: the slot after the last one taken (at once when that slot has passed). */
export function nextSampleAt(plan: CoveragePlan, st: CoverageState): number {
  return st.anchor + (st.lastSlot + 1) * plan.cadenceMs;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The record of a guard's coverage: the schedule up to the last window's end, or up to `cutoff` (the guard
 * concluded: nothing was due after it). The span from the last sample to the end counts, whether or not a
 * guard was running then.
 */
export function closeCoverage(plan: CoveragePlan, state: CoverageState, cutoff?: number): GuardCoverage {
  const st: CoverageState = { ...state, watched: [...state.watched] }; // noteGap replaces, never mutates, its gaps
  const end = Math.max(st.anchor, Math.min(st.end, cutoff ?? Infinity));
  noteGap(plan, st, openGap(st, end));
  // A slot is due when its sample could start on time before the end (a window ending within 50 ms of a
  // slot does not call for it).
  const due = Math.max(0, Math.ceil((end - st.anchor - ON_TIME_MS) / plan.cadenceMs));
  // A sample in a slot that was not due (the last one, less than 50 ms before the end) is not counted.
  if (st.lastSlot >= due && st.taken > 0) {
    st.taken--;
    if (st.lastOnTime) st.onTime--;
  }
  const windows = plan.windows.map((w, i) => {
    const to = Math.max(w.from, Math.min(w.to, end));
    // What was counted past the end (a sample watches ahead) did not happen.
    const past = st.watchedUntil > end ? overlap(end, st.watchedUntil, w.from, w.to) : 0;
    const watchedMs = Math.min(to - w.from, Math.max(0, (st.watched[i] ?? 0) - past));
    return {
      fault: w.fault,
      from: iso(w.from),
      to: iso(to),
      watchedMs,
      share: to > w.from ? watchedMs / (to - w.from) : 1,
    };
  });
  const gap = (g: { ms: number; from: number; to: number }) => ({ ms: g.ms, from: iso(g.from), to: iso(g.to) });
  return {
    ...(st.slowestMs !== undefined ? { slowestSampleMs: st.slowestMs } : {}),
    intervalMs: plan.cadenceMs,
    maxGapMs: plan.maxGapMs,
    minCoverage: plan.minCoverage,
    from: iso(st.anchor),
    to: iso(end),
    due,
    taken: Math.min(st.taken, due),
    onTime: Math.min(st.onTime, st.taken, due),
    longestGap: gap(st.longestGap ?? { ms: 0, from: st.anchor, to: st.anchor }),
    ...(st.blind ? { blind: gap(st.blind) } : {}),
    windows,
    share: Math.min(1, ...windows.map((w) => w.share)),
  };
}

/** Unwatched time a short window may always have (the guard starts a workflow task after the inject). */
export const START_ALLOWANCE_MS = 500;

/**
 * Whether a window was watched for less than minCoverage. A short window may always miss one cadence, and
 * at least START_ALLOWANCE_MS, but never more than half of it: the guard's own start (a workflow task after
 * the inject, 80-300 ms measured) is a share of a 1 s window that no guard could meet.
 */
export function belowCoverage(
  c: Pick<GuardCoverage, 'minCoverage' | 'intervalMs'>,
  w: GuardCoverage['windows'][number],
): boolean {
  const len = Date.parse(w.to) - Date.parse(w.from);
  const allowed = Math.max((1 - c.minCoverage) * len, Math.min(Math.max(c.intervalMs, START_ALLOWANCE_MS), len / 2));
  return w.share < c.minCoverage && len - w.watchedMs > allowed;
}

/**
 * Why a closed coverage record does not let the run pass, or undefined when it does: a gap longer than
 * maxGap, or a window watched for less than minCoverage (beyond a short window's allowance). Samples taken against those due
 * are recorded, not enforced: a slow sample makes the next ones late, but the guard watched while it ran.
 */
export function coverageShortfall(c: GuardCoverage): string | undefined {
  const pct = (x: number) => `${+(x * 100).toFixed(1)}%`;
  const s = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${+(ms / 1000).toFixed(1)} s`);
  const why: string[] = [];
  if (c.blind)
    why.push(
      `the guard saw nothing for ${s(c.blind.ms)} (${c.blind.from} to ${c.blind.to}), longer than guard.maxGap ${s(c.maxGapMs)}`,
    );
  const low = c.windows.filter((w) => belowCoverage(c, w));
  if (low.length) {
    const w = low.reduce((a, b) => (b.share < a.share ? b : a));
    why.push(
      `the guard watched ${pct(w.share)} of fault ${w.fault}'s window${low.length > 1 ? ` (and ${low.length - 1} more windows below)` : ''}, less than guard.minCoverage ${pct(c.minCoverage)}`,
    );
  }
  if (why.length && c.due > 0) why.push(`it took ${c.taken} of the ${c.due} samples due`);
  return why.length ? why.join('; ') : undefined;
}
