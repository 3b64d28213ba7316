// The admission workflow is deterministic under every interleaving of admits, releases, approvals, the
// lever, policy changes, timers and worker replacement: each test drives the real workflow on the
// time-skipping test server with workers that keep nothing cached (every workflow task replays the whole
// history, as a freshly started worker does), then replays the history it recorded. Only closedRuns is
// mocked (the runs a test declares crashed are closed).
//
// The randomized test prints its seed on failure; `ADMISSION_SEED=<n>` runs that one seed,
// `ADMISSION_SEEDS=<n>` runs that many (default 3), `ADMISSION_STEPS=<n>` messages each (default 20).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { admissionStart, admissionWorkflowId } from '../../activities/control.ts';
import { mulberry32 } from '../../judge/random.ts';
import type { AdmissionState, AdmitRequest, Decision, Policy } from '../../experiments/admission.ts';
import {
  admissionStateQuery,
  admitUpdate,
  approveUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  releaseSignal,
  setPolicyUpdate,
} from '../../definitions/admission.ts';
import {
  callsOf,
  mockActivities,
  startWorker,
  taskQueue,
  timeSkippingEnv,
  workflowBundle,
  type TestWorker,
} from './support/workflow-env.ts';

const EventType = temporal.api.enums.v1.EventType;
type History = temporal.api.history.v1.IHistory;
const WFT = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
]);
/** What a completed task may leave after itself without anything being in flight. */
const COMMANDS = new Set<number>([
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_TIMER_CANCELED,
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
]);

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

type RunRef = { workflowId: string; runId: string };

/** An admission workflow on its own queue, with workers that keep nothing cached, replaced at will. */
async function admission(name: string) {
  const queue = taskQueue(name);
  /** Run IDs whose runs closed without releasing. */
  const crashed = new Set<string>();
  const mocks = mockActivities({
    closedRuns: async (runs: RunRef[]) => runs.filter((r) => crashed.has(r.runId)),
  });
  let worker: TestWorker | undefined;
  const replace = async () => {
    await worker?.stop();
    worker = await startWorker(env, { taskQueue: queue, activities: mocks.activities, maxCachedWorkflows: 0 });
  };
  await replace();
  const handle: WorkflowHandle = env.client.workflow.getHandle(admissionWorkflowId(queue));
  const withStart = () => admissionStart(queue);
  /** An answer within 20 s, or the failed workflow tasks that kept it from coming. */
  const answered = async <T>(p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void handle.fetchHistory().then((h) => {
          const failed = (h.events ?? []).find((e) => e.workflowTaskFailedEventAttributes);
          if (process.env.ADMISSION_DUMP) writeFileSync(process.env.ADMISSION_DUMP, JSON.stringify(h));
          reject(
            new Error(
              `no answer within 20 s; ${failed ? `a workflow task failed: ${failed.workflowTaskFailedEventAttributes?.failure?.message}` : 'no workflow task failed'}`,
            ),
          );
        }, reject);
      }, 20_000);
    });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    queue,
    crashed,
    calls: mocks.calls,
    handle,
    replace,
    stop: () => worker?.stop(),
    /**
     * Ends the test: the admission workflow first (a sweep it scheduled with no worker left would stay
     * pending, and the test server skips no time while any activity is outstanding), then the worker.
     */
    close: async () => {
      await handle.terminate('test over').catch(() => undefined);
      await worker?.stop();
    },
    admit: (req: AdmitRequest) =>
      answered(
        env.client.workflow.executeUpdateWithStart(admitUpdate, {
          args: [req],
          startWorkflowOperation: withStart(),
        }) as Promise<Decision>,
      ),
    release: (workflowId: string) => handle.signal(releaseSignal, { workflowId }),
    approve: (workflowId: string) =>
      answered(handle.executeUpdate(approveUpdate, { args: [{ workflowId, who: 'lead' }] })),
    pullLever: () => answered(handle.executeUpdate(pullLeverUpdate, { args: [{ reason: 'incident', who: 'oncall' }] })),
    releaseLever: () => answered(handle.executeUpdate(releaseLeverUpdate, { args: [{}] })),
    setPolicy: (p: Policy) => answered(handle.executeUpdate(setPolicyUpdate, { args: [p] })),
    start: (p: Policy) =>
      answered(
        env.client.workflow.executeUpdateWithStart(setPolicyUpdate, { args: [p], startWorkflowOperation: withStart() }),
      ),
    state: () => answered(handle.query(admissionStateQuery) as Promise<AdmissionState>),
    /** Until the last event of the history is of this type. */
    until: async (type: number) => {
      for (let i = 0; i < 400; i++) {
        if ((await handle.fetchHistory()).events?.at(-1)?.eventType === type) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`the history never ended with ${EventType[type]}`);
    },
    /** Until the workflow has handled everything sent to it: its last task completed, nothing in flight. */
    quiet: async () => {
      for (let i = 0; i < 400; i++) {
        const events = (await handle.fetchHistory()).events ?? [];
        let last = events.length - 1;
        while (last >= 0 && !WFT.has(events[last]?.eventType as number)) last--;
        const after = events.slice(last + 1).map((e) => e.eventType as number);
        const failed = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
        if (failed) throw new Error(`a workflow task of the admission workflow failed: ${failed.failure?.message}`);
        if (
          events[last]?.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED &&
          after.every((t) => COMMANDS.has(t))
        )
          return;
        await new Promise((r) => setTimeout(r, 25));
      }
      const events = (await handle.fetchHistory()).events ?? [];
      throw new Error(
        `the admission workflow never settled: ${events.map((e) => EventType[e.eventType as number]?.replace('EVENT_TYPE_', '')).join(' ')}`,
      );
    },
  };
}

const req = (workflowId: string, keys: string[], environment?: string): AdmitRequest => ({
  workflowId,
  runId: `${workflowId}-run`,
  title: workflowId,
  ...(environment ? { environment } : {}),
  targets: keys.map((key) => ({ key, label: key })),
});

/** No workflow task failed, and the history replays against the current workflow code. */
async function replays(handle: WorkflowHandle, name: string): Promise<History> {
  const history = await handle.fetchHistory();
  const failed = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
  expect(failed.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, name);
  return history;
}

describe('admission determinism', () => {
  it('a hold released by a signal, a fresh worker whose first task is a new admit, then another fresh worker: same decisions, and the history replays', async () => {
    const a = await admission('adm-repro');
    try {
      expect(await a.admit(req('holder', ['container:x']))).toEqual({ admitted: true });
      await a.release('holder');
      await a.quiet();
      // The sweep's timer fires with nothing held: that task issues no command.
      await env.sleep(16_000);
      await a.quiet();
      await a.replace(); // its first task gets the timer's task and the new admit in one activation
      expect(await a.admit(req('next', ['container:x']))).toEqual({ admitted: true });
      await a.quiet();
      await a.replace(); // replays what the previous one wrote
      const blocked = await a.admit(req('third', ['container:x']));
      expect(blocked).toMatchObject({ admitted: false, retryable: true });
      expect(blocked.admitted || blocked.reason).toContain('container:x is held by next');
      // closedRuns asked once, about the holder that blocked `third`, never when `next` was admitted.
      expect(callsOf(a.calls, 'closedRuns').map((c) => c.args[0])).toEqual([
        [{ workflowId: 'next', runId: 'next-run' }],
      ]);
      expect((await a.state()).holds.map((h) => h.workflowId)).toEqual(['next']);
      await a.quiet();
      await replays(a.handle, 'adm-repro');
    } finally {
      await a.close();
    }
  });

  it('a release and a new admit in one task, the admit sent first: the admit sees the release, as history and a replay have it', async () => {
    const a = await admission('adm-order');
    try {
      expect(await a.admit(req('holder', ['container:x']))).toEqual({ admitted: true });
      await a.quiet();
      await a.stop(); // no worker: the next task waits with both messages in it
      const next = a.admit(req('next', ['container:x']));
      await a.until(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED); // the update is in, its task scheduled
      await a.release('holder');
      await a.replace();
      // Live, the update's job comes before the signal's; history (and a replay) has the signal first.
      expect(await next).toEqual({ admitted: true });
      expect(callsOf(a.calls, 'closedRuns')).toEqual([]);
      await a.quiet();
      await replays(a.handle, 'adm-order');
    } finally {
      await a.close();
    }
  });

  const seeds = process.env.ADMISSION_SEED
    ? [Number(process.env.ADMISSION_SEED)]
    : Array.from({ length: Number(process.env.ADMISSION_SEEDS ?? 3) }, (_, i) => 1000 + i * 7919);

  it.each(seeds)(
    'seed %i: random admits, releases, approvals, lever, policies, crashes and timer advances, a fresh worker for every task, then replay',
    async (seed) => {
      try {
        await randomRun(seed);
      } catch (err) {
        throw new Error(
          `admission randomized run failed with seed ${seed} (rerun: ADMISSION_SEED=${seed} npx vitest run --project unit test/unit/admission-determinism.test.ts): ${String(err)}`,
          { cause: err },
        );
      }
    },
    240_000,
  );
});

const TARGETS = ['container:a', 'container:b', 'proxy:route-1'];
const STEPS = Number(process.env.ADMISSION_STEPS ?? 20);

function randomPolicy(rand: () => number): Policy {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  return {
    exclusiveTargets: true,
    maxConcurrent: pick([undefined, 1, 2, 3]),
    environments: { gated: { requireApproval: true, maxConcurrent: pick([undefined, 1]) } },
    blackouts: rand() < 0.15 ? [{ name: 'freeze', until: '2999-01-01T00:00:00Z' }] : [],
  };
}

async function randomRun(seed: number): Promise<void> {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const a = await admission(`adm-rand-${seed}`);
  await a.start(randomPolicy(rand));
  const runs = Array.from({ length: 3 }, (_, i) => `run-${seed}-${i}`);
  let generation = 0;
  const current = new Map(runs.map((r) => [r, `${r}-g0`]));
  /** Runs admitted and not released since (a released or crashed run asks again as a new run). */
  const holding = new Set<string>();
  /** A released (or crashed) run may come back as a new run of the same workflow ID. */
  const release = async (wid: string) => {
    await a.release(wid);
    current.set(wid, `${wid}-g${++generation}`);
  };
  const ask = (wid: string) => {
    const keys = TARGETS.filter(() => rand() < 0.35);
    return {
      workflowId: wid,
      runId: current.get(wid) as string,
      title: wid,
      ...(rand() < 0.25 ? { environment: 'gated' } : {}),
      // A run that waits joins the queue; admission tells it (a signal to a run that does not exist here,
      // which fails, so admission drops it) when its targets are reserved.
      ...(rand() < 0.4 ? { waitUntil: '2999-01-01T00:00:00Z' } : {}),
      targets: (keys.length ? keys : [pick(TARGETS)]).map((key) => ({ key, label: key })),
    };
  };
  /** One message, as the chosen operation; each answer is checked against what the state says. */
  const step = async (): Promise<void> => {
    const r = rand();
    const wid = pick(runs);
    if (r < 0.3) {
      const q = ask(wid);
      const d = await a.admit(q);
      const s = await a.state();
      const holds = s.holds.map((h) => h.runId);
      if (d.admitted) {
        if (!holding.has(q.runId)) expect(s.lever).toBeUndefined(); // a holder asking again is admitted, lever or not
        expect(holds).toContain(q.runId);
        holding.add(q.runId);
      } else {
        // Refused: it holds nothing, unless the queue has since reserved its targets for it.
        expect(s.holds.filter((h) => h.runId === q.runId && !h.reserved)).toEqual([]);
        if (d.reason.includes('is held by')) expect(d.blockers?.length).toBeGreaterThan(0);
      }
      // No two holds share a target (the generated policies keep exclusiveTargets).
      const keys = s.holds.flatMap((h) => h.targets.map((t) => t.key));
      expect(new Set(keys).size, JSON.stringify(s.holds)).toBe(keys.length);
    } else if (r < 0.4) {
      await release(wid);
    } else if (r < 0.48) {
      for (const w of runs) await release(w); // every run finished
    } else if (r < 0.53) {
      // Its run closes without releasing: the sweep or an admit's check drops its hold.
      a.crashed.add(current.get(wid) as string);
      current.set(wid, `${wid}-g${++generation}`);
    } else if (r < 0.6) {
      await a.approve(wid);
    } else if (r < 0.64) {
      await a.pullLever();
    } else if (r < 0.69) {
      await a.releaseLever();
    } else if (r < 0.74) {
      await a.setPolicy(randomPolicy(rand));
    } else if (r < 0.9) {
      await env.sleep(Math.floor(1_000 + rand() * 30_000)); // the sweep runs every 15 s
    } else {
      // A burst: a release and an admit sent at once, so one task may hold both.
      const q = ask(pick(runs));
      await Promise.all([release(wid), a.admit(q)]);
    }
  };
  try {
    for (let i = 0; i < STEPS; i++) await step();
    await a.quiet();
    await replays(a.handle, `adm-rand-${seed}`);
  } finally {
    await a.close();
  }
}
