// Progressive exposure (runs from patch 'progressive-exposure' on, with a fault that has `exposure`): the fault is
// injected at its first step's share and grows step by step while the guard activity holds its window and
// the judge's e-process watches. A step is judged over its hold: it passes when the guard has not concluded
// by its end; only then is the next step applied (one exposeFault activity per step: the fault's rules updated
// in place under a new lease, never re-added). The first step in effect when the guard concludes is the one
// that failed; the guard reverts at once, and nothing grows after it. Deterministic only.
//
//   waiting ──(its turn, the step before passed)──► running ──(hold over, no conclusion)──► passed
//                                                      │ the guard concluded while in effect ──► failed
//                                                      │ abort / failure / rule gone ──► stopped
//   waiting ──(the exposure ended first)──► not-reached
import { condition, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ExposureStepRecord, GuardViolation, Journal } from '../experiments/journal.ts';
import { exposureOf } from '../experiments/exposure.ts';
import { formatMs } from '../faults/duration.ts';

/** Runs with this marker grow their exposed fault in steps; without it the fault runs at its first step's share. */
export const EXPOSURE_PATCH = 'progressive-exposure';

const exposing = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '2m',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

const now = () => new Date().toISOString();

/**
 * After planning: the journal's exposure record, every step waiting, when the method grows a fault in steps
 * (the patch marker is recorded then). Nothing for every other run.
 */
export function planExposure(j: Journal): void {
  const x = exposureOf(j.experiment);
  if (!x || !patched(EXPOSURE_PATCH)) return;
  const fault = j.faults.findIndex((f) => f.faultIndex === x.faultIndex);
  if (fault < 0) return;
  j.exposure = { fault, steps: x.steps.map((s) => ({ ...s, status: 'waiting' })) };
}

/** What the steps read of the run: whether its window is over and the guard's conclusion. */
export interface ExposureRun {
  journal: Journal;
  over(): boolean;
  violation(): GuardViolation | undefined;
}

/**
 * The steps, beside the fault window: from the inject, each step's hold, then (no conclusion, no abort, the
 * window still open) the next step's share. Ends at the last step, or at the first step that does not pass.
 */
export async function growExposure(run: ExposureRun): Promise<void> {
  const j = run.journal;
  const x = j.exposure;
  const rec = x && j.faults[x.fault];
  if (!x || !rec?.injectedAt || rec.status !== 'injected' || !rec.handle) return;
  const first = x.steps[0] as ExposureStepRecord;
  first.status = 'running';
  first.startedAt = rec.injectedAt;
  // Each step is held its whole hold from when it was applied (workflow time); a late step delays the next,
  // so only the last step, which lasts the rest of the fault's window, is ever shorter.
  let since = Date.now();
  for (let k = 1; k < x.steps.length; k++) {
    const prev = x.steps[k - 1] as ExposureStepRecord;
    const step = x.steps[k] as ExposureStepRecord;
    const due = since + prev.holdMs;
    const stop = () => run.over() || !!run.violation() || !!j.abort || !!j.failure;
    // Judged over its hold: a conclusion (or an abort) ends the exposure here; the window's close marks it.
    if (await condition(stop, Math.max(1, due - Date.now()))) return;
    prev.status = 'passed';
    prev.endedAt = now();
    step.status = 'running';
    const summary = `exposure step ${k + 1} of ${x.steps.length}: ${step.share}% of the traffic for ${formatMs(step.holdMs)} (was ${prev.share}%): ${rec.summary}`;
    try {
      const r = await exposing.exposeFault.executeWithOptions({ summary }, [rec.kind, rec.handle, step.share]);
      if (r.refused || r.missing.length) {
        step.status = 'stopped';
        step.note = r.refused ?? `its rule ${r.missing.join(', ')} was gone (reverted): not put back`;
        return;
      }
      step.startedAt = r.at;
      since = Date.now();
    } catch (err) {
      if (isCancellation(err)) throw err; // an abort: the window's close marks the step
      step.status = 'stopped';
      step.note = `could not apply ${step.share}%: ${err instanceof Error ? err.message : String(err)}`;
      // The hypothesis was not tried at every step: never a pass. The fault stays at the step before until
      // its window ends (or the guard concludes), then is reverted as every fault is.
      j.failure ??= { phase: 'observing', cause: `exposure step ${k + 1} (${step.share}%): ${step.note}`, at: now() };
      return;
    }
  }
}

/**
 * Once the window is over (pure data): the step in effect when the guard concluded failed (by the guard's own
 * detection time), a step applied after that is stopped, and a running step ends passed only when nothing
 * concluded, aborted or failed; every step not begun is not-reached.
 */
export function closeExposure(j: Journal, violation: GuardViolation | undefined): void {
  const x = j.exposure;
  if (!x) return;
  const at = violation ? Date.parse(violation.detectedAt) : undefined;
  const inEffect =
    at === undefined
      ? -1
      : x.steps.reduce((found, s, k) => (s.startedAt && Date.parse(s.startedAt) <= at ? k : found), -1);
  x.steps.forEach((s, k) => {
    if (s.status === 'waiting') s.status = 'not-reached';
    if (s.status !== 'running' && !(k === inEffect && s.status === 'passed')) return;
    s.endedAt ??= violation?.detectedAt ?? j.abort?.at ?? now();
    if (k === inEffect) {
      s.status = 'failed';
      s.note = j.abort?.reason ?? 'the guard concluded';
    } else if (violation || j.abort || j.failure) {
      s.status = 'stopped';
      s.note ??= j.abort?.reason ?? j.failure?.cause ?? 'the guard concluded';
    } else s.status = 'passed';
  });
}

/** The verdict's word on the exposure: which step failed and what it never reached, or that it reached the end. */
export function exposureText(j: Journal): string | undefined {
  const x = j.exposure;
  if (!x) return undefined;
  const n = x.steps.length;
  const failed = x.steps.findIndex((s) => s.status === 'failed');
  const last = x.steps[n - 1];
  const reached = x.steps.filter((s) => s.startedAt).at(-1);
  if (failed >= 0) {
    const s = x.steps[failed] as ExposureStepRecord;
    const next = x.steps[failed + 1];
    return `progressive exposure failed at step ${failed + 1} of ${n} (${s.share}% of the traffic)${next ? `; never reached ${next.share}%` : ''}`;
  }
  if (last?.status === 'passed') return `progressive exposure reached ${last.share}% in ${n} steps, each judged`;
  return reached
    ? `progressive exposure stopped at ${reached.share}% (step ${x.steps.indexOf(reached) + 1} of ${n})`
    : 'progressive exposure never began';
}
