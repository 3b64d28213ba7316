// Activities: thin adapters between the workflow and the world. Built by a factory so the worker
// wires the ports (Docker, proxy) in; workflows import only the type of what this returns.
import { Context, ApplicationFailure } from '@temporalio/activity';
import { runGuard, type ObserveInput, type ObserveResult, type RunLink } from './guard.ts';
import { guardRecordQuery, guardViolationSignal } from '../definitions/experiment.ts';
import { randomBytes } from 'node:crypto';
import { noteApplied, type Applied } from './guard-hub.ts';
import type { ContainerInfo, Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { AnyFaultKind, FaultTarget } from '../faults/types.ts';
import { CONTAINER_LEASE_MS, leaseOf } from '../faults/lease.ts';
import { INJECT_ACTIVITY_MS } from '../faults/limits.ts';
import { runProbe } from './probes.ts';
import { needsFleet, needsUpstreams, planFaults, routesOf, type FaultPlan, type Groups } from './plan.ts';
import type { Experiment, FaultEntry, Probe } from '../experiments/schema.ts';
import type { ProbeSample, SelectedTarget } from '../experiments/journal.ts';
import { FaultlineError, InvalidInput, UnknownFaultKind } from '../errors.ts';
import type { Judge } from '../experiments/schema.ts';
import { measureBaseline, type BaselineResult } from './judge.ts';
import { revertAndReport, type RevertOptions, type RevertReport } from './revert.ts';

export type { FaultPlan } from './plan.ts';

/** One host's containers, as its agent listed them for planning. */
export interface HostInventory {
  host: string;
  containers: ContainerInfo[];
}

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

/** The workflow of the activity running now; undefined when called directly (unit tests). */
function currentWorkflowId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tells the guard of the current activity's run, if it runs in this process, that a fault was applied. */
function tellGuard(index: number, at: string, handle: Record<string, unknown>): void {
  try {
    const run = Context.current().info.workflowExecution;
    noteApplied(run?.workflowId, run?.runId, { index, at, handle });
  } catch {
    // called directly (unit tests): no run
  }
}

export type { ObserveInput, ObserveResult, RunLink } from './guard.ts';
export type { EarlyFault, GuardFault } from './guard.ts';

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
    reportViolation: (v) => handle().signal(guardViolationSignal, v),
    guardRecord: () => handle().query(guardRecordQuery),
    watchInjects: (signal, completed) => watchInjects(ctx, signal, completed),
  };
}

/** The inject activities of a run (one fault; a host's batch), whose completion a guard waits for. */
const INJECTS = new Set(['injectFault', 'injectFaults']);

/**
 * Long-polls the run's history (waitNewEvent: the server answers when events are added, no workflow task)
 * and calls `completed` for each inject activity that completed, until the run closes or `signal` aborts.
 */
async function watchInjects(ctx: Context, signal: AbortSignal, completed: (applied?: Applied) => void): Promise<void> {
  const run = ctx.info.workflowExecution;
  if (!run) throw new Error('no run to watch');
  const client = ctx.client;
  const injects = new Set<string>();
  // A single fault's inject names its fault (runs from 'guard-starts-with-intents' on) and returns its time:
  // the history says when it was applied without waiting for the run's workflow task to record it.
  const named = new Map<string, { index: number; handle: Record<string, unknown> }>();
  const decode = (p: Parameters<typeof client.options.loadedDataConverter.payloadConverter.fromPayload>[0]) => {
    try {
      return client.options.loadedDataConverter.payloadConverter.fromPayload(p) as unknown;
    } catch {
      return undefined;
    }
  };
  let nextPageToken: Uint8Array | undefined;
  while (!signal.aborted) {
    const res = await client.connection.withAbortSignal(signal, () =>
      client.workflowService.getWorkflowExecutionHistory({
        namespace: ctx.info.workflowNamespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
        waitNewEvent: true,
        ...(nextPageToken ? { nextPageToken } : {}),
      }),
    );
    for (const e of res.history?.events ?? []) {
      const sched = e.activityTaskScheduledEventAttributes;
      const name = sched?.activityType?.name;
      if (name && INJECTS.has(name)) injects.add(String(e.eventId));
      const args = sched?.input?.payloads;
      if (name === 'injectFault' && args?.length === 3) {
        const handle = decode(args[1]!) as Record<string, unknown> | undefined;
        const fault = decode(args[2]!) as { index?: unknown } | undefined;
        if (handle && typeof fault?.index === 'number') named.set(String(e.eventId), { index: fault.index, handle });
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (!done || !injects.has(String(done.scheduledEventId))) continue;
      const f = named.get(String(done.scheduledEventId));
      const r = done.result?.payloads?.[0] ? (decode(done.result.payloads[0]) as { at?: unknown }) : undefined;
      completed(f && typeof r?.at === 'string' ? { index: f.index, at: r.at, handle: f.handle } : undefined);
    }
    if (!res.nextPageToken?.length) return; // the run has closed
    nextPageToken = res.nextPageToken;
  }
}

/**
 * The run's guard conclusion, if it has one (the guardRecord query, at most 5 s); undefined when there is none,
 * or no run to ask (called directly), or the run does not answer in time (the step goes on: the guard's own
 * revert follows its conclusion and removes the rule whatever its share).
 */
async function guardConclusion(runLink: () => RunLink): Promise<string | undefined> {
  let link: RunLink;
  try {
    link = runLink();
  } catch {
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const rec = await Promise.race([
    link.guardRecord().catch(() => undefined),
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 5_000))),
  ]).finally(() => clearTimeout(timer));
  const v = rec?.violation;
  return v ? `the guard concluded at ${v.detectedAt}: ${v.failing.violations.join('; ')}` : undefined;
}

/** One target of a batch (a host's faults in one activity): its result, or its own error. */
export type TargetResult<T> =
  | { index: number; ok: true; value: T }
  | { index: number; ok: false; error: { type: string; message: string; nonRetryable: boolean } };
export interface BatchPrepare {
  index: number;
  spec: FaultEntry;
  target: SelectedTarget | undefined;
}
export interface BatchInject {
  index: number;
  spec: FaultEntry;
  handle: Record<string, unknown>;
}
export interface BatchRevert {
  index: number;
  kind: string;
  handle: Record<string, unknown>;
  opts?: RevertOptions;
}

/** Runs one target's step of a batch: its value, or its error as data (retryable as its activity's would be). */
async function perTarget<T>(index: number, step: () => Promise<T>): Promise<TargetResult<T>> {
  try {
    return { index, ok: true, value: await step() };
  } catch (e) {
    if (e instanceof FaultlineError)
      return { index, ok: false, error: { type: e.name, message: e.message, nonRetryable: !e.retryable } };
    if (e instanceof ApplicationFailure)
      return {
        index,
        ok: false,
        error: { type: e.type ?? 'Error', message: e.message, nonRetryable: !!e.nonRetryable },
      };
    const err = e instanceof Error ? e : new Error(String(e));
    return { index, ok: false, error: { type: err.name, message: err.message, nonRetryable: false } };
  }
}

export interface ActivityDeps {
  /** How the guard reaches its workflow run; tests wrap it to simulate a dead worker. */
  runLink?: () => RunLink;
}

export function createActivities(ports: Ports, deps: ActivityDeps = {}) {
  const runLink = deps.runLink ?? contextRunLink;
  const leases = ports.leases;
  /**
   * A container kind with its warden lease: the revert releases the lease first (one owner per lifetime),
   * renew pushes it forward and reports it missing when the warden took it. No restore: a fault the warden
   * reverted because nobody renewed it is not applied again.
   */
  const leased = (k: AnyFaultKind): AnyFaultKind => {
    if (!k.needsContainer || !leases) return k;
    return {
      ...k,
      revert: async (p, h: Record<string, unknown>) => {
        const l = leaseOf(h);
        if (l) await leases.release(l.id);
        return k.revert(p, h);
      },
      renew: async (_p, h: Record<string, unknown>) => {
        const l = leaseOf(h);
        return l && !(await leases.renew(l.id)) ? 1 : 0;
      },
    };
  };
  async function probeRound(probes: Probe[], signal?: AbortSignal): Promise<ProbeSample[]> {
    const out: ProbeSample[] = [];
    for (const p of probes) out.push(await runProbe(p, signal));
    return out;
  }

  /**
   * Reads what the revert will need; the workflow records the handle before injecting. A container
   * fault's handle also names its lease, and is refused here (nothing injected) when no warden watches.
   */
  async function prepareOne(spec: FaultEntry, target: SelectedTarget | undefined): Promise<Record<string, unknown>> {
    const run = currentWorkflowId();
    const t: FaultTarget = target ? { container: target, ...(run ? { run } : {}) } : {};
    const kind = kindOf(spec.kind);
    if (!kind.needsContainer || !leases) return kind.prepare(ports, spec, t);
    await leases.ready();
    const handle = await kind.prepare(ports, spec, t);
    const wf = run ?? 'run';
    const id = `${wf.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120)}.${randomBytes(6).toString('hex')}`;
    return { ...handle, lease: { id, ms: CONTAINER_LEASE_MS } };
  }

  /**
   * One fault's inject. The lease goes to the warden before the side effect, so a runner dying right after
   * still leaves it. It is held for the inject budget first: the guard renews it only once every inject of
   * the method has settled, and a sibling stop may wait its grace period meanwhile.
   */
  async function injectOne(spec: FaultEntry, handle: Record<string, unknown>): Promise<{ at: string }> {
    const lease = leaseOf(handle);
    if (lease && leases) {
      const { workflowId, runId } = Context.current().info.workflowExecution ?? {};
      const granted = {
        id: lease.id,
        kind: spec.kind,
        handle,
        leaseMs: lease.ms,
        grantedAt: new Date().toISOString(),
        workflowId,
        runId,
      };
      await leases.grant(granted, INJECT_ACTIVITY_MS + lease.ms);
    }
    await kindOf(spec.kind).inject(ports, spec, handle);
    return { at: new Date().toISOString() };
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

    /**
     * The judge's baselines, over its window during steady state before; checks every judged expression
     * against the server first (a rejected or ambiguous one is not-started, naming the metric).
     */
    measureBaseline: classified(async (judge: Judge, groups?: Groups): Promise<BaselineResult> =>
      heartbeating((signal) => measureBaseline(judge, () => undefined, signal, groups)),
    ),

    /** This host's daemon and its containers (an agent's half of planning across the fleet). */
    listContainers: classified(
      async (): Promise<{ daemon?: { id: string; name: string }; containers: ContainerInfo[] }> => ({
        daemon: await ports.containers.daemon?.(),
        containers: await ports.containers.list(),
      }),
    ),

    /** Reads the fleet and the proxy's routes, then plans purely (./plan.ts): targets (seeded), routes checked. */
    planFaults: classified(async (e: Experiment, seed: number, fleet?: HostInventory[]): Promise<FaultPlan> => {
      // Across a fleet the workflow gathered every host's containers (each tagged with its host) first.
      const containers = needsFleet(e)
        ? (fleet?.flatMap((h) => h.containers.map((c) => ({ ...c, host: h.host }))) ?? (await ports.containers.list()))
        : [];
      const routes = routesOf(e).length ? await ports.proxy.listProxies() : [];
      const upstreams: Record<string, string> = {};
      if (needsUpstreams(e))
        for (const r of routesOf(e).filter((x) => routes.includes(x))) {
          const u = (await ports.proxy.inspectProxy(r))?.upstream;
          if (u) upstreams[r] = u;
        }
      return planFaults(e, containers, routes, seed, upstreams);
    }),

    /**
     * Reads what the revert will need; the workflow records the handle before injecting. A container
     * fault's handle also names its lease, and is refused here (nothing injected) when no warden watches.
     */
    prepareFault: classified(prepareOne),

    /**
     * A host's container faults in one call (runs from 'fleet-batches' on, for a host with two or more):
     * each target's prepareFault, all at once, each with its own result.
     */
    prepareFaults: async (items: BatchPrepare[]): Promise<TargetResult<Record<string, unknown>>[]> =>
      Promise.all(items.map((it) => perTarget(it.index, () => prepareOne(it.spec, it.target)))),

    /**
     * Heartbeats, so a dead worker's inject moves on within seconds; an abort that arrived first wins. With
     * the fault's index (runs from 'guard-starts-with-intents' on), its run's guard in this process hears
     * of it at once (./guard-hub.ts).
     */
    injectFault: classified(
      async (spec: FaultEntry, handle: Record<string, unknown>, fault?: { index: number }): Promise<{ at: string }> =>
        heartbeating(async (signal) => {
          signal?.throwIfAborted();
          const r = await injectOne(spec, handle);
          if (fault) tellGuard(fault.index, r.at, handle);
          return r;
        }),
    ),

    /**
     * A host's container faults injected in one call (runs from 'fleet-batches' on), all at once, each with
     * its own result. A retried attempt applies nothing twice: every target applied is in the heartbeat's
     * details, and the next attempt returns its recorded time without touching it again (and each kind's
     * inject is idempotent for what a lost heartbeat did not record). Cancelled (an abort), it starts no
     * other target, waits for those in flight and fails as cancelled: the run reverts every one.
     */
    injectFaults: async (items: BatchInject[]): Promise<TargetResult<{ at: string }>[]> => {
      let ctx: Context | undefined;
      try {
        ctx = Context.current();
      } catch {
        ctx = undefined; // called directly (unit tests)
      }
      const before = (ctx?.info.heartbeatDetails as { applied?: Record<number, string> } | undefined)?.applied;
      const applied: Record<number, string> = { ...before };
      const results = await heartbeating(
        (signal) =>
          Promise.all(
            items.map((it) =>
              perTarget(it.index, async () => {
                const at = applied[it.index];
                if (at) {
                  tellGuard(it.index, at, it.handle);
                  return { at, retried: true };
                }
                signal?.throwIfAborted();
                const r = await injectOne(it.spec, it.handle);
                applied[it.index] = r.at;
                tellGuard(it.index, r.at, it.handle);
                ctx?.heartbeat({ applied });
                return r;
              }),
            ),
          ),
        () => ({ applied }),
      );
      ctx?.cancellationSignal.throwIfAborted();
      return results;
    },

    /**
     * Idempotent; retried by the workflow until it succeeds. A container fault's lease is released first.
     * Reports whether it undid the fault or found it undone already, and then when and by whom (./revert.ts).
     */
    revertFault: async (
      kind: string,
      handle: Record<string, unknown>,
      opts: RevertOptions = {},
    ): Promise<RevertResult> => heartbeating(() => revertAndReport(ports, leased(kindOf(kind)), handle, opts)),

    /**
     * A host's faults reverted in one call (runs from 'fleet-batches' on): each target's revertFault, all at
     * once, each with its own result (a target that failed is retried by the run on its own). Idempotent.
     */
    revertFaults: async (items: BatchRevert[]): Promise<TargetResult<RevertResult>[]> =>
      heartbeating(() =>
        Promise.all(
          items.map((it) =>
            perTarget(it.index, () => revertAndReport(ports, leased(kindOf(it.kind)), it.handle, it.opts)),
          ),
        ),
      ),

    /**
     * A step of a progressive exposure: the fault's rules updated in place to `share` percent of the traffic,
     * under a new lease (idempotent; the revert removes them whatever the step). Never puts back a rule that
     * is gone, and changes nothing once the run's guard has concluded (asked first: its conclusion is durable
     * before it reverts), so a step is never applied over a failed one.
     */
    exposeFault: classified(
      async (
        kind: string,
        handle: Record<string, unknown>,
        share: number,
      ): Promise<{ at: string; missing: string[]; refused?: string }> => {
        const k = kindOf(kind);
        if (!k.expose) throw new InvalidInput(`${kind} has no share of traffic to grow`);
        const concluded = await guardConclusion(runLink);
        if (concluded) return { at: new Date().toISOString(), missing: [], refused: concluded };
        const r = await k.expose(ports, handle, share);
        return { at: new Date().toISOString(), missing: r.missing };
      },
    ),

    /** The fault window: see ./guard.ts. Heartbeats its progress; cancelled on abort. */
    observe: async (input: ObserveInput): Promise<ObserveResult> =>
      runGuard(ports, (name) => leased(kindOf(name)), runLink(), input, Context.current()),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** What revertFault reports (results recorded before reports carry only `at` and `warden`). */
export type RevertResult = RevertReport;
export type { RevertOptions, RevertReport } from './revert.ts';
export type { ControlActivities } from './control.ts';
