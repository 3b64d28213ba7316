// A judged window with no data, through the real workflows on the time-skipping test server (mocked
// activities): the experiment ends inconclusive, never passed, and its schedule pauses as it would on
// refuted; a judged window with data passes and leaves the schedule running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ObserveResult } from '../../activities/index.ts';
import type { CounterReading } from '../../judge/counters.ts';
import { judgeReport, judgeTick, startJudge } from '../../judge/guard.ts';
import { SCHEDULED_RUN_TYPE, experimentChild, type ScheduledRunResult } from '../../definitions/scheduled.ts';
import { callsOf, taskQueue, timeSkippingEnv, withWorker } from './support/workflow-env.ts';
import { experiment, fakeChaos, runInput } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const judged = experiment({
  extra: `judge:
  interval: 1s
  baseline: { window: 5s }
  metrics:
    - { name: errors, events: { total: "sum(t)", bad: "sum(b)" }, maxRate: 0.05 }`,
});

/** The guard's result after 20 judged ticks, `noData` of them without data (the judge's real state and report). */
function observed(noData: (i: number) => boolean) {
  return async (): Promise<ObserveResult> => {
    const j = judged.judge!;
    const s = startJudge(j, {});
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 20; i++) {
      const r: CounterReading | null = noData(i) ? null : { total: i * 50, part: 0, partIs: 'bad' };
      judgeTick(s, 'errors', r, t0 + i * 1000);
    }
    return {
      violated: false,
      samples: 0,
      failed: 0,
      consecutiveFailures: 0,
      reverted: {},
      revertErrors: {},
      restored: {},
      judgeReport: judgeReport(s, j),
    };
  };
}

async function scheduledRun(chaos: ReturnType<typeof fakeChaos>, id: string): Promise<ScheduledRunResult> {
  const queue = taskQueue('judge-scheduled');
  return withWorker(
    env,
    { taskQueue: queue, activities: chaos.activities },
    () =>
      env.client.workflow.execute(SCHEDULED_RUN_TYPE, {
        taskQueue: queue,
        workflowId: id,
        args: [{ scheduleId: 'nightly', ...experimentChild(runInput(judged)), pauseOn: ['aborted', 'refuted'] }],
      }) as Promise<ScheduledRunResult>,
  );
}

const baseline = async () => ({ baselines: { errors: undefined } });

describe('a judged window without data', () => {
  it('is inconclusive, naming the metric and the share, and pauses its schedule like refuted', async () => {
    const chaos = fakeChaos({ measureBaseline: baseline, observe: observed(() => true) });
    const r = await scheduledRun(chaos, 'sched-inconclusive');
    expect(r).toMatchObject({ verdict: 'inconclusive', pausedSchedule: true });
    expect(r.reason).toBe(
      'observing: the judge cannot tell whether the steady state held: judged metric errors had no data for 100% of its ticks (20 of 20), more than maxNoData 10%',
    );
    const pauses = callsOf(chaos.calls, 'pauseSchedule');
    expect(pauses).toHaveLength(1);
    expect(pauses[0]?.args[1]).toMatch(
      /^paused by sched-inconclusive-run: inconclusive: observing: the judge cannot tell/,
    );
    expect(chaos.active.size).toBe(0); // every fault reverted all the same
  });

  it('with data on every tick it passes, and the schedule keeps running', async () => {
    const chaos = fakeChaos({ measureBaseline: baseline, observe: observed(() => false) });
    const r = await scheduledRun(chaos, 'sched-judged');
    expect(r).toMatchObject({ verdict: 'passed', pausedSchedule: false });
    expect(r.reason).toMatch(/the judge scored the window 100 \(pass; errors 100\)$/);
    expect(callsOf(chaos.calls, 'pauseSchedule')).toEqual([]);
  });
});
