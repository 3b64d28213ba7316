// The game-day workflow (workflows/gameday.ts) on the time-skipping test server, its experiment children
// replaced by a stand-in `runExperiment` whose verdict and duration its title says (gameday-workflows.ts):
// a failed step is never a pass (the shipped example's shape, `continue`, an approved `ask`); an approval
// names its step and opens only that one (a late one for gate A never opens gate B, one naming a step
// that is not waiting is refused, saying what waits); a 12-hour game day (deadlines, gates answered hours
// later) completes in milliseconds; a worker replaced between every two messages changes nothing; a
// scheduled game day that is refuted pauses its schedule.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../config.ts';
import { parseGameDayFile } from '../../experiments/gameday.ts';
import type { GameDayInput, GameDayJournal, GameDayStep } from '../../experiments/gameday-types.ts';
import type { Experiment } from '../../experiments/schema.ts';
import {
  GAME_DAY_TYPE,
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from '../../definitions/gameday.ts';
import { SCHEDULED_RUN_TYPE, type ScheduledRunResult } from '../../workflows/scheduled.ts';
import {
  callsOf,
  mockActivities,
  startWorker,
  taskQueue,
  timeSkippingEnv,
  type TestWorker,
} from './support/workflow-env.ts';

let env: TestWorkflowEnvironment;
let workflowBundle: { code: string };
beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([
    timeSkippingEnv(),
    bundleWorkflowCode({
      workflowsPath: path.join(PROJECT_ROOT, 'test', 'unit', 'gameday-workflows.ts'),
      logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never,
    }),
  ]);
}, 120_000);
afterEach(async () => {
  await worker?.stop(); // a test that failed half-way
  worker = undefined;
});
afterAll(async () => {
  await env?.teardown();
});

// ---- game days ------------------------------------------------------------------------------------------

/** A stand-in experiment: its title is what the stand-in child does ("refuted", "passed after 3h"). */
const exp = (title: string) => ({
  experiment: { title, method: [{ kind: 'container.pause' }] } as unknown as Experiment,
  file: 'x.yaml',
});
const step = (name: string, titles: string[], onFailure: 'stop' | 'continue' | 'ask' = 'stop', deadline?: string) =>
  ({
    name,
    kind: 'experiments',
    experiments: titles.map(exp),
    onFailure,
    ...(deadline ? { deadline } : {}),
  }) as GameDayStep;
const gate = (name: string): GameDayStep => ({ name, kind: 'gate', text: `${name}?` });
const gameDay = (steps: GameDayStep[], searchAttributes = false): GameDayInput => ({
  title: 'unit game day',
  owner: 'alice',
  approvers: ['bob', 'carol'],
  observers: ['dave'],
  steps,
  searchAttributes,
});

/** The shipped example (experiments/examples/gameday.yaml) with each experiment's title set to what it does. */
async function shippedExample(does: Record<string, string[]>): Promise<GameDayInput> {
  const r = await parseGameDayFile(path.join(PROJECT_ROOT, 'experiments', 'examples', 'gameday.yaml'));
  if (!r.ok) throw new Error('the shipped example does not compile');
  return {
    ...r.value,
    searchAttributes: false,
    steps: r.value.steps.map((s) =>
      s.kind === 'experiments'
        ? {
            ...s,
            experiments: s.experiments.map((e, i) => ({
              ...e,
              experiment: { ...e.experiment, title: does[s.name]?.[i] ?? 'passed' },
            })),
          }
        : s,
    ),
  };
}

let worker: TestWorker | undefined;
let queue = '';
async function start(input: GameDayInput, id: string, opts: { cache?: boolean } = {}) {
  queue = taskQueue('gameday');
  worker = await newWorker(opts);
  return env.client.workflow.start(GAME_DAY_TYPE, { taskQueue: queue, workflowId: id, args: [input] });
}
const newWorker = (opts: { cache?: boolean } = {}) =>
  startWorker(env, {
    taskQueue: queue,
    workflowBundle,
    ...(opts.cache === false ? { maxCachedWorkflows: 0 } : {}),
  });
/**
 * Lets the game day run to its end, the server's clock moved on a quarter of an hour at a time (see
 * advanceUntil), and returns its result.
 */
async function finish(h: WorkflowHandle): Promise<GameDayJournal> {
  try {
    await advanceUntil(h, 'the end', (j) => !!j.verdict);
    return (await h.result()) as GameDayJournal;
  } finally {
    await worker?.stop();
    worker = undefined;
  }
}

/** Polls the journal (wall-clock: the server skips time only while a result is awaited). */
async function until(h: WorkflowHandle, what: string, ok: (j: GameDayJournal) => boolean): Promise<GameDayJournal> {
  for (let i = 0; i < 400; i++) {
    const j = await h.query(gameDayQuery);
    if (ok(j)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}: ${JSON.stringify(await h.query(gameDayQuery))}`);
}
/**
 * Moves the server's clock on, a quarter of an hour at a time, until the journal shows `ok`. Not by
 * awaiting the result, which lets the server skip time on its own: it then skips to the next timer before a
 * cancelled child has taken its cancellation in (a step past its 2-hour deadline took its child's 10 hours),
 * and at a gate, with no timer left, to the end of time (the run timed out).
 */
async function advanceUntil(h: WorkflowHandle, what: string, ok: (j: GameDayJournal) => boolean) {
  for (let i = 0; i < 200; i++) {
    const j = await until(h, what, () => true);
    if (ok(j)) return j;
    await env.sleep('15m');
  }
  throw new Error(`never: ${what}`);
}
const waitingAt = (h: WorkflowHandle, s: string) => until(h, `waiting at ${s}`, (j) => j.waitingAt === s);
const approve = (h: WorkflowHandle, who: string, step?: string) =>
  h.executeUpdate(approveGateUpdate, { args: [{ who, ...(step === undefined ? {} : { step }) }] });

/** The validator's reason of a refused update. */
async function refused(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'the update was accepted').toBeInstanceOf(WorkflowUpdateFailedError);
  return (e as WorkflowUpdateFailedError).cause?.message ?? '';
}

const statuses = (j: GameDayJournal) => j.steps.map((s) => `${s.name} ${s.status} ${s.verdict ?? '-'}`);

describe('a failed step is never a pass', () => {
  it('the shipped example, both children of latency-and-pause aborted, the `ask` approved by bob: refuted', async () => {
    const input = await shippedExample({ 'latency-and-pause': ['aborted', 'aborted'] });
    const h = await start(input, 'gd-shipped-ask');
    await waitingAt(h, 'go-no-go');
    await approve(h, 'bob', 'go-no-go');
    await waitingAt(h, 'latency-and-pause');
    await approve(h, 'bob', 'latency-and-pause');
    const j = await finish(h);
    expect(j.verdict).toBe('refuted');
    expect(statuses(j)).toEqual([
      'warm-up passed passed',
      'go-no-go passed passed',
      'latency-and-pause failed refuted',
      'step-4 done -',
    ]);
    expect(j.reason).toBe(
      'step latency-and-pause failed (aborted: aborted, aborted: aborted); on failure: ask, bob said go on, so the game day went on',
    );
    expect(j.summary).toBe(
      `${input.title}: refuted · 2 passed, 1 failed (latency-and-pause), 0 skipped, 0 aborted · 2 approvals, 1 notes`,
    );
    expect(j.steps[2]?.onFailure).toEqual({ policy: 'ask', wentOn: true, by: 'bob' });
  });

  it('onFailure continue: a refuted step, then a passed one: refuted, naming the step', async () => {
    const h = await start(gameDay([step('breaks', ['refuted'], 'continue'), step('after', ['passed'])]), 'gd-continue');
    const j = await finish(h);
    expect(j.verdict).toBe('refuted');
    expect(statuses(j)).toEqual(['breaks failed refuted', 'after passed passed']);
    expect(j.reason).toBe('step breaks failed (refuted: refuted); on failure: continue, so the game day went on');
  });

  it('every step passed: passed', async () => {
    const h = await start(await shippedExample({}), 'gd-shipped-passed');
    await waitingAt(h, 'go-no-go');
    await approve(h, 'bob');
    const j = await finish(h);
    expect(j.verdict).toBe('passed');
    expect(j.reason).toBe('every step passed');
  });
});

describe('approvals name their step', () => {
  it('a late approval for gate A does not open gate B: refused, naming what waits', async () => {
    const h = await start(gameDay([gate('a'), gate('b'), step('after', ['passed'])]), 'gd-late');
    await waitingAt(h, 'a');
    await approve(h, 'bob', 'a');
    await waitingAt(h, 'b');
    expect(await refused(approve(h, 'carol', 'a'))).toBe(
      'step a is not waiting for an approval (it is passed, approved by bob); waiting: b',
    );
    const j = await h.query(gameDayQuery);
    expect(j.waitingAt).toBe('b');
    expect(statuses(j)).toEqual(['a passed passed', 'b waiting -', 'after pending -']);
    expect(j.events.map((e) => [e.what, e.who, e.step])).toEqual([['approve', 'bob', 'a']]);
    await approve(h, 'carol', 'b');
    const end = await finish(h);
    expect(end.verdict).toBe('passed');
    expect(end.events.map((e) => [e.what, e.who, e.step])).toEqual([
      ['approve', 'bob', 'a'],
      ['approve', 'carol', 'b'],
    ]);
  });

  it('a late approval for a gate does not answer the `ask` of a failed step', async () => {
    const h = await start(
      gameDay([gate('go'), step('breaks', ['refuted'], 'ask'), step('after', ['passed'])]),
      'gd-ask',
    );
    await waitingAt(h, 'go');
    await approve(h, 'bob', 'go');
    await waitingAt(h, 'breaks');
    expect(await refused(approve(h, 'carol', 'go'))).toBe(
      'step go is not waiting for an approval (it is passed, approved by bob); waiting: breaks',
    );
    expect((await h.query(gameDayQuery)).waitingAt).toBe('breaks');
    await approve(h, 'carol', 'breaks');
    const j = await finish(h);
    expect(j.verdict).toBe('refuted');
    expect(statuses(j)).toEqual(['go passed passed', 'breaks failed refuted', 'after passed passed']);
    expect(j.reason).toBe(
      'step breaks failed (refuted: refuted); on failure: ask, carol said go on, so the game day went on',
    );
  });

  it('an approval naming a step that is not waiting, or no step at all, is refused with what waits', async () => {
    const h = await start(gameDay([gate('a'), gate('b')]), 'gd-refused');
    await waitingAt(h, 'a');
    expect(await refused(approve(h, 'bob', 'b'))).toBe(
      'step b is not waiting for an approval (it is pending); waiting: a',
    );
    expect(await refused(approve(h, 'bob', 'nope'))).toBe('no step named nope (steps: a, b); waiting: a');
    expect(await refused(approve(h, 'mallory', 'a'))).toBe(
      'mallory is not an approver (approvers: bob, carol; or the owner, alice)',
    );
    expect((await h.query(gameDayQuery)).events).toEqual([]);
    // An old client names no step: it approves the one step waiting.
    await approve(h, 'bob');
    await waitingAt(h, 'b');
    await approve(h, 'alice', 'b');
    const j = await finish(h);
    expect(j.events.map((e) => [e.who, e.step])).toEqual([
      ['bob', 'a'],
      ['alice', 'b'],
    ]);
  });

  it('with nothing waiting, an approval is refused', async () => {
    const h = await start(gameDay([step('long', ['passed after 1h']), gate('g')]), 'gd-nothing-waits');
    await until(h, 'the step runs', (j) => j.steps[0]?.status === 'running');
    expect(await refused(approve(h, 'bob'))).toBe('the game day is not waiting for an approval (no step is waiting)');
    expect(await refused(approve(h, 'bob', 'long'))).toBe(
      'step long never waits for an approval (an experiment step whose onFailure is not ask); no step is waiting for an approval',
    );
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'g', who: 'alice' }] });
    const j = await finish(h);
    expect(statuses(j)).toEqual(['long passed passed', 'g skipped -']);
  });
});

describe('long game days and operators', () => {
  it('a 12-hour game day (deadlines and gates over hours) completes in workflow time, each step timed', async () => {
    const h = await start(
      gameDay([
        step('three-hours', ['passed after 3h'], 'stop', '4h'),
        gate('after-lunch'),
        step('too-slow', ['passed after 10h'], 'continue', '2h'),
        step('five-hours', ['passed after 5h', 'passed after 4h']),
      ]),
      'gd-12h',
    );
    await advanceUntil(h, 'the gate', (j) => j.waitingAt === 'after-lunch');
    await env.sleep('2h'); // the approver answers two hours later
    await approve(h, 'bob', 'after-lunch');
    const j = await finish(h); // the rest of the day
    expect(j.verdict).toBe('refuted');
    const hours = (a?: string, b?: string) => (Date.parse(b ?? '') - Date.parse(a ?? '')) / 3_600_000;
    const took = j.steps.map((s) => Math.round(hours(s.startedAt, s.finishedAt) * 100) / 100);
    expect(statuses(j)).toEqual([
      'three-hours passed passed',
      'after-lunch passed passed',
      'too-slow failed refuted',
      'five-hours passed passed',
    ]);
    expect(took[0]).toBeCloseTo(3, 1);
    expect(took[1]).toBeGreaterThanOrEqual(2);
    expect(took[2]).toBeGreaterThanOrEqual(2); // its deadline (give or take one advance of the clock),
    expect(took[2]).toBeLessThanOrEqual(2.25); // not its ten hours
    expect(took[3]).toBeCloseTo(5, 1);
    expect(hours(j.startedAt, j.finishedAt)).toBeGreaterThanOrEqual(12);
    expect(j.steps[2]?.reason).toBe('deadline 2h passed; its experiments were aborted and reverted');
    expect(j.steps[2]?.children[0]?.verdict).toBe('aborted');
    expect(j.verdict).toBe('refuted');
    expect(j.reason).toMatch(/^step too-slow failed \(deadline 2h passed; .*\); on failure: continue/);
  });

  it('skip of a running step and abort of a running parallel step: the main loop cancels, the abort returns once every child ended', async () => {
    const h = await start(
      gameDay([
        step('skip-me', ['passed after 1h']),
        step('long', ['passed after 5h', 'passed after 6h']),
        step('never', ['passed']),
      ]),
      'gd-skip-abort',
    );
    await until(h, 'skip-me runs', (j) => j.steps[0]?.children.length === 1);
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'skip-me', who: 'alice' }] });
    await until(h, 'long runs', (j) => j.steps[1]?.children.length === 2);
    const aborted = await h.executeUpdate(abortGameDayUpdate, { args: [{ reason: 'incident', who: 'alice' }] });
    expect(aborted.steps[1]?.children.map((c) => c.verdict)).toEqual(['aborted', 'aborted']);
    const j = await finish(h);
    expect(statuses(j)).toEqual(['skip-me skipped -', 'long aborted aborted', 'never skipped -']);
    expect(j.verdict).toBe('aborted');
    expect(j.reason).toBe('aborted by alice: incident');
  });

  it('the shipped example with the game day aborted at its gate is aborted, never passed', async () => {
    const h = await start(await shippedExample({}), 'gd-shipped-abort');
    await waitingAt(h, 'go-no-go');
    await h.executeUpdate(abortGameDayUpdate, { args: [{ reason: 'not today', who: 'alice' }] });
    const j = await finish(h);
    expect(j.verdict).toBe('aborted');
    expect(statuses(j)).toEqual([
      'warm-up passed passed',
      'go-no-go aborted aborted',
      'latency-and-pause skipped -',
      'step-4 skipped -',
    ]);
    expect(j.verdict).toBe('aborted');
  });
});

describe('replacing the worker changes nothing', () => {
  /** A game day driven by seven messages; `fresh`: a new worker, with no cache, before each of them. */
  async function drive(id: string, fresh: boolean): Promise<GameDayJournal> {
    const h = await start(
      gameDay(
        [
          gate('go'),
          step('warm-up', ['passed after 10m'], 'stop', '1h'),
          step('breaks', ['refuted', 'passed after 5m'], 'ask'),
          gate('second'),
          step('skipped-while-running', ['hangs']),
          step('last', ['passed after 1m']),
        ],
        true,
      ),
      id,
      { cache: !fresh },
    );
    const replace = async () => {
      if (!fresh) return;
      await worker?.stop();
      worker = await newWorker({ cache: false });
    };
    await waitingAt(h, 'go');
    await replace();
    await h.executeUpdate(addNoteUpdate, { args: [{ who: 'dave', text: 'dashboards green' }] });
    await replace();
    await approve(h, 'bob', 'go');
    await replace();
    await advanceUntil(h, 'breaks waits', (j) => j.waitingAt === 'breaks');
    await replace();
    expect(await refused(approve(h, 'carol', 'go'))).toMatch(/^step go is not waiting/);
    await replace();
    await approve(h, 'carol', 'breaks').catch(async (e) => {
      const hist = await h.fetchHistory();
      console.log(
        hist.events
          ?.map(
            (ev) =>
              `${ev.eventId} ${ev.eventType} ${JSON.stringify(ev.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? '')}`,
          )
          .join('\n'),
      );
      throw e;
    });
    await replace();
    await advanceUntil(h, 'second waits', (j) => j.waitingAt === 'second');
    await approve(h, 'bob', 'second');
    await replace();
    await until(h, 'skipped-while-running runs', (j) => j.steps[4]?.children.length === 1);
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'skipped-while-running', who: 'alice' }] });
    await replace();
    return finish(h);
  }
  /** The journal without its times and IDs. */
  const shape = (j: GameDayJournal) =>
    JSON.parse(
      JSON.stringify(j, (k, v: unknown) =>
        ['at', 'startedAt', 'finishedAt'].includes(k)
          ? typeof v
          : k === 'workflowId'
            ? String(v).replace(/^gd-(one-worker|many-workers)/, 'ID')
            : v,
      ),
    ) as unknown;

  it(
    'a fresh worker (no cache) between every two messages: the same journal as one worker',
    { timeout: 120_000 },
    async () => {
      const one = await drive('gd-one-worker', false);
      const many = await drive('gd-many-workers', true);
      expect(one.verdict).toBe('refuted');
      expect(statuses(one)).toEqual([
        'go passed passed',
        'warm-up passed passed',
        'breaks failed refuted',
        'second passed passed',
        'skipped-while-running skipped -',
        'last passed passed',
      ]);
      expect(shape(many)).toEqual(shape(one));
    },
  );
});

describe('a scheduled game day', () => {
  async function scheduled(id: string, input: GameDayInput): Promise<{ r: ScheduledRunResult; pauses: unknown[][] }> {
    queue = taskQueue('gameday-scheduled');
    const { activities, calls } = mockActivities({ pauseSchedule: async (_id: string, _note: string) => undefined });
    worker = await startWorker(env, { taskQueue: queue, workflowBundle, activities });
    try {
      const r = (await env.client.workflow.execute(SCHEDULED_RUN_TYPE, {
        taskQueue: queue,
        workflowId: id,
        args: [
          {
            scheduleId: 'weekly',
            childType: GAME_DAY_TYPE,
            childArgs: [input],
            title: input.title,
            pauseOn: ['aborted', 'refuted'],
          },
        ],
      })) as ScheduledRunResult;
      return { r, pauses: callsOf(calls, 'pauseSchedule').map((c) => c.args) };
    } finally {
      await worker.stop();
      worker = undefined;
    }
  }

  it('refuted under `continue`: its schedule is paused, naming the game day and the failed step', async () => {
    const { r, pauses } = await scheduled(
      'gd-sched-refuted',
      gameDay([step('breaks', ['refuted'], 'continue'), step('after', ['passed'])]),
    );
    expect(r).toMatchObject({ child: 'gd-sched-refuted-run', verdict: 'refuted', pausedSchedule: true });
    expect(pauses).toEqual([
      [
        'weekly',
        'paused by gd-sched-refuted-run: refuted: step breaks failed (refuted: refuted); on failure: continue, so the game day went on',
      ],
    ]);
  });

  it('passed: its schedule keeps running', async () => {
    const { r, pauses } = await scheduled('gd-sched-passed', gameDay([step('ok', ['passed'])]));
    expect(r).toMatchObject({ verdict: 'passed', pausedSchedule: false });
    expect(pauses).toEqual([]);
  });
});
