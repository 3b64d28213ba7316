// What a Temporal Schedule starts: one scheduled run. It runs the experiment as a child workflow (so the
// UI shows the run under the schedule's action) and, when the verdict is one the schedule pauses on
// (default aborted or refuted, and inconclusive with refuted), pauses its schedule with the reason as the note. Deterministic only.
import { executeChild, ParentClosePolicy, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import type { Journal, Verdict } from '../experiments/journal.ts';
import { WORKFLOW_TYPE, type RunInput } from '../definitions/experiment.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '6m', // every attempt and the pauses between them
  retry: { maximumAttempts: 10 },
});

export const SCHEDULED_RUN_TYPE = 'scheduledRun';

export interface ScheduledRunInput {
  scheduleId: string;
  /** What it runs: an experiment (a game day goes through its own workflow type, see gameday.ts). */
  childType: string;
  childArgs: unknown[];
  title: string;
  pauseOn: Verdict[];
}

export interface ScheduledRunResult {
  child: string;
  verdict?: Verdict;
  reason?: string;
  pausedSchedule: boolean;
}

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

/** The arguments of a scheduled experiment run. */
export function experimentChild(run: RunInput): Pick<ScheduledRunInput, 'childType' | 'childArgs' | 'title'> {
  return { childType: WORKFLOW_TYPE, childArgs: [run], title: run.experiment.title };
}
