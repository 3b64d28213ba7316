// Activities: thin adapters between the workflow and the world. Built by a factory so the worker
// wires the ports (Docker, proxy) in; workflows import only the type of what this returns.
import { Context, ApplicationFailure } from '@temporalio/activity';
import {
  GUARD_RECORD_QUERY,
  GUARD_VIOLATION_SIGNAL,
  runGuard,
  type ObserveInput,
  type ObserveResult,
  type RunLink,
} from './guard.ts';
import type { Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { FaultTarget } from '../faults/types.ts';
import { runProbe } from './probes.ts';
import { needsContainers, planFaults, routesOf, type FaultPlan } from './plan.ts';
import type { Experiment, FaultEntry, Probe } from '../experiments/schema.ts';
import type { GuardViolation, ProbeSample, SelectedTarget } from '../experiments/journal.ts';
import { FaultlineError, UnknownFaultKind } from '../errors.ts';

export type { FaultPlan } from './plan.ts';

/** Rethrow our non-retryable errors as non-retryable failures; everything else is retried by Temporal. */
function classify(e: unknown): never {
  if (e instanceof FaultlineError && !e.retryable) {
    throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: true });
  }
  throw e;
}

/** Wraps an activity so our domain errors fail it without retries (see classify). */
function classified<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (e) {
      return classify(e);
    }
  };
}

function kindOf(name: string) {
  const k = faultKind(name);
  if (!k) classify(new UnknownFaultKind(`unknown fault kind ${name}`));
  return k;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type { ObserveInput, ObserveResult, RunLink } from './guard.ts';
export type { GuardFault } from './guard.ts';

/**
 * Heartbeats on a timer while fn runs: a worker that dies mid-call is noticed within the heartbeat
 * timeout (seconds), and a slow call against a broken system does not look like a dead worker.
 */
async function heartbeating<R>(fn: (signal?: AbortSignal) => Promise<R>, details?: () => unknown): Promise<R> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return fn(); // called directly (unit tests): no activity, nothing to heartbeat
  }
  const c = ctx;
  const beat = () => c.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, 500);
  try {
    return await fn(c.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/** The run this activity belongs to, through the worker's client. */
export function contextRunLink(): RunLink {
  const ctx = Context.current();
  const run = ctx.info.workflowExecution;
  const handle = () => ctx.client.workflow.getHandle(run?.workflowId ?? '', run?.runId);
  return {
    reportViolation: (v) => handle().signal(GUARD_VIOLATION_SIGNAL, v),
    guardRecord: () => handle().query<{ violation?: GuardViolation }>(GUARD_RECORD_QUERY),
  };
}

export interface ActivityDeps {
  /** How the guard reaches its workflow run; tests wrap it to simulate a dead worker. */
  runLink?: () => RunLink;
}

export function createActivities(ports: Ports, deps: ActivityDeps = {}) {
  const runLink = deps.runLink ?? contextRunLink;
  async function probeRound(probes: Probe[], signal?: AbortSignal): Promise<ProbeSample[]> {
    const out: ProbeSample[] = [];
    for (const p of probes) out.push(await runProbe(p, signal));
    return out;
  }

  return {
    runProbes: (probes: Probe[]) => heartbeating((signal) => probeRound(probes, signal)),

    /** Polls the probes until all hold or the timeout passes; returns the last round. */
    async awaitSteadyState(
      probes: Probe[],
      timeoutMs: number,
    ): Promise<{ ok: boolean; samples: ProbeSample[]; attempts: number }> {
      const until = Date.now() + timeoutMs;
      let attempts = 0;
      let last: ProbeSample[] = [];
      return heartbeating(
        async (signal) => {
          for (;;) {
            attempts++;
            const samples = await probeRound(probes, signal);
            last = samples;
            if (samples.every((s) => s.ok)) return { ok: true, samples, attempts };
            if (Date.now() >= until) return { ok: false, samples, attempts };
            await sleep(Math.min(500, Math.max(0, until - Date.now())));
          }
        },
        () => ({ attempts, samples: last }),
      );
    },

    /** Reads the fleet and the proxy's routes, then plans purely (./plan.ts): targets (seeded), routes checked. */
    planFaults: classified(async (e: Experiment, seed: number): Promise<FaultPlan> => {
      const containers = needsContainers(e) && e.targets ? await ports.containers.list() : [];
      const routes = routesOf(e).length ? await ports.proxy.listProxies() : [];
      return planFaults(e, containers, routes, seed);
    }),

    /** Reads what the revert will need; the workflow records the handle before injecting. */
    prepareFault: classified(
      async (spec: FaultEntry, target: SelectedTarget | undefined): Promise<Record<string, unknown>> => {
        const t: FaultTarget = target ? { container: target } : {};
        return kindOf(spec.kind).prepare(ports, spec, t);
      },
    ),

    /** Heartbeats, so a dead worker's inject moves on within seconds; an abort that arrived first wins. */
    injectFault: classified(async (spec: FaultEntry, handle: Record<string, unknown>): Promise<{ at: string }> =>
      heartbeating(async (signal) => {
        signal?.throwIfAborted();
        await kindOf(spec.kind).inject(ports, spec, handle);
        return { at: new Date().toISOString() };
      }),
    ),

    /** Idempotent; retried by the workflow until it succeeds. */
    revertFault: async (kind: string, handle: Record<string, unknown>): Promise<{ at: string }> =>
      heartbeating(async () => {
        await kindOf(kind).revert(ports, handle);
        return { at: new Date().toISOString() };
      }),

    /** The fault window: see ./guard.ts. Heartbeats its progress; cancelled on abort. */
    observe: async (input: ObserveInput): Promise<ObserveResult> =>
      runGuard(ports, kindOf, runLink(), input, Context.current()),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ControlActivities } from './control.ts';
