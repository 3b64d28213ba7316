// The scheduled-run workflow's contract, defined once: its type, input and result, and the input of a
// scheduled experiment, imported alike by the workflow (workflows/scheduled.ts) and the client
// (cli/schedules.ts).
import type { Verdict } from '../experiments/journal.ts';
import { WORKFLOW_TYPE, type RunInput } from './experiment.ts';

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

/** The arguments of a scheduled experiment run. */
export function experimentChild(run: RunInput): Pick<ScheduledRunInput, 'childType' | 'childArgs' | 'title'> {
  return { childType: WORKFLOW_TYPE, childArgs: [run], title: run.experiment.title };
}
