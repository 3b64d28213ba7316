// The workflows of the game-day unit tests: the real runGameDay and scheduledRun, and a stand-in for the
// experiment child (`runExperiment`) whose verdict and duration its experiment's title says:
// "<verdict>[ after <duration>]", e.g. "refuted", "passed after 2h". Cancelled, it ends `aborted` as the real
// experiment workflow does (it reverts and returns its journal). "hangs" waits, with no timer, until it is
// cancelled (so a test can act while it runs even as the test server skips time). Deterministic only.
import { CancellationScope, condition, isCancellation, sleep, workflowInfo } from '@temporalio/workflow';
import type { RunInput } from '../../definitions/experiment.ts';
import type { Verdict } from '../../experiments/journal.ts';

export { runGameDay } from '../../workflows/gameday.ts';
export { scheduledRun } from '../../workflows/scheduled.ts';

export async function runExperiment(run: RunInput): Promise<{ verdict: Verdict; reason: string; workflowId: string }> {
  const m = /^(passed|refuted|aborted|failed|not-started)(?: after (\S+))?/.exec(run.experiment.title);
  const verdict = (m?.[1] ?? 'passed') as Verdict;
  const { workflowId } = workflowInfo();
  try {
    if (run.experiment.title === 'hangs') await condition(() => false);
    if (m?.[2]) await sleep(m[2] as Parameters<typeof sleep>[0]);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => sleep(1)); // "reverting"
    return { verdict: 'aborted', reason: 'an operator aborted the experiment: cancelled', workflowId };
  }
  return { verdict, reason: `the fake experiment ${run.experiment.title}`, workflowId };
}
