// Activities: thin adapters between the workflow and the world. Built by a factory so the worker
// wires the ports (Docker, proxy) in; workflows import only the type of what this returns.
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { FaultTarget } from '../faults/types.ts';
import { runProbe } from './probes.ts';
import { needsContainers, planFaults, routesOf, type FaultPlan } from './plan.ts';
import type { Experiment, FaultEntry, Guard, Probe } from '../experiments/schema.ts';
import type { GuardProgress, ProbeSample, SelectedTarget } from '../experiments/journal.ts';
import { durationMs } from '../faults/duration.ts';
import { FaultlineError, UnknownFaultKind } from '../errors.ts';

export interface ObserveInput {
  guard?: Guard;
  /** Epoch ms when the fault window closes; a retried observe only runs what is left. */
  windowEndsAt: number;
  /** Active faults: leases are renewed while the window is open; on a violation they are reverted here. */
  active: { index: number; kind: string; handle: Record<string, unknown> }[];
  keepAliveEveryMs: number;
}

export type { FaultPlan } from './plan.ts';

export interface ObserveResult {
  violated: boolean;
  /** The sample that tripped the guard. */
  failing?: ProbeSample;
  /** When the guard concluded the violation (detection). */
  detectedAt?: string;
  /** When the first sample of the failing streak started. */
  firstFailureAt?: string;
  /** Faults the guard reverted itself on the violation (fault index -> time); the workflow confirms. */
  reverted?: Record<number, string>;
  revertErrors?: Record<number, string>;
  samples: number;
  failed: number;
  first?: ProbeSample;
  last?: ProbeSample;
  worst?: ProbeSample;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createActivities(ports: Ports) {
  async function runProbes(probes: Probe[]): Promise<ProbeSample[]> {
    const out: ProbeSample[] = [];
    for (const p of probes) out.push(await runProbe(p));
    return out;
  }

  return {
    runProbes,

    /** Polls the probes until all hold or the timeout passes; returns the last round. */
    async awaitSteadyState(
      probes: Probe[],
      timeoutMs: number,
    ): Promise<{ ok: boolean; samples: ProbeSample[]; attempts: number }> {
      const until = Date.now() + timeoutMs;
      let attempts = 0;
      for (;;) {
        attempts++;
        const samples = await runProbes(probes);
        Context.current().heartbeat({ attempts, samples });
        if (samples.every((s) => s.ok)) return { ok: true, samples, attempts };
        if (Date.now() >= until) return { ok: false, samples, attempts };
        await sleep(Math.min(500, Math.max(0, until - Date.now())));
      }
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

    injectFault: classified(async (spec: FaultEntry, handle: Record<string, unknown>): Promise<{ at: string }> => {
      await kindOf(spec.kind).inject(ports, spec, handle);
      return { at: new Date().toISOString() };
    }),

    /** Idempotent; retried by the workflow until it succeeds. */
    async revertFault(kind: string, handle: Record<string, unknown>): Promise<{ at: string }> {
      await kindOf(kind).revert(ports, handle);
      return { at: new Date().toISOString() };
    },

    /**
     * The fault window: guard samples at the interval and lease renewals, in one heartbeating activity
     * so history does not grow per sample. Completes early on a violation; cancelled on abort.
     */
    async observe(input: ObserveInput): Promise<ObserveResult> {
      const ctx = Context.current();
      const prev = ctx.info.heartbeatDetails as GuardProgress | undefined;
      const res: ObserveResult = { violated: false, samples: prev?.samples ?? 0, failed: 0, last: prev?.last };
      let streak = prev?.consecutiveFailures ?? 0;
      let streakStart: string | undefined;
      let lastKeepAlive = 0;
      const interval = input.guard ? durationMs(input.guard.interval) : 1000;
      const keepAlive = async () => {
        for (const f of input.active) {
          const k = faultKind(f.kind);
          if (k?.keepAlive) await k.keepAlive(ports, f.handle).catch(() => undefined); // renewal is retried next round
        }
        lastKeepAlive = Date.now();
      };
      // Heartbeat on a timer, not per sample: a slow sample against a broken system must not look like
      // a dead worker, and cancellation (abort) arrives with the heartbeat response.
      const beat = () =>
        ctx.heartbeat({ samples: res.samples, consecutiveFailures: streak, last: res.last } satisfies GuardProgress);
      const timer = setInterval(beat, 250);
      try {
        await keepAlive();
        while (Date.now() < input.windowEndsAt) {
          const tick = Date.now();
          if (ctx.cancellationSignal.aborted) break;
          if (tick - lastKeepAlive >= input.keepAliveEveryMs) await keepAlive();
          if (input.guard) {
            const startedAt = new Date().toISOString();
            const samples = await Promise.all(input.guard.probes.map((p) => runProbe(p, ctx.cancellationSignal)));
            if (ctx.cancellationSignal.aborted) break; // an aborted sample says nothing about the system
            const bad = samples.find((s) => !s.ok);
            const sample = bad ?? samples[0];
            res.samples++;
            if (sample) {
              res.first ??= sample;
              res.last = sample;
              if (
                !res.worst ||
                sample.errorRate > res.worst.errorRate ||
                (sample.errorRate === res.worst.errorRate && sample.p95Ms > res.worst.p95Ms)
              )
                res.worst = sample;
            }
            if (bad) {
              res.failed++;
              if (streak === 0) streakStart = startedAt;
              streak++;
              if (streak >= input.guard.failuresToAbort) {
                res.violated = true;
                res.failing = bad;
                res.detectedAt = new Date().toISOString();
                res.firstFailureAt = streakStart ?? startedAt;
                res.last = sample;
                // Fast path: revert right here, next to the detection, without a round trip through
                // Temporal. Reverts are idempotent; the workflow's own revert sweep then confirms.
                res.reverted = {};
                res.revertErrors = {};
                await Promise.all(
                  input.active.map(async (f) => {
                    try {
                      await kindOf(f.kind).revert(ports, f.handle);
                      (res.reverted as Record<number, string>)[f.index] = new Date().toISOString();
                    } catch (err) {
                      (res.revertErrors as Record<number, string>)[f.index] = (err as Error).message;
                    }
                  }),
                );
                beat();
                return res;
              }
            } else {
              streak = 0;
              streakStart = undefined;
            }
          }
          beat();
          const wakeAt = Math.min(tick + interval, input.windowEndsAt);
          if (wakeAt > Date.now()) await ctx.sleep(wakeAt - Date.now()); // rejects on cancellation
        }
        ctx.cancellationSignal.throwIfAborted();
        return res;
      } finally {
        clearInterval(timer);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
