// Bounded waits of the experiment workflow, on the time-skipping test server with mocked activities:
// - a revert sent to a host whose agent is gone times out on schedule-to-start, marks the run stuck at once
//   (journal, FaultlineStuck, status), keeps being retried with backoff and continues as new, so six hours
//   without an agent stay under 1,000 events per run; an agent that comes back completes it;
// - a guard that throws on every attempt ends the run `failed` (not `passed`), its faults reverted;
// - every activity the run schedules has a schedule-to-close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { Context } from '@temporalio/activity';
import type { HostInventory, ObserveInput, ObserveResult } from '../../activities/index.ts';
import type { HostEntry } from '../../experiments/hosts.ts';
import { hostTaskQueue } from '../../experiments/hosts.ts';
import type { Journal, RevertReport } from '../../experiments/journal.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import { summary } from '../../cli/render.ts';
import { journalQuery, WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { STUCK_KEY } from '../../workflows/search-attributes.ts';
import { callsOf, startWorker, taskQueue, timeSkippingEnv, workflowBundle } from './support/workflow-env.ts';
import { fakeChaos, runInput, serverNow } from './support/fake-chaos.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const HOST = 'h1';

function pauseExperiment(extra = ''): Experiment {
  const r = parseExperiment(
    `title: pause on a host
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
targets: { names: [ api-1 ], mode: one }
method:
  - { kind: container.pause, duration: 20s }
afterCheck: { recoveryTimeout: 15s }
${extra}`,
    'unit.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

/** One registered host with one agent, one container on it; the pause's handle names it. */
function fleet(fleetQueue: string, overrides: Parameters<typeof fakeChaos>[0] = {}) {
  const target = { id: 'api-1-id', name: 'api-1', host: HOST };
  const chaos: ReturnType<typeof fakeChaos> = fakeChaos({
    listHosts: async (): Promise<HostEntry[]> => [
      {
        host: HOST,
        fleetQueue,
        daemonId: 'daemon-1',
        daemonName: HOST,
        dockerHost: 'unix:///var/run/docker.sock',
        registeredAt: serverNow(),
        taskQueue: hostTaskQueue(fleetQueue, HOST),
        agents: 1,
      },
    ],
    listContainers: async () => ({
      daemon: { id: 'daemon-1', name: HOST },
      containers: [{ id: target.id, name: target.name, labels: {}, state: 'running', networks: {} }],
    }),
    planFaults: async (e: Experiment, _seed: number, hosts?: HostInventory[]) => ({
      faults: e.method.map((f, i) => ({
        faultIndex: i,
        kind: f.kind,
        summary: `pause api-1 on ${hosts?.[0]?.host}`,
        target,
      })),
    }),
    // What the real revert activity reports: it undid the fault itself.
    revertFault: async (_kind: string, handle: Record<string, unknown>): Promise<RevertReport> => {
      chaos.active.delete(String(handle.id));
      const at = serverNow();
      return { at, by: 'workflow', tookEffect: true, confirmedAt: at };
    },
    ...overrides,
  });
  return chaos;
}

/** Every run of a workflow ID, oldest first, with its history. */
async function chain(workflowId: string, j: Journal): Promise<{ runId: string; events: HistoryEvent[] }[]> {
  const runIds = [...(j.continuedFrom ?? []), j.runId];
  return Promise.all(
    runIds.map(async (runId) => ({
      runId,
      events: (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [],
    })),
  );
}

const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const scheduled = (events: HistoryEvent[], type: string) =>
  events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);

describe('a revert on a host whose agent is gone', () => {
  it(
    'is stuck at once, alerted, retried with backoff under continue-as-new (under 1,000 events per run for 6 h), and done when an agent comes back',
    { timeout: 300_000 },
    async () => {
      const fleetQueue = taskQueue('stuck');
      const hostQueue = hostTaskQueue(fleetQueue, HOST);
      let agentGone!: () => void;
      const gone = new Promise<void>((r) => (agentGone = r));
      const chaos = fleet(fleetQueue, {
        // The host's holder returns at once; the guard here holds the window until the agent is gone.
        observe: async (_input: ObserveInput): Promise<ObserveResult> => {
          if (Context.current().info.taskQueue === fleetQueue) await gone;
          return { violated: false, ...chaos.settled() };
        },
      });
      const main = await startWorker(env, { taskQueue: fleetQueue, activities: chaos.activities });
      let agent = await startWorker(env, { taskQueue: hostQueue, activities: chaos.activities });
      try {
        const workflowId = 'stuck-revert';
        // The defaults but one: a 10 ms wait for an agent instead of 30 s. The test server runs time in real
        // time while an activity waits to be picked up, so this keeps six hours to seconds; it also makes
        // more attempts in 6 h (about 360, against 240 with 30 s), so each run's history is tested harder.
        await env.client.workflow.start(WORKFLOW_TYPE, {
          taskQueue: fleetQueue,
          workflowId,
          args: [runInput(pauseExperiment(), { tuning: { revertScheduleToStartMs: 10 } })],
        });
        for (let i = 0; !callsOf(chaos.calls, 'observe').some((c) => c.taskQueue === hostQueue); i++) {
          if (i > 300) throw new Error('the host holder never ran');
          await new Promise((r) => setTimeout(r, 50));
        }
        await agent.stop(); // the host's only agent is gone, its fault still applied
        agentGone();
        expect(chaos.active.size).toBe(1);

        await env.sleep('6h');

        const latest = env.client.workflow.getHandle(workflowId);
        const j = await latest.query(journalQuery);
        const runs = await chain(workflowId, j);
        // Stuck, visibly: journal, search attribute, status.
        expect(j.phase).toBe('reverting');
        expect(j.stuck).toBe(true);
        expect(j.stuckReason).toMatch(new RegExp(`no worker of ${hostQueue} picked it up within 10ms`));
        expect(Date.parse(j.stuckSince ?? '')).toBeLessThan(Date.parse(j.startedAt) + 5 * 60_000);
        expect((await latest.describe()).typedSearchAttributes.get(STUCK_KEY)).toBe('true');
        expect(summary(j)).toMatch(/REVERT STUCK since .*: a fault may still be applied/);
        const f = j.faults[0];
        expect(f?.status).toBe('reverting');
        expect(f?.errors).toHaveLength(3);
        // Retried with backoff: every attempt timed out waiting for an agent; none ran.
        expect(callsOf(chaos.calls, 'revertFault')).toEqual([]);
        expect(chaos.active.size).toBe(1);
        const attempts = runs.flatMap((r) => scheduled(r.events, 'revertFault'));
        expect(attempts.length).toBe(f?.revertAttempts);
        expect(attempts.length).toBeGreaterThan(300); // 6 h at up to a minute of backoff
        expect(attempts.length).toBeLessThan(6 * 60 + 12); // never faster than one a minute once backed off
        // Within each run, once backed off (attempt 10 on), attempts are at least the backoff apart.
        let before = 0;
        for (const r of runs) {
          const times = scheduled(r.events, 'revertFault').map(ms);
          for (let i = 1; i < times.length; i++)
            if (before + i >= 10)
              expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(60_000);
          before += times.length;
        }
        // Bounded history: continued as new, each run under 1,000 events.
        expect(runs.length).toBeGreaterThan(1);
        for (const r of runs) expect(r.events.length).toBeLessThan(1_000);
        // The admission hold stays while a fault may still be applied.
        expect(callsOf(chaos.calls, 'releaseRun')).toEqual([]);

        // An agent comes back: the next attempt reverts it, the run ends with its journal.
        agent = await startWorker(env, { taskQueue: hostQueue, activities: chaos.activities });
        const done = (await latest.result()) as Journal;
        expect(chaos.active.size).toBe(0);
        expect(done.verdict, done.reason).toBe('passed');
        expect(done.stuck).toBe(false);
        expect(done.stuckSince).toBeUndefined();
        expect(done.faults[0]).toMatchObject({ status: 'reverted', revertedBy: 'workflow' });
        expect(done.startedAt).toBe(j.startedAt);
        expect((await latest.describe()).typedSearchAttributes.get(STUCK_KEY)).toBe('false');
        const release = callsOf(chaos.calls, 'releaseRun');
        expect(release).toHaveLength(1);
        expect(chaos.calls.indexOf(release[0]!)).toBeGreaterThan(
          chaos.calls.indexOf(callsOf(chaos.calls, 'revertFault')[0]!),
        );

        // Every run of the chain replays against the code that wrote it.
        const histories = await chain(workflowId, done);
        for (const r of histories) expect(r.events.length).toBeLessThan(1_000);
        const replays = Worker.runReplayHistories(
          { workflowBundle: await workflowBundle() },
          histories.map((r) => ({ workflowId, history: { events: r.events } })),
        );
        for await (const r of replays) expect(r.error, r.runId).toBeUndefined();
      } finally {
        await agent.stop();
        await main.stop();
      }
    },
  );
});

describe('a guard that throws on every attempt', () => {
  it('ends the run failed (never passed) after a bounded number of attempts, its faults reverted', async () => {
    const queue = taskQueue('guard-throws');
    const chaos = fakeChaos({
      observe: async (): Promise<ObserveResult> => {
        throw ApplicationFailure.retryable('the guard cannot read its own state', 'GuardBroken');
      },
    });
    const w = await startWorker(env, { taskQueue: queue, activities: chaos.activities });
    try {
      const j = (await env.client.workflow.execute(WORKFLOW_TYPE, {
        taskQueue: queue,
        workflowId: 'guard-throws',
        args: [runInput()],
      })) as Journal;
      expect(j.verdict, j.reason).toBe('failed');
      expect(j.reason).toMatch(/^observing: GuardBroken: the guard cannot read its own state/);
      expect(callsOf(chaos.calls, 'observe').length).toBe(20);
      expect(chaos.active.size).toBe(0);
      expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
    } finally {
      await w.stop();
    }
  });
});

describe('every activity is bounded', () => {
  it('each activity a run schedules (probes, plan, fleet, admission, intents, injects, guard, holders, reverts) has a schedule-to-close', async () => {
    const fleetQueue = taskQueue('bounded');
    const chaos = fleet(fleetQueue);
    const main = await startWorker(env, { taskQueue: fleetQueue, activities: chaos.activities });
    const agent = await startWorker(env, {
      taskQueue: hostTaskQueue(fleetQueue, HOST),
      activities: chaos.activities,
    });
    try {
      const e = pauseExperiment();
      e.method.push(...parseExperimentMethod());
      const j = (await env.client.workflow.execute(WORKFLOW_TYPE, {
        taskQueue: fleetQueue,
        workflowId: 'bounded-activities',
        args: [runInput(e)],
      })) as Journal;
      expect(j.verdict, j.reason).toBe('passed');
      const events = (await env.client.workflow.getHandle('bounded-activities').fetchHistory()).events ?? [];
      const acts = events
        .map((ev) => ev.activityTaskScheduledEventAttributes)
        .filter((a): a is NonNullable<typeof a> => !!a);
      const types = new Set(acts.map((a) => a.activityType?.name));
      for (const t of [
        'runProbes',
        'listHosts',
        'listContainers',
        'planFaults',
        'admitRun',
        // Its two faults are on one host: one activity per phase for both ('fleet-batches').
        'prepareFaults',
        'injectFaults',
        'observe',
        'revertFaults',
        'releaseRun',
        'awaitSteadyState',
      ])
        expect(types).toContain(t);
      // Unset, the server bounds it by the run (ten years here): every one must be bounded by far less.
      const unbounded = acts
        .filter((a) => Number(a.scheduleToCloseTimeout?.seconds ?? Infinity) > 3_600)
        .map((a) => `${a.activityType?.name} ${a.scheduleToCloseTimeout?.seconds ?? 'unset'} s`);
      expect(unbounded).toEqual([]);
    } finally {
      await agent.stop();
      await main.stop();
    }
  });
});

/** A proxy fault besides the container fault (it runs here, not on the host). */
function parseExperimentMethod(): Experiment['method'] {
  const r = parseExperiment(
    `title: x
hypothesis: { statement: x, probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ] }
method: [ { kind: proxy.latency, proxy: [route-1], latency: 300ms, duration: 20s } ]
`,
    'unit.yaml',
  );
  if (!r.ok) throw new Error('bad method');
  return r.experiment.method;
}
