// Progressive exposure (workflows/exposure.ts) on the time-skipping test server, over the mocked fault system
// of support/fake-chaos.ts: a fault that grows 1% → 5% → 25% → 100%, each step judged before the next. The
// guard mock concludes while a chosen share is in effect (as the judge's e-process crossing would) or holds
// the window to its end; exposeFault records each share the workflow applied. Every run is on a worker that
// keeps no workflow in its cache, so each task replays the history so far (the command sequence is fixed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Journal } from '../../experiments/journal.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import { guardRecordQuery, guardViolationSignal, journalQuery, WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { callsOf, taskQueue, timeSkippingEnv, withWorker } from './support/workflow-env.ts';
import { summary } from '../../cli/render.ts';
import { runSection } from '../../report/html.ts';
import { fakeChaos, runInput, sample, serverNow } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const JUDGE = `judge:
  interval: 1s
  baseline: { window: 2s }
  metrics:
    - name: errors
      events: { total: 'sum(requests_total)', bad: 'sum(requests_total{code="503"})' }
      absentMeansZero: true
      maxRate: 0.01`;

function exposed(steps = '[1%, 5%, 25%, 100%]'): Experiment {
  const r = parseExperiment(
    `title: grows in steps
hypothesis:
  statement: the front keeps answering
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
method:
  - { kind: http.abort, proxy: route-1, status: 503, duration: 12s, exposure: { steps: ${steps}, hold: 3s } }
${JUDGE}
afterCheck: { recoveryTimeout: 5s }
`,
    'exposure.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

/** The run's journal as the workflow holds it now (from an activity of that run). */
async function journalNow(): Promise<Journal> {
  const ctx = Context.current();
  const run = ctx.info.workflowExecution;
  return ctx.client.workflow.getHandle(run?.workflowId ?? '', run?.runId).query(journalQuery);
}

/**
 * A guard that holds the window until `share` is in effect (the exposure's step of that share began), then
 * concludes, as the judge's crossing does: durable first (the signal), then its result 5 s later (longer than a hold). Without `share`, it
 * holds until the last step began and sees nothing.
 */
function guardUntil(share?: number) {
  return async () => {
    const ctx = Context.current();
    for (;;) {
      const j = await journalNow();
      const steps = j.exposure?.steps ?? [];
      const target = share === undefined ? steps.at(-1) : steps.find((s) => s.share === share);
      if (target?.startedAt) {
        if (share === undefined) return { violated: false, ...settled() };
        const at = new Date(Date.parse(target.startedAt) + 500).toISOString();
        const violation = {
          failing: { ...sample('judge', false, at), violations: ['metric errors: E 41.2 >= 20'] },
          detectedAt: at,
          firstFailureAt: at,
        };
        const run = ctx.info.workflowExecution;
        await ctx.client.workflow.getHandle(run?.workflowId ?? '').signal(guardViolationSignal, violation);
        // Still running past the step's hold (its reverts, a slow worker): only the run's own record of the
        // conclusion may keep the next step from being applied.
        for (let k = 0; k < 5; k++) {
          ctx.heartbeat();
          await env.sleep(1_000);
        }
        return { violated: true, violation, ...settled() };
      }
      ctx.heartbeat();
      await env.sleep(1_000); // skips the server's time: the step's hold passes
    }
  };
}

const settled = () => ({
  samples: 10,
  failed: 0,
  consecutiveFailures: 0,
  reverted: {},
  revertErrors: {},
  restored: {},
});

/** The summaries of a run's exposeFault activities, as its history records them (what the UI shows). */
async function stepSummaries(id: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'exposeFault')
    .map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? new Uint8Array()).toString('utf8')) as string);
}

/** Runs the experiment to its end on a worker with no workflow cache; the mocks and their calls. */
async function run(id: string, e: Experiment, guard: () => Promise<unknown>) {
  const chaos = fakeChaos({
    measureBaseline: async () => ({ baselines: {} }),
    observe: guard,
    // The fault's rule at a share: recorded, so the test reads every share the run applied, in order.
    exposeFault: async (_kind: string, handle: Record<string, unknown>, _share: number) => {
      // As the real activity does: nothing changes once the run's guard has concluded.
      const ctx = Context.current();
      const rec = await ctx.client.workflow
        .getHandle(ctx.info.workflowExecution?.workflowId ?? '')
        .query(guardRecordQuery);
      if (rec.violation) return { at: serverNow(), missing: [], refused: 'the guard concluded' };
      if (!chaos.active.has(String(handle.id))) return { at: serverNow(), missing: [String(handle.id)] };
      return { at: new Date(await env.currentTimeMs()).toISOString(), missing: [] };
    },
  });
  const queue = taskQueue('exposure');
  const j = await withWorker(env, { taskQueue: queue, activities: chaos.activities, maxCachedWorkflows: 0 }, () =>
    env.client.workflow.execute(WORKFLOW_TYPE, { taskQueue: queue, workflowId: id, args: [runInput(e)] }),
  );
  return { j: j as Journal, chaos };
}

describe('progressive exposure: each step judged before the next', () => {
  it('a step that fails at 5% ends the exposure: 25% is never applied, the fault is reverted, the verdict names the step', async () => {
    const { j, chaos } = await run('exposure-breaks', exposed(), guardUntil(5));
    const shares = callsOf(chaos.calls, 'exposeFault').map((c) => c.args[2]);
    expect(shares).toEqual([5]); // 1% was the inject; 25% and 100% never
    expect(chaos.active.size).toBe(0);
    expect(j.faults[0]?.status).toBe('reverted');
    expect(j.verdict).toBe('aborted');
    expect(j.reason).toContain('progressive exposure failed at step 2 of 4 (5% of the traffic); never reached 25%');
    expect(j.exposure?.steps.map((s) => [s.share, s.status])).toEqual([
      [1, 'passed'],
      [5, 'failed'],
      [25, 'not-reached'],
      [100, 'not-reached'],
    ]);
    expect(j.exposure?.steps[1]?.note).toContain('metric errors: E 41.2 >= 20');
    // status and the report show each step.
    const text = summary(j);
    expect(text).toMatch(/step 1 {2}1% +hold 3s +passed/);
    expect(text).toMatch(/step 2 {2}5% +hold 3s +failed .*metric errors: E 41\.2 >= 20/);
    expect(text).toMatch(/step 3 {2}25% +hold 3s +not-reached/);
    const html = runSection(j).html;
    expect(html).toContain('<h2>Progressive exposure</h2>');
    expect(html).toMatch(/<td>2<\/td><td>5%<\/td><td>3s<\/td><td class="c-fail">failed<\/td>/);
    // The first step was held its whole hold before the second began (skipped time, not the wall clock).
    const [s1, s2] = j.exposure?.steps ?? [];
    expect(Date.parse(s2?.startedAt ?? '') - Date.parse(s1?.startedAt ?? '')).toBeGreaterThanOrEqual(3_000);
  }, 60_000);

  it('a healthy exposure applies every step in order, each after its hold, and passes at 100%', async () => {
    const { j, chaos } = await run('exposure-healthy', exposed(), guardUntil());
    const steps = callsOf(chaos.calls, 'exposeFault');
    expect(steps.map((c) => c.args[2])).toEqual([5, 25, 100]);
    expect(await stepSummaries('exposure-healthy')).toEqual([
      expect.stringMatching(/^exposure step 2 of 4: 5% of the traffic for 3s \(was 1%\)/),
      expect.stringMatching(/^exposure step 3 of 4: 25% of the traffic for 3s \(was 5%\)/),
      expect.stringMatching(/^exposure step 4 of 4: 100% of the traffic for 3s \(was 25%\)/),
    ]);
    expect(j.verdict).toBe('passed');
    expect(j.reason).toContain('progressive exposure reached 100% in 4 steps, each judged');
    expect(j.exposure?.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'passed', 'passed']);
    const starts = (j.exposure?.steps ?? []).map((s) => Date.parse(s.startedAt ?? ''));
    for (let k = 1; k < starts.length; k++)
      expect((starts[k] ?? 0) - (starts[k - 1] ?? 0)).toBeGreaterThanOrEqual(3_000);
    expect(chaos.active.size).toBe(0);
  }, 60_000);

  it('an operator abort during a step stops it there: nothing grows after, the fault is reverted', async () => {
    const chaosRun = run('exposure-abort', exposed(), async () => {
      const ctx = Context.current();
      for (;;) {
        const j = await journalNow();
        if (j.exposure?.steps[2]?.startedAt) {
          const h = ctx.client.workflow.getHandle(ctx.info.workflowExecution?.workflowId ?? '');
          void h.executeUpdate('abortExperiment', { args: [{ reason: 'enough', who: 'ops' }] }).catch(() => undefined);
        }
        ctx.heartbeat();
        await Promise.race([ctx.cancelled, env.sleep(1_000)]);
      }
    });
    const { j, chaos } = await chaosRun;
    expect(callsOf(chaos.calls, 'exposeFault').map((c) => c.args[2])).toEqual([5, 25]);
    expect(j.verdict).toBe('aborted');
    expect(j.exposure?.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'stopped', 'not-reached']);
    expect(j.reason).toContain('progressive exposure stopped at 25% (step 3 of 4)');
    expect(chaos.active.size).toBe(0);
  }, 60_000);
});
