// What a Temporal Schedule starts: one scheduled run. It runs the experiment as a child workflow (so the
// UI shows the run under the schedule's action) and, when the verdict is one the schedule pauses on
// (default aborted or refuted, and inconclusive with refuted), pauses its schedule with the reason as the note. Deterministic only.
//
//   child running ──its verdict──┬─ one the schedule pauses on ─▶ pause the schedule ─▶ closed (pausedSchedule)
//                                └─ any other ─────────────────────────────────────────▶ closed
import { executeChild, ParentClosePolicy, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import type { Journal, Verdict } from '../experiments/journal.ts';
import type { ScheduledRunInput, ScheduledRunResult } from '../definitions/scheduled.ts';

// The game day's unit tests name these here (they stay unchanged through issue 17's refactor); everything
// else imports definitions/scheduled.ts.
export { SCHEDULED_RUN_TYPE, type ScheduledRunResult } from '../definitions/scheduled.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '6m', // every attempt and the pauses between them
  retry: { maximumAttempts: 10 },
});

export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const child = `${workflowInfo().workflowId}-run`;
  // REQUEST_CANCEL: if this run is terminated, the experiment is cancelled and reverts (never TERMINATE).
  const result = (await executeChild(input.childType, {
    workflowId: child,
    args: input.childArgs,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    staticSummary: `${input.title} (schedule ${input.scheduleId})`,
  })) as Pick<Journal, 'verdict' | 'reason'>;
  let pausedSchedule = false;
  if (result.verdict && pausesOn(input.pauseOn, result.verdict)) {
    await control.pauseSchedule.executeWithOptions({ summary: `pause schedule ${input.scheduleId}` }, [
      input.scheduleId,
      `paused by ${child}: ${result.verdict}: ${result.reason ?? ''}`,
    ]);
    pausedSchedule = true;
  }
  return { child, verdict: result.verdict, reason: result.reason, pausedSchedule };
}

/**
 * Whether a verdict pauses the schedule: one it lists, and inconclusive wherever refuted pauses it (a
 * window the judge could not judge is no more a pass than a refuted one). Only the recorded child result
 * decides, so histories recorded before inconclusive existed replay the same commands.
 */
export function pausesOn(pauseOn: readonly Verdict[], verdict: Verdict): boolean {
  return pauseOn.includes(verdict) || (verdict === 'inconclusive' && pauseOn.includes('refuted'));
}
