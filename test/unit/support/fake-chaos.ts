// The activities of an experiment run, mocked as a tiny fault system: injects add a fault to `active`,
// reverts remove it, so a test asserts what is still applied (never just which mocks were called). Every
// call is recorded with the workflow's time (see workflow-env.ts). Override any activity per test.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  BatchInject,
  BatchPrepare,
  BatchRevert,
  ObserveInput,
  ObserveResult,
  TargetResult,
} from '../../../activities/index.ts';
import type { Decision } from '../../../experiments/admission.ts';
import type { ProbeSample } from '../../../experiments/journal.ts';
import { parseExperiment } from '../../../experiments/parse.ts';
import type { Experiment, FaultEntry, Probe } from '../../../experiments/schema.ts';
import { guardRecordQuery, type RunInput } from '../../../definitions/experiment.ts';
import { mockActivities } from './workflow-env.ts';

/** A valid experiment: `faults` proxy faults (no Docker host, no fleet), each for `duration`. */
export function experiment(opts: { faults?: number; duration?: string; extra?: string } = {}): Experiment {
  const method = Array.from(
    { length: opts.faults ?? 2 },
    (_, i) =>
      `  - { kind: proxy.latency, proxy: [route-${i + 1}], latency: 300ms, duration: ${opts.duration ?? '20s'} }`,
  ).join('\n');
  const text = `title: unit experiment
hypothesis:
  statement: the front stays fast
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
method:
${method}
blastRadius: { maxTargets: 10 }
afterCheck: { recoveryTimeout: 15s }
${opts.extra ?? ''}`;
  const r = parseExperiment(text, 'unit.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

export function runInput(e: Experiment = experiment(), more: Partial<RunInput> = {}): RunInput {
  return { experiment: e, file: 'unit.yaml', searchAttributes: true, ...more };
}

/** The server's time of this activity attempt (skipped time, not the wall clock), as ISO text. */
export const serverNow = () => new Date(Context.current().info.currentAttemptScheduledTimestampMs).toISOString();

/** A probe sample; `at` defaults to the activity's server time (pass one outside an activity). */
export function sample(probe: string, ok = true, at = serverNow()): ProbeSample {
  return {
    probe,
    at,
    ok,
    requests: 10,
    errors: ok ? 0 : 10,
    errorRate: ok ? 0 : 1,
    p50Ms: 5,
    p95Ms: 8,
    p99Ms: 9,
    maxMs: 10,
    violations: ok ? [] : ['error rate 100% > 0%'],
    errorSamples: ok ? [] : ['connection refused'],
  };
}

const settled = (): Omit<ObserveResult, 'violated'> => ({
  samples: 4,
  failed: 0,
  consecutiveFailures: 0,
  reverted: {},
  revertErrors: {},
  restored: {},
});

/** The route of a proxy fault (the fake's fault id): `route-1` for the first fault of experiment(). */
export const routeOf = (spec: FaultEntry): string => ('proxy' in spec ? [spec.proxy].flat().join(',') : spec.kind);

/** One target's result in a batch: its value, or its error as data (as activities/index.ts reports it). */
async function asResult<T>(index: number, step: () => Promise<T>): Promise<TargetResult<T>> {
  try {
    return { index, ok: true, value: await step() };
  } catch (e) {
    const type = e instanceof ApplicationFailure ? (e.type ?? 'Error') : e instanceof Error ? e.name : 'Error';
    const nonRetryable = e instanceof ApplicationFailure && !!e.nonRetryable;
    return { index, ok: false, error: { type, message: e instanceof Error ? e.message : String(e), nonRetryable } };
  }
}

/** Waits until the activity's run has applied these faults (its guardRecord query); cancelled, it rethrows. */
async function untilApplied(indexes: number[]): Promise<void> {
  const ctx = Context.current();
  const run = ctx.info.workflowExecution;
  const h = ctx.client.workflow.getHandle(run?.workflowId ?? '', run?.runId);
  for (;;) {
    const rec = await Promise.race([h.query(guardRecordQuery), ctx.cancelled]);
    if (indexes.every((i) => rec.applied?.some((a) => a.index === i))) return;
    ctx.heartbeat();
    await Promise.race([ctx.cancelled, new Promise((r) => setTimeout(r, 250))]);
  }
}

/** Waits until the activity is cancelled (heartbeating so the cancellation reaches it), then rethrows it. */
export async function untilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await Promise.race([ctx.cancelled, new Promise((r) => setTimeout(r, 100))]);
  }
}

/**
 * A healthy system with proxy faults: probes hold, admission admits, injects and reverts work, the guard
 * sees nothing. `active` holds the id of every fault injected and not yet reverted.
 */
export function fakeChaos(overrides: Record<string, (...args: never[]) => Promise<unknown>> = {}) {
  const active = new Set<string>();
  const defaults = {
    runProbes: async (probes: Probe[]) => probes.map((p) => sample(p.name)),
    awaitSteadyState: async (probes: Probe[]) => ({
      ok: true,
      samples: probes.map((p) => sample(p.name)),
      attempts: 1,
    }),
    planFaults: async (e: Experiment) => ({
      faults: e.method.map((f, i) => ({ faultIndex: i, kind: f.kind, summary: `${f.kind} #${i}` })),
    }),
    admitRun: async (): Promise<Decision> => ({ admitted: true }),
    releaseRun: async () => undefined,
    // The handle names the fault's route, so two runs of one experiment record the same handles.
    prepareFault: async (spec: FaultEntry) => ({ id: routeOf(spec), kind: spec.kind }),
    injectFault: async (_spec: FaultEntry, handle: Record<string, unknown>) => {
      active.add(String(handle.id));
      return { at: serverNow() };
    },
    revertFault: async (_kind: string, handle: Record<string, unknown>) => {
      active.delete(String(handle.id));
      return { at: serverNow() };
    },
    observe: async (_input: ObserveInput): Promise<ObserveResult> => ({ violated: false, ...settled() }),
    pauseSchedule: async () => undefined,
    // A host's faults in one activity (runs from 'fleet-batches' on): each target through the mock of its
    // own activity (overrides included), its error as data as the real batch activities report it.
    prepareFaults: async (items: BatchPrepare[]) =>
      Promise.all(
        items.map((it) =>
          asResult(it.index, () =>
            (merged.prepareFault as (s: FaultEntry, t: unknown) => Promise<unknown>)(it.spec, it.target),
          ),
        ),
      ),
    injectFaults: async (items: BatchInject[]) =>
      Promise.all(items.map((it) => asResult(it.index, () => merged.injectFault(it.spec, it.handle)))),
    revertFaults: async (items: BatchRevert[]) =>
      Promise.all(items.map((it) => asResult(it.index, () => merged.revertFault(it.kind, it.handle)))),
  };
  const merged = { ...defaults, ...overrides } as typeof defaults;
  const { activities, calls } = mockActivities(merged);
  // A guard started with the intents (patched('guard-starts-with-intents')) begins its window once its run
  // has applied its faults, as the real one does (activities/guard.ts learnInjects): the mock (and its
  // record of the call) sees the window as a guard started after the injects did.
  const observe = activities.observe;
  activities.observe = async (input: ObserveInput) => {
    if (input.early?.length) await untilApplied(input.early.map((f) => f.index));
    return observe(input);
  };
  return { activities, calls, active, settled };
}
