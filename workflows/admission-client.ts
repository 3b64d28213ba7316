// How a run passes admission, from inside its workflow: ask (a signal to the admission workflow, answered by
// a signal to the run; update-with-start through an activity when admission does not run yet or does not
// answer); when the refusal is one that can clear (a holder leaves, a slot frees, an approval comes) and the
// run may wait, admission puts it in its queue and tells it (the admissionChanged signal) when its targets are
// reserved for it; the run then asks again. It asks again on its own once an hour (in case admission lost
// it) and once more when its wait is over. A wait of 24 h stays a few hundred history events. Leaves
// admission once its reverts are done. Deterministic only.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import type { AdmitRequest, Decision } from '../experiments/admission.ts';
import { formatMs } from '../faults/duration.ts';
import {
  admissionChangedSignal,
  admissionDecisionSignal,
  admissionWorkflowId,
  admitAskSignal,
} from '../definitions/admission.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  // Bounded as a whole (every attempt and the pauses between them), like every activity of a run.
  scheduleToCloseTimeout: '11m',
  retry: { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 20 },
});

// The asks of a waiting run: no attempt limit (a schedule-to-close per ask bounds them instead).
const asking = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** Runs with this marker wait in admission's queue; runs without it poll (./admission-client.ts before). */
export const DURABLE_WAIT_PATCH = 'admission-durable-wait';
/** A waiting run asks again on its own this often (admission tells it sooner when anything changes). */
export const REASK_EVERY_MS = 60 * 60_000;
/**
 * How long an ask keeps retrying what can pass (the admission workflow busy, continuing as new, its task
 * failing while a worker restarts, the server unreachable), at least: the run's own wait when longer.
 */
export const TRANSIENT_MS = 5 * 60_000;
/**
 * Runs with this marker ask by signal (no in-flight limit: Temporal allows 10 updates in flight per workflow,
 * and a hundred runs asking at once waited a minute); runs without it ask by update as before.
 */
export const ASK_BY_SIGNAL_PATCH = 'admission-ask-by-signal';
/** An ask by signal with no answer by then (an admission worker of older code ignores it) asks by update. */
export const ANSWER_WITHIN_MS = 2 * 60_000;

export async function waitForAdmission(req: AdmitRequest, waitMs: number): Promise<Decision> {
  if (!patched(DURABLE_WAIT_PATCH)) return pollForAdmission(req, waitMs);
  const deadline = Date.now() + waitMs;
  let changed = false;
  setHandler(admissionChangedSignal, () => {
    changed = true;
  });
  const byUpdate = (r: AdmitRequest, left: number) => ask(r, left);
  const askOnce = patched(ASK_BY_SIGNAL_PATCH) ? askBySignal(byUpdate) : byUpdate;
  for (;;) {
    const left = deadline - Date.now();
    changed = false;
    // While there is time left the run joins (or keeps its place in) the queue; the last ask is final.
    const d = await askOnce(left > 0 ? { ...req, waitUntil: new Date(deadline).toISOString() } : req, left);
    if (d.admitted || !d.retryable || left <= 0) return d;
    await condition(() => changed, Math.min(left, REASK_EVERY_MS));
  }
}

/**
 * Asks by signal, numbering its asks; the answer to the latest comes back as a signal. When admission does
 * not run (the signal fails: it has never been started on this queue) or does not answer within
 * ANSWER_WITHIN_MS, that ask goes by update, which starts admission. Asking twice is harmless: admission
 * answers a run it holds or queues with the same decision and never holds or queues it twice.
 */
function askBySignal(byUpdate: (r: AdmitRequest, left: number) => Promise<Decision>) {
  let asks = 0;
  const last: { answer?: Decision } = {};
  setHandler(admissionDecisionSignal, (m) => {
    if (m.ask === asks) last.answer = m.decision;
  });
  const admission = getExternalWorkflowHandle(admissionWorkflowId(workflowInfo().taskQueue));
  return async (r: AdmitRequest, left: number): Promise<Decision> => {
    const n = ++asks;
    last.answer = undefined;
    try {
      await admission.signal(admitAskSignal, { req: r, ask: n });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return byUpdate(r, left);
    }
    if (await condition(() => last.answer !== undefined, ANSWER_WITHIN_MS))
      return (last as { answer: Decision }).answer;
    return byUpdate(r, left);
  };
}

/**
 * One ask. Errors that can pass are retried (the activity's retry policy, without an attempt limit) for
 * the run's wait or TRANSIENT_MS, whichever is longer; then the run does not start, saying why.
 */
async function ask(req: AdmitRequest, leftMs: number): Promise<Decision> {
  const within = Math.max(leftMs, TRANSIENT_MS);
  try {
    return await asking.admitRun.executeWithOptions(
      {
        summary: `admission: ${req.targets.map((t) => t.label).join(', ') || 'no targets'}`,
        scheduleToCloseTimeout: within,
      },
      [req],
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    throw ApplicationFailure.nonRetryable(
      `admission control did not answer within ${formatMs(within)}: ${cause}`,
      'AdmissionUnavailable',
    );
  }
}

/** Runs from before DURABLE_WAIT_PATCH: ask with backoff up to the wait (history grows ~11 events a poll). */
async function pollForAdmission(req: AdmitRequest, waitMs: number): Promise<Decision> {
  const deadline = Date.now() + waitMs;
  let delay = 250;
  for (;;) {
    const d = await control.admitRun.executeWithOptions(
      { summary: `admission: ${req.targets.map((t) => t.label).join(', ') || 'no targets'}` },
      [req],
    );
    if (d.admitted || !d.retryable || Date.now() + delay > deadline) return d;
    await sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), 3_000);
  }
}

/**
 * Not cancellable: a cancelled or aborted run still leaves admission. By workflow ID: a run that continued
 * as new to finish its reverts leaves with the hold its first run took.
 */
export function leaveAdmission(workflowId: string): Promise<void> {
  return CancellationScope.nonCancellable(() =>
    control.releaseRun.executeWithOptions({ summary: 'leave admission' }, [workflowId]),
  );
}
