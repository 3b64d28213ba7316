// The scheduled-run workflow (workflows/scheduled.ts) on the time-skipping test server: it runs the real
// experiment workflow as its child, over mocked activities, and pauses its schedule on the verdicts it was
// told to pause on (default refuted and aborted), never on a pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ObserveResult } from '../../activities/index.ts';
import type { Verdict } from '../../experiments/journal.ts';
import { SCHEDULED_RUN_TYPE, experimentChild, type ScheduledRunResult } from '../../definitions/scheduled.ts';
import { callsOf, sharedWorker, timeSkippingEnv } from './support/workflow-env.ts';
import { fakeChaos, runInput, sample, serverNow } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const PAUSE_ON: Verdict[] = ['aborted', 'refuted'];

let shared: Awaited<ReturnType<typeof sharedWorker>>;
beforeAll(async () => {
  shared = await sharedWorker(env, Object.keys(fakeChaos().activities));
});
afterAll(async () => {
  await shared?.stop();
});

/** A scheduled run of the experiment (its child `ID-run` gets the same mocks). */
function scheduledRun(chaos: ReturnType<typeof fakeChaos>, id: string): Promise<ScheduledRunResult> {
  shared.route(id, chaos.activities);
  return env.client.workflow.execute(SCHEDULED_RUN_TYPE, {
    taskQueue: shared.taskQueue,
    workflowId: id,
    args: [{ scheduleId: 'nightly', ...experimentChild(runInput()), pauseOn: PAUSE_ON }],
  }) as Promise<ScheduledRunResult>;
}

describe('scheduled run', () => {
  it('a passing child leaves its schedule running', async () => {
    const chaos = fakeChaos();
    const r = await scheduledRun(chaos, 'sched-passed');
    expect(r).toMatchObject({ child: 'sched-passed-run', verdict: 'passed', pausedSchedule: false });
    expect(callsOf(chaos.calls, 'pauseSchedule')).toEqual([]);
    expect(callsOf(chaos.calls, 'injectFault').map((c) => c.workflowId)).toEqual([
      'sched-passed-run',
      'sched-passed-run',
    ]);
    expect(chaos.active.size).toBe(0);
  });

  it('a refuted child (the steady state did not recover) pauses its schedule, naming the run and verdict', async () => {
    const chaos = fakeChaos({
      awaitSteadyState: async () => ({ ok: false, samples: [sample('front', false)], attempts: 30 }),
    });
    const r = await scheduledRun(chaos, 'sched-refuted');
    expect(r).toMatchObject({ verdict: 'refuted', pausedSchedule: true });
    const pauses = callsOf(chaos.calls, 'pauseSchedule');
    expect(pauses).toHaveLength(1);
    expect(pauses[0]?.args[0]).toBe('nightly');
    expect(pauses[0]?.args[1]).toMatch(/^paused by sched-refuted-run: refuted: steady-state-after: /);
    expect(chaos.active.size).toBe(0);
  });

  it('an aborted child (the guard saw a violation) pauses its schedule after every fault is reverted', async () => {
    const chaos = fakeChaos({
      observe: async (): Promise<ObserveResult> => {
        const failing = sample('front', false);
        return {
          violated: true,
          violation: { failing, detectedAt: serverNow(), firstFailureAt: serverNow() },
          samples: 3,
          failed: 2,
          consecutiveFailures: 2,
          reverted: {},
          revertErrors: {},
          restored: {},
        };
      },
    });
    const r = await scheduledRun(chaos, 'sched-aborted');
    expect(r).toMatchObject({ verdict: 'aborted', pausedSchedule: true });
    expect(r.reason).toMatch(/^the guard aborted the experiment during observing: guard probe front failed/);
    const names = chaos.calls.map((c) => c.name);
    expect(names.lastIndexOf('revertFault')).toBeLessThan(names.indexOf('pauseSchedule'));
    expect(chaos.active.size).toBe(0);
  });
});
