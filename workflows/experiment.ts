// The experiment workflow: a state machine over one value, `run.stage` (type Stage below), moved only by
// enter(). Each stage's phase is the journal's `phase` people read (status, the UI's details, the
// FaultlinePhase search attribute), but for the five the workflow alone sees (in brackets): the journal
// keeps the phase before them. Reverts: ./reverts.ts (never cancellable, retried until done, handed to a
// new run when history grows); the verdict: ./verdict.ts. Deterministic only.
//
//   starting ─▶ steady-state-before ──did not hold──▶ [not-held] ─────────────────────────────────────┐
//                  │ held (baselines measured)                                                         │
//                  ▼                                                                                   │
//               selecting (targets; across a fleet each host's containers; control-group baselines)    │
//                  ▼                                                                                   │
//               admitting (asked: the run leaves admission after its reverts) ──refused──▶ [refused] ──┤
//                  │ admitted                                                                          │
//                  ▼                                                                                   │
//               injecting (every intent, then every inject; across a fleet the guard starts here)      │
//                  ▼                                                                                   │
//               observing (the guard holds the window; across a fleet each host's holder its faults)   │
//                  │ (a progressive exposure grows beside it: ./exposure.ts)                           │
//                  │ the window ended                                                                  │
//                  ▼                                                                                   ▼
//   an abort (operator, guard, cancellation) or a failure in any stage above ───▶ reverting (keeps the stage the
//   a new run continued with its predecessor's pending reverts: [resumed] ──────▶     window ended in)
//                                                                                    │ a revert keeps failing and
//                                                                                    │ history is long
//                                                          every fault reverted      ├──▶ [handing-over] ─▶ continue as new
//                                                                                    ▼
//                        [reverted] ──a fault applied, held before, no failure, not cancelled──▶ steady-state-after ─▶ done
//                            └─────────────────────────────────────────────────────────────────────────────────────▶ done
//
// Message handlers only record (an abort cancels the window's scope; the guard's violation is kept); the
// stage functions below decide. Run-long facts that are no stage: the version markers (routed, bounded,
// batched), what planning measured (baselines, daemons), the guard's violation.
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  ApplicationFailure,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  log,
} from '@temporalio/workflow';
import type {
  Activities,
  ControlActivities,
  EarlyFault,
  GuardFault,
  HostInventory,
  ObserveInput,
  ObserveResult,
  TargetResult,
} from '../activities/index.ts';
import { hostTaskQueue, type HostEntry } from '../experiments/hosts.ts';
import type { AbortRecord, FaultRecord, GuardViolation, Journal, Phase, ProbeSample } from '../experiments/journal.ts';
import type { FaultEntry } from '../experiments/schema.ts';
import { durationMs, formatMs } from '../faults/duration.ts';
import { ACTIVITY_SLACK_MS, INJECT_ACTIVITY_MS, PROBE_ACTIVITY_MS } from '../faults/limits.ts';
import {
  abortExperimentUpdate,
  BOUNDED_TUNING,
  DEFAULT_TUNING,
  guardRecordQuery,
  guardViolationSignal,
  journalQuery,
  type RunInput,
} from '../definitions/experiment.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, PHASE_KEY, STUCK_KEY, VERDICT_KEY } from './search-attributes.ts';
import { errorText, noteError, noteRevert, Reverts } from './reverts.ts';
import { decideVerdict } from './verdict.ts';
import { closeExposure, exposureText, growExposure, planExposure } from './exposure.ts';
import { leaveAdmission, waitForAdmission } from './admission-client.ts';
import { controlTargetsOf, targetsOf } from '../experiments/admission.ts';
import { closeCoverage, coveragePlan, type CoverageWindow } from '../experiments/coverage.ts';
import type { Baseline } from '../judge/guard.ts';
import { Notifier } from './notify.ts';

// One proxy per retry policy (budgets from faults/limits.ts, which validation checks against); calls add
// only their summary and window-dependent timeouts. Every activity is bounded as a whole (schedule-to-close:
// every attempt, the waits for a worker and between attempts), so no wait of a run is unbounded; a call
// that lengthens an attempt lengthens that bound with it (see within()).
/** Besides its attempts, what a bounded activity may spend waiting for a worker and between attempts. */
const WAIT_SLACK_MS = 60_000;
/** The schedule-to-close of an activity: attempts times its start-to-close, plus the waits. */
const within = (startToCloseMs: number, attempts: number) => attempts * startToCloseMs + WAIT_SLACK_MS;
const PLAN_MS = 30_000;
const PROBE_ATTEMPTS = 2;
/** A guard that fails on every attempt ends the run (failed) instead of retrying for its whole window. */
const GUARD_ATTEMPTS = 20;
// Probes heartbeat on a timer: a slow round against a broken system is a finding, not a timeout.
const probing = proxyActivities<Activities>({
  startToCloseTimeout: PROBE_ACTIVITY_MS,
  scheduleToCloseTimeout: within(PROBE_ACTIVITY_MS, PROBE_ATTEMPTS),
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: PROBE_ATTEMPTS },
});
/** A probing call that gives each attempt ms: its whole bound grows with it. */
const probeBudget = (ms: number) => ({
  startToCloseTimeout: ms,
  scheduleToCloseTimeout: within(ms, PROBE_ATTEMPTS),
});
const planning = proxyActivities<Activities>({
  startToCloseTimeout: PLAN_MS,
  scheduleToCloseTimeout: within(PLAN_MS, 5),
  retry: { maximumAttempts: 5, initialInterval: '200ms' },
});
// Injects hold a fault: they heartbeat (a dead worker's inject moves on within seconds), and an abort
// waits until the inject has really stopped, so a revert never overtakes it and no retry follows it.
const injecting = proxyActivities<Activities>({
  startToCloseTimeout: INJECT_ACTIVITY_MS,
  scheduleToCloseTimeout: within(INJECT_ACTIVITY_MS, 3),
  heartbeatTimeout: '3s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});
// The guard owns the fault window: retried (a live worker takes over within the heartbeat timeout) up to
// GUARD_ATTEMPTS and within its window plus slack (guardBudget), then the run fails: a window nobody can
// watch is never `passed`. Awaited until it has really stopped when cancelled: it renews and reverts.
const guarding = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '3s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '200ms', maximumInterval: '1s', maximumAttempts: GUARD_ATTEMPTS },
});
/** A guard (or a host's holder) over windowMs: each attempt and the whole are bounded by the window. */
const guardBudget = (windowMs: number) => ({
  startToCloseTimeout: windowMs + ACTIVITY_SLACK_MS,
  scheduleToCloseTimeout: windowMs + 2 * ACTIVITY_SLACK_MS,
});

// The fleet: the registry, and each host's containers from its own agent. An agent that does not take the
// listing within seconds is not there (its host's inventory would be missing from the union).
const registry = proxyActivities<ControlActivities>({
  startToCloseTimeout: PLAN_MS,
  scheduleToCloseTimeout: within(PLAN_MS, 5),
  retry: { maximumAttempts: 5, initialInterval: '200ms' },
});
const listing = proxyActivities<Activities>({
  startToCloseTimeout: PLAN_MS,
  scheduleToCloseTimeout: within(PLAN_MS, 3),
  scheduleToStartTimeout: '5s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

const RENEW_EVERY_MS = 3_000;
/** Runs started from this version on route container faults to their host's agents (the patch marker). */
const FLEET_PATCH = 'fleet-routing';
/**
 * Runs started from this version on bound every revert's wait for a worker (a host with no agent: stuck at
 * once, alerted, retried with backoff) and hand their history over before 1,000 events (workflows/reverts.ts).
 */
const BOUNDED_PATCH = 'bounded-reverts';
/**
 * Runs started from this version prepare, inject and revert the container faults of a host with two or
 * more of them in one activity per host per phase (per-target results; a target that failed is retried on
 * its own), instead of one activity per fault.
 */
const BATCH_PATCH = 'fleet-batches';
/**
 * Runs started from this version on let the guard revert at once on its conclusion, side by side with
 * reporting it, including the container faults its hosts' holders hold on a daemon its worker reaches.
 */
const AT_ONCE_PATCH = 'guard-reverts-at-once';
/**
 * Runs with this marker ask admission to hold their control group's replicas read-only (other runs may not
 * fault them); runs without it asked for their faulted targets only.
 */
const CONTROL_GROUP_HOLD_PATCH = 'admission-control-group';
/**
 * Runs from this version on schedule the guard with the intents (a workflow task before the injects), so it
 * is running when its first fault is applied and learns of it at once (activities/guard.ts learnInjects);
 * runs from before schedule it once every inject has completed (a workflow task and a dispatch later).
 */
const EARLY_GUARD_PATCH = 'guard-starts-with-intents';

/** The guard, when it was started with the intents (EARLY_GUARD_PATCH); its scope stops it. */
interface EarlyGuard {
  guard: Promise<ObserveResult>;
  scope: CancellationScope;
}

/** The stages before the reverts: the one the window ended in is what the reverts and the verdict read. */
type WindowStage =
  | { phase: 'starting' | 'steady-state-before' | 'selecting' | 'admitting' }
  | { phase: 'injecting' | 'observing'; early?: EarlyGuard }
  /** The steady state did not hold before: nothing is planned, the verdict is not-started. */
  | { phase: 'not-held'; failing: ProbeSample[] }
  /** Admission refused, naming the holder or window: the verdict is not-started. */
  | { phase: 'refused'; reason: string }
  /** Continued as new with its predecessor's pending reverts; `asked`: that run was admitted (bounded runs). */
  | { phase: 'resumed'; asked: boolean };

/** Where a run is: one value, moved by enter() along the transitions drawn at the top of this file. */
type Stage =
  | WindowStage
  | { phase: 'reverting'; window: WindowStage }
  | { phase: 'handing-over' | 'reverted' | 'steady-state-after' | 'done' };

/** The journal's phase of each stage; undefined: the journal keeps the phase before (only the workflow sees it). */
const SHOWN: Record<Stage['phase'], Phase | undefined> = {
  starting: 'starting',
  'steady-state-before': 'steady-state-before',
  'not-held': undefined,
  selecting: 'selecting',
  admitting: 'admitting',
  refused: undefined,
  injecting: 'injecting',
  observing: 'observing',
  resumed: undefined,
  reverting: 'reverting',
  'handing-over': undefined,
  reverted: undefined,
  'steady-state-after': 'steady-state-after',
  done: 'done',
};

/** Everything a run holds; the stage functions below read and write it. */
interface Run {
  input: RunInput;
  journal: Journal;
  stage: Stage;
  /** Cancelled by an abort or a workflow cancellation; everything before the reverts runs in it. */
  scope: CancellationScope;
  reverts: Reverts;
  attempted: Set<number>;
  /** The guard's conclusion (its signal, or its result), recorded before anything acts on it. */
  violation?: GuardViolation;
  /** The judge's baselines, measured during steady state before (control-group mode: after planning). */
  baselines?: Record<string, Baseline | undefined>;
  controlBaselines?: Record<string, Baseline | undefined>;
  /** The control group's replicas (admission holds them read-only). */
  controlTargets?: { id: string; name: string; host?: string }[];
  /** Container faults run on their host's queue (runs that began before the fleet ran everything here). */
  routed: boolean;
  /** Reverts wait a bounded time for a worker and mark the run stuck at once when none picks them up. */
  bounded: boolean;
  /** A host's container faults are prepared, injected and reverted in one activity per host per phase. */
  batched: boolean;
  /** Each registered host's daemon ID, as planning read the registry (the guard reverts on those it reaches). */
  daemons?: Record<string, string>;
  /** The run's notifications (workflows/notify.ts): never awaited on the way to a revert. */
  notifier: Notifier;
}

/** Moves the run to a stage; a stage the journal shows is its phase from now on (details, search attribute). */
function enter(run: Run, stage: Stage): void {
  run.stage = stage;
  const shown = SHOWN[stage.phase];
  if (shown) setPhase(run, shown);
}

/** The guard started with the intents, while the run injects or observes. */
const earlyGuard = (run: Run): EarlyGuard | undefined => ('early' in run.stage ? run.stage.early : undefined);

/** Whether every fault is reverted (an abort from now on has nothing to stop). */
const reverted = (run: Run) => ['reverted', 'steady-state-after', 'done'].includes(run.stage.phase);

/** Whether the run asked admission (so it leaves it after its reverts). */
const askedAdmission = (w: WindowStage) =>
  w.phase === 'resumed' ? w.asked : ['admitting', 'injecting', 'observing', 'refused'].includes(w.phase);

const now = () => new Date().toISOString();

export async function runExperiment(input: RunInput): Promise<Journal> {
  const run = start(input);
  if (!input.resume) {
    try {
      await run.scope.run(() => window(run));
    } catch (err) {
      interrupted(run, err);
    }
  }
  const ended = await revertPhase(run);
  const j = run.journal;
  const after =
    !j.failure && j.abort?.by !== 'cancel' && applied(j) && ended.phase !== 'not-held'
      ? await afterPhase(run)
      : undefined;
  return finish(run, ended, after);
}

/** A new run (or one continued with pending reverts): its journal, its handlers, its first stage. */
function start(input: RunInput): Run {
  const run = newRun(input);
  handleMessages(run);
  const e = input.experiment;
  if (input.searchAttributes) {
    upsertSearchAttributes([
      { key: EXPERIMENT_KEY, value: e.title },
      { key: FAULT_KINDS_KEY, value: [...new Set(e.method.map((f) => f.kind))] },
    ]);
  }
  if (input.resume && run.journal.stuck) markStuck(run, true, true);
  notifyStartAndAbort(run);
  // Carried over with pending reverts: its first run was admitted (it applied faults), so it leaves admission
  // once they are done (runs from before left it to admission to notice the closed run).
  enter(
    run,
    input.resume ? { phase: 'reverting', window: { phase: 'resumed', asked: run.bounded } } : { phase: 'starting' },
  );
  return run;
}

function newJournal(input: RunInput): Journal {
  const info = workflowInfo();
  if (input.resume) return { ...input.resume.journal, runId: info.runId };
  return {
    experiment: input.experiment,
    file: input.file,
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt: now(),
    phase: 'starting',
    faults: [],
    steadyStateBefore: [],
    guardSamples: { count: 0, failed: 0 },
    steadyStateAfter: [],
  };
}

/** The run's bag; its version markers are decided here, once, in this order. */
function newRun(input: RunInput): Run {
  const journal = newJournal(input);
  const routed = patched(FLEET_PATCH);
  const bounded = patched(BOUNDED_PATCH);
  const batched = patched(BATCH_PATCH);
  const attempted = new Set<number>();
  const run: Run = {
    input,
    journal,
    stage: { phase: 'starting' },
    scope: new CancellationScope(),
    attempted,
    routed,
    bounded,
    batched,
    reverts: new Reverts(
      { ...DEFAULT_TUNING, ...(bounded ? BOUNDED_TUNING : {}), ...input.tuning },
      attempted,
      (why) => markStuck(run, true, false, why),
      (rec) => onHost(run, rec),
      // The guard (or the host's holder) held it, so it may have reverted it already.
      (rec) => !!journal.windowEndsAt && !!rec.endsAt,
      bounded,
    ),
    notifier: new Notifier('experiment', () => (journal.notify ??= { delivered: 0, failed: [] })),
  };
  run.notifier.add(input.experiment.notify);
  run.notifier.add(input.notify);
  return run;
}

/** The handlers only record: an abort cancels the window's scope, the guard's violation is kept. */
function handleMessages(run: Run): void {
  const journal = run.journal;
  setHandler(journalQuery, () => journal);
  setHandler(
    abortExperimentUpdate,
    async (req) => {
      if (!journal.abort && !reverted(run)) {
        journal.abort = {
          by: req.emergency ? 'emergency-stop' : 'operator',
          reason: req.reason,
          who: req.who,
          at: now(),
          phase: journal.phase,
        };
        run.scope.cancel();
      }
      await condition(() => reverted(run) || run.stage.phase === 'handing-over');
      return journal;
    },
    {
      validator: (req) => {
        if (!req?.reason?.trim()) throw new Error('an abort needs a reason');
      },
    },
  );
  // The guard's conclusion, durable before it acts on it.
  setHandler(guardViolationSignal, (v) => {
    run.violation ??= v;
    journal.abort ??= guardAbort(v, journal.phase);
  });
  setHandler(guardRecordQuery, () => ({
    violation: run.violation,
    applied: journal.faults.flatMap((f) =>
      f.status === 'injected' && f.injectedAt && f.handle
        ? [{ index: f.index, at: f.injectedAt, handle: f.handle }]
        : [],
    ),
    injecting: journal.phase === 'injecting' && journal.faults.every((f) => !!f.handle),
  }));
}

/** Steady state before, plan, intents, injects, the fault window: all cancelled by an abort. */
async function window(run: Run): Promise<void> {
  if (!(await steadyStateBefore(run)) || run.journal.abort) return;
  await plan(run);
  planExposure(run.journal);
  if (!(await admission(run))) return;
  await inject(run);
  // A guard started with the intents may have concluded already: the window records what it did.
  if (run.journal.abort && !earlyGuard(run)) return;
  await observeGrowing(run);
}

/** The fault window, and beside it a progressive exposure's steps (./exposure.ts), which end with it. */
async function observeGrowing(run: Run): Promise<void> {
  if (!run.journal.exposure) return observe(run);
  let over = false;
  const steps = growExposure({ journal: run.journal, over: () => over, violation: () => run.violation });
  steps.catch(() => undefined); // awaited below, or cancelled with the window
  try {
    await observe(run);
  } finally {
    over = true;
  }
  await steps;
}

/** An abort (or a cancellation) outranks the failures its own cancellation causes; see verdict.ts. */
function interrupted(run: Run, err: unknown): void {
  const j = run.journal;
  if (isCancellation(err)) {
    j.abort ??= { by: 'cancel', reason: 'the workflow was cancelled', at: now(), phase: j.phase };
  } else {
    j.failure ??= { phase: j.phase, cause: errorText(err), at: now() };
  }
}

async function steadyStateBefore(run: Run): Promise<boolean> {
  const probes = run.input.experiment.hypothesis.probes;
  enter(run, { phase: 'steady-state-before' });
  run.journal.steadyStateBefore = await probing.runProbes.executeWithOptions(
    { summary: `steady state before: ${probes.map((p) => p.name).join(', ')}` },
    [probes],
  );
  const failing = run.journal.steadyStateBefore.filter((s) => !s.ok);
  if (failing.length) enter(run, { phase: 'not-held', failing });
  const judge = run.input.experiment.judge;
  // Control-group mode measures its baselines once the groups are known (plan).
  if (!failing.length && judge && !judge.controlGroup) {
    // Also checks every judged expression against Prometheus: a failure here is not-started.
    const r = await probing.measureBaseline.executeWithOptions(
      {
        summary: `baseline over ${judge.baseline.window}: ${judge.metrics.map((m) => m.name).join(', ')}`,
        ...probeBudget(durationMs(judge.baseline.window) + ACTIVITY_SLACK_MS),
      },
      [judge],
    );
    run.baselines = r.baselines;
  }
  return !failing.length;
}

/** Select targets (seeded, recorded) and expand the method into one record per fault. */
async function plan(run: Run): Promise<void> {
  const e = run.input.experiment;
  enter(run, { phase: 'selecting' });
  const seed = e.targets?.seed ?? Math.floor(Math.random() * 2 ** 31);
  const fleet = run.routed && mayTouchContainers(run) ? await inventories(run) : undefined;
  const p = await planning.planFaults.executeWithOptions(
    { summary: `select targets (seed ${seed})${fleet ? ` across ${fleet.map((h) => h.host).join(', ')}` : ''}` },
    fleet ? [e, seed, fleet] : [e, seed],
  );
  run.journal.selection = p.selection ? { seed, ...p.selection } : undefined;
  run.journal.faults = p.faults.map((f, i) => ({ ...f, index: i, status: 'planned', errors: [], revertAttempts: 0 }));
  const judge = e.judge;
  if (judge?.controlGroup && p.groups) {
    run.journal.controlGroup = { experiment: p.groups.experiment, control: p.groups.control };
    // Before any intent: checks every judged expression for both groups (a failure is not-started).
    const r = await probing.measureBaseline.executeWithOptions(
      {
        summary: `baseline over ${judge.baseline.window}, experiment group ${p.groups.experiment.join(', ')} and control group ${p.groups.control.join(', ')}`,
        ...probeBudget(durationMs(judge.baseline.window) + ACTIVITY_SLACK_MS),
      },
      [judge, p.groups],
    );
    run.baselines = r.baselines;
    run.controlBaselines = r.controlBaselines;
    run.controlTargets = p.groups.controlTargets;
  }
}

/**
 * Whether planning may need the fleet's containers: a fault of any kind but the fault proxy's (proxy.*,
 * http.*) with targets, a fault with groups of its own, or control-group replicas. A superset of needsFleet
 * (workflows cannot load the registry).
 */
function mayTouchContainers(run: Run): boolean {
  const e = run.input.experiment;
  if ((!!e.targets && e.method.some((f) => !/^(proxy|http)\./.test(f.kind))) || !!e.judge?.controlGroup) return true;
  // A fault with groups of its own (network.split) chooses its containers without `targets`; runs from
  // before this patch planned it from the orchestration worker's daemon alone.
  return e.method.some((f) => f.kind === 'network.split') && patched('split-plans-across-fleet');
}

/** A run that cannot start: nothing is injected, the verdict is not-started with this reason. */
function notStarted(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidInput');
}

/**
 * Every registered host's containers, each listed by that host's own agent. A host with no agent, a
 * selector naming a host that is not registered, or an agent whose daemon is not the one the host was
 * registered with: the selection would be wrong, so the run does not start (naming the host).
 */
async function inventories(run: Run): Promise<HostInventory[]> {
  const wanted = run.input.experiment.targets?.hosts;
  const hosts = await registry.listHosts.executeWithOptions({ summary: 'the fleet: registered hosts' }, []);
  const names = hosts.map((h) => h.host);
  const known = names.length ? names.join(', ') : 'none';
  const unknown = (wanted ?? []).filter((n) => !names.includes(n));
  if (unknown.length)
    throw notStarted(
      `targets.hosts: no registered host ${unknown.map((n) => `"${n}"`).join(', ')} (registered: ${known}; see faultline hosts)`,
    );
  const use = wanted ? hosts.filter((h) => wanted.includes(h.host)) : hosts;
  run.daemons = Object.fromEntries(use.map((h) => [h.host, h.daemonId]));
  if (!use.length)
    throw notStarted('no registered Docker host: container faults need an agent (faultline worker or faultline agent)');
  // One daemon under two host names would put its containers in the union twice (the blast radius and
  // the seeded choice would count them twice, and two faults could land on one container).
  const byDaemon = new Map<string, string[]>();
  for (const h of use) byDaemon.set(h.daemonId, [...(byDaemon.get(h.daemonId) ?? []), h.host]);
  const twice = [...byDaemon].filter(([, names]) => names.length > 1);
  if (twice.length)
    throw notStarted(
      twice.map(([id, names]) => `daemon ${id} is registered as hosts ${names.join(' and ')}`).join('; ') +
        ': one daemon, two host names, so its containers would be counted twice (retire one with faultline hosts forget NAME)',
    );
  const idle = use.filter((h) => h.agents === 0);
  if (idle.length)
    throw notStarted(
      idle
        .map((h) => `host ${h.host}: no agent is polling ${h.taskQueue} (last seen ${h.lastSeen ?? 'never'})`)
        .join('; ') + ': its containers are unknown, so the selection would be incomplete',
    );
  const lists = await Promise.allSettled(
    use.map((h) =>
      listing.listContainers.executeWithOptions(
        { summary: `list containers on host ${h.host}`, taskQueue: h.taskQueue },
        [],
      ),
    ),
  );
  return use.map((h: HostEntry, i): HostInventory => {
    const r = lists[i] as PromiseSettledResult<Awaited<ReturnType<Activities['listContainers']>>>;
    if (r.status === 'rejected') {
      if (isCancellation(r.reason)) throw r.reason;
      throw notStarted(
        `host ${h.host}: its agent did not list its containers (${errorText(r.reason)}): its containers are unknown, so the selection would be incomplete`,
      );
    }
    const d = r.value.daemon;
    if (d && d.id !== h.daemonId)
      throw notStarted(
        `host ${h.host}: an agent on daemon ${d.name} (${d.id}) answers for it, but it is registered for daemon ${h.daemonName} (${h.daemonId}): one host name, two daemons`,
      );
    return { host: h.host, containers: r.value.containers };
  });
}

/** The task queue of the agents of a fault's host, when the run routes and the fault has a host. */
function onHost(run: Run, rec: FaultRecord): { taskQueue?: string } {
  const host = rec.target?.host;
  return run.routed && host ? { taskQueue: hostTaskQueue(workflowInfo().taskQueue, host) } : {};
}

/**
 * Admission, after planning (it needs the selected containers) and before any intent: targets are
 * exclusive across every run, and the policy's limits, blackout windows, approvals and lever apply.
 */
async function admission(run: Run): Promise<boolean> {
  const e = run.input.experiment;
  const j = run.journal;
  enter(run, { phase: 'admitting' });
  const faulted = targetsOf(j.faults, e.method);
  // The control group is held read-only: no other run may fault what the judge compares against.
  const control = run.controlTargets?.length && patched(CONTROL_GROUP_HOLD_PATCH) ? run.controlTargets : [];
  const d = await waitForAdmission(
    {
      workflowId: j.workflowId,
      runId: j.runId,
      title: e.title,
      environment: e.environment,
      targets: [...faulted, ...controlTargetsOf(control, faulted)],
    },
    durationMs(e.admission.wait),
  );
  if (!d.admitted) enter(run, { phase: 'refused', reason: d.reason });
  // The policy's receivers hear of the run from here on, starting with its start.
  const added = run.notifier.add(d.notify);
  if (added.length) run.notifier.send('start', e.title, startData(run), added);
  return d.admitted;
}

/**
 * Every intent first (each handle is in history before any side effect), then every inject at once.
 * Each fault's clock starts when ITS inject completed. Batched runs do each host's container faults in
 * one activity per phase (hostBatches); the others one activity per fault.
 */
async function inject(run: Run): Promise<void> {
  const e = run.input.experiment;
  const j = run.journal;
  enter(run, { phase: 'injecting' });
  const { batches, single } = hostBatches(run, j.faults);
  const prepareOne = async (rec: FaultRecord) => {
    rec.status = 'intent';
    rec.intentAt = now();
    rec.handle = await planning.prepareFault.executeWithOptions(
      { summary: `record intent: ${rec.summary}`, ...onHost(run, rec) },
      [e.method[rec.faultIndex] as FaultEntry, rec.target],
    );
  };
  const prepares = [
    ...single.map(prepareOne),
    ...batches.map(([taskQueue, recs]) => prepareOnHost(run, taskQueue, recs, prepareOne)),
  ];
  startEarlyGuard(run);
  await stopEarlyOnFailure(run, settle(prepares));
  if (j.abort) return stopEarly(run); // inject nothing; nothing was applied
  const injectOne = async (rec: FaultRecord) => {
    const spec = e.method[rec.faultIndex] as FaultEntry;
    run.attempted.add(rec.index);
    try {
      const r = await injecting.injectFault.executeWithOptions({ summary: rec.summary, ...onHost(run, rec) }, [
        spec,
        rec.handle as Record<string, unknown>,
        ...((earlyGuard(run) ? [{ index: rec.index }] : []) as [{ index: number }?]),
      ]);
      injected(run, rec, r.at);
    } catch (err) {
      rec.status = 'inject-failed';
      if (!isCancellation(err)) noteError(rec, `inject: ${errorText(err)}`);
      throw err;
    }
  };
  await stopEarlyOnFailure(
    run,
    settle([
      ...single.map(injectOne),
      ...batches.map(([taskQueue, recs]) => injectOnHost(run, taskQueue, recs, injectOne)),
    ]),
  );
}

/** No window: a guard started with the intents stops (really stopped) before the reverts, and is dropped. */
async function stopEarly(run: Run): Promise<void> {
  const early = earlyGuard(run);
  if (!early || !('early' in run.stage)) return;
  run.stage.early = undefined;
  early.scope.cancel();
  await early.guard.catch(() => undefined);
}

async function stopEarlyOnFailure(run: Run, step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (err) {
    await stopEarly(run);
    throw err;
  }
}

/**
 * Runs from EARLY_GUARD_PATCH on (across a fleet): the guard is scheduled with the intents, a workflow task
 * before the injects, with every planned fault; it learns each fault's handle and inject time itself, so it
 * is running when the first fault is applied. Its faults' windows and the coverage it counts are the same as
 * a guard started after the injects would get (observe() records its result).
 */
function startEarlyGuard(run: Run): void {
  if (!run.routed || !patched(EARLY_GUARD_PATCH)) return;
  const e = run.input.experiment;
  const early: EarlyFault[] = run.journal.faults.map((rec) => {
    const host = onHost(run, rec).taskQueue ? rec.target?.host : undefined;
    const daemonId = host ? run.daemons?.[host] : undefined;
    return {
      index: rec.index,
      kind: rec.kind,
      durationMs: durationMs((e.method[rec.faultIndex] as FaultEntry).duration),
      ...(rec.intentAt ? { since: rec.intentAt } : {}),
      ...(host ? { elsewhere: true } : {}),
      ...(daemonId ? { daemonId } : {}),
    };
  });
  const longest = Math.max(...early.map((f) => f.durationMs));
  // Its window starts once the injects complete: its budget holds their whole bound too.
  const budget = guardBudget(longest + within(INJECT_ACTIVITY_MS, 3));
  const scope = new CancellationScope();
  const guard = scope.run(() =>
    guarding.observe.executeWithOptions({ summary: guardSummary(e, longest), ...budget }, [
      { guard: e.guard, judge: judgeInput(run), faults: [], early, renewEveryMs: RENEW_EVERY_MS, atOnce: true },
    ]),
  );
  guard.catch(() => undefined); // awaited by observe(), or stopped when an inject fails
  if (run.stage.phase === 'injecting') run.stage.early = { guard, scope };
}

/** The guard activity's summary: what it guards, how often, and for how long. */
function guardSummary(e: RunInput['experiment'], windowMs: number): string {
  return (
    (e.guard
      ? `guard ${e.guard.probes.map((p) => p.name).join(', ')} every ${e.guard.interval} for ${formatMs(windowMs)}`
      : `hold faults for ${formatMs(windowMs)}`) +
    (e.judge ? `; judge ${e.judge.metrics.map((m) => m.name).join(', ')} every ${e.judge.interval}` : '')
  );
}

/** The judged guard's input: its spec and the baselines measured before the faults. */
function judgeInput(run: Run): ObserveInput['judge'] {
  const e = run.input.experiment;
  const j = run.journal;
  return e.judge
    ? {
        spec: e.judge,
        baselines: run.baselines ?? {},
        ...(j.controlGroup ? { groups: j.controlGroup, controlBaselines: run.controlBaselines ?? {} } : {}),
      }
    : undefined;
}

function injected(run: Run, rec: FaultRecord, at: string): void {
  const spec = run.input.experiment.method[rec.faultIndex] as FaultEntry;
  rec.status = 'injected';
  rec.injectedAt = at;
  rec.endsAt = new Date(Date.parse(at) + durationMs(spec.duration)).toISOString();
  run.notifier.send('inject', rec.summary, {
    ...runData(run),
    fault: {
      index: rec.index,
      kind: rec.kind,
      summary: rec.summary,
      target: rec.target,
      injectedAt: at,
      endsAt: rec.endsAt,
    },
  });
}

/**
 * Batched runs: each host with two or more container faults among recs (its agent's queue, its faults);
 * every other fault on its own. Runs from before: every fault on its own.
 */
function hostBatches(run: Run, recs: FaultRecord[]): { batches: [string, FaultRecord[]][]; single: FaultRecord[] } {
  if (!run.batched) return { batches: [], single: recs };
  const byHost = new Map<string, FaultRecord[]>();
  for (const rec of recs) {
    const q = onHost(run, rec).taskQueue;
    if (q) byHost.set(q, [...(byHost.get(q) ?? []), rec]);
  }
  const batches = [...byHost].filter(([, rs]) => rs.length > 1);
  const inBatch = new Set(batches.flatMap(([, rs]) => rs.map((r) => r.index)));
  return { batches, single: recs.filter((r) => !inBatch.has(r.index)) };
}

/** The summary of a host's batch: the host and each fault's own summary. */
const batchSummary = (what: string, recs: FaultRecord[]) =>
  `${what} on host ${recs[0]?.target?.host}: ${recs.map((r) => r.summary).join('; ')}`;

/** A target's error in a batch, as the failure its own activity would have raised. */
const targetFailure = (err: { type: string; message: string }) =>
  ApplicationFailure.nonRetryable(err.message, err.type);

/**
 * A host's intents in one activity: every target's handle, each recorded on its own. A target whose
 * prepare failed with a retryable error is prepared again on its own (read-only); a non-retryable one
 * fails the run as its own activity would have (nothing is injected).
 */
async function prepareOnHost(
  run: Run,
  taskQueue: string,
  recs: FaultRecord[],
  one: (rec: FaultRecord) => Promise<void>,
): Promise<void> {
  const e = run.input.experiment;
  for (const rec of recs) {
    rec.status = 'intent';
    rec.intentAt = now();
  }
  const results = await planning.prepareFaults.executeWithOptions(
    { summary: batchSummary('record intents', recs), taskQueue },
    [recs.map((rec) => ({ index: rec.index, spec: e.method[rec.faultIndex] as FaultEntry, target: rec.target }))],
  );
  await settle(
    recs.map(async (rec) => {
      const r = results.find((x) => x.index === rec.index);
      if (r?.ok) rec.handle = r.value;
      else if (r?.error.nonRetryable) throw targetFailure(r.error);
      else await one(rec);
    }),
  );
}

/**
 * A host's injects in one activity (a retried attempt applies nothing twice: activities/index.ts). Every
 * target counts as attempted, so the revert phase reverts each one whatever happened. A target whose inject
 * failed with a retryable error is injected again on its own (its kind's inject is idempotent); one that
 * failed for good fails the run, naming its error on its own record; the others keep their results.
 */
async function injectOnHost(
  run: Run,
  taskQueue: string,
  recs: FaultRecord[],
  one: (rec: FaultRecord) => Promise<void>,
): Promise<void> {
  const e = run.input.experiment;
  for (const rec of recs) run.attempted.add(rec.index);
  let results: TargetResult<{ at: string }>[];
  try {
    results = await injecting.injectFaults.executeWithOptions({ summary: batchSummary('inject', recs), taskQueue }, [
      recs.map((rec) => ({
        index: rec.index,
        spec: e.method[rec.faultIndex] as FaultEntry,
        handle: rec.handle as Record<string, unknown>,
      })),
    ]);
  } catch (err) {
    for (const rec of recs) {
      rec.status = 'inject-failed';
      if (!isCancellation(err)) noteError(rec, `inject: ${errorText(err)}`);
    }
    throw err;
  }
  await settle(
    recs.map(async (rec) => {
      const r = results.find((x) => x.index === rec.index);
      if (r?.ok) return injected(run, rec, r.value.at);
      if (r && !r.error.nonRetryable) return one(rec);
      const failure = targetFailure(r?.error ?? { type: 'Error', message: 'no result for this target' });
      rec.status = 'inject-failed';
      noteError(rec, `inject: ${errorText(failure)}`);
      throw failure;
    }),
  );
}

/** Waits for every step; then rethrows the first failure. */
async function settle(steps: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The fault window as the guard sees it: its faults, their windows, its budget, summary and judge. */
interface GuardWindow {
  faults: GuardFault[];
  windows?: CoverageWindow[];
  /** When the last fault's window ends (epoch ms), and what is left of it now. */
  lastEnd: number;
  windowMs: number;
  summary: string;
  judge: ObserveInput['judge'];
}

/**
 * The fault window: one guard activity holds the faults, reverts each at its end, and guards; across a
 * fleet each host's container faults are held on their host (observeAcrossFleet), here all of them
 * (observeHere: runs from before the fleet).
 */
async function observe(run: Run): Promise<void> {
  const e = run.input.experiment;
  const j = run.journal;
  const faults: GuardFault[] = j.faults
    .filter((f) => f.status === 'injected' && f.handle && f.endsAt)
    .map((f) => ({
      index: f.index,
      kind: f.kind,
      handle: f.handle as Record<string, unknown>,
      endsAt: Date.parse(f.endsAt as string),
      since: f.intentAt,
    }));
  const lastEnd = Math.max(...faults.map((f) => f.endsAt));
  j.windowEndsAt = new Date(lastEnd).toISOString();
  // The guard's schedule and coverage span every window, held here or on a host (pure data: no new command).
  const windows = e.guard ? coverageWindows(j) : undefined;
  enter(run, { phase: 'observing', early: earlyGuard(run) });
  const windowMs = Math.max(0, lastEnd - Date.now());
  const w: GuardWindow = {
    faults,
    windows,
    lastEnd,
    windowMs,
    summary: guardSummary(e, windowMs),
    judge: judgeInput(run),
  };
  if (run.routed) await observeAcrossFleet(run, w);
  else await observeHere(run, w);
}

/** Runs from before the fleet: the guard holds every fault here, and reverts each at its end. */
async function observeHere(run: Run, w: GuardWindow): Promise<void> {
  const obs = await guarding.observe.executeWithOptions({ summary: w.summary, ...guardBudget(w.windowMs) }, [
    {
      guard: run.input.experiment.guard,
      judge: w.judge,
      faults: w.faults,
      windows: w.windows,
      renewEveryMs: RENEW_EVERY_MS,
    },
  ]);
  recordGuard(run, obs);
}

/**
 * Across a fleet: the guard (probes, judge, proxy faults) here until the window ends; each host's container
 * faults held by a holder on that host (the same activity, with only its faults). A guard started with the
 * intents is the guard here.
 */
async function observeAcrossFleet(run: Run, w: GuardWindow): Promise<void> {
  const j = run.journal;
  const early = earlyGuard(run);
  const byHost = new Map<string, GuardFault[]>();
  const here: GuardFault[] = [];
  // A guard started with the intents that concluded already: no host holds anything (the reverts follow).
  if (!(early && run.violation))
    for (const f of w.faults) {
      const q = onHost(run, j.faults[f.index] as FaultRecord).taskQueue;
      if (q) byHost.set(q, [...(byHost.get(q) ?? []), f]);
      else here.push(f);
    }
  const { holders, held } = holdOnHosts(run, byHost, w.windowMs);
  // On a conclusion the guard reverts at once (its faults, and the hosts' faults on a daemon it reaches),
  // side by side with reporting it; the holders are still cancelled and the reverts below find them undone.
  const atOnce = early
    ? {}
    : patched(AT_ONCE_PATCH)
      ? {
          atOnce: true,
          elsewhere: [...byHost.values()].flat().map((f) => {
            const host = j.faults[f.index]?.target?.host;
            const daemonId = host ? run.daemons?.[host] : undefined;
            return daemonId ? { ...f, daemonId } : f;
          }),
        }
      : {};
  const guard =
    early?.guard ??
    guarding.observe.executeWithOptions({ summary: w.summary, ...guardBudget(w.windowMs) }, [
      {
        guard: run.input.experiment.guard,
        judge: w.judge,
        faults: here,
        windows: w.windows,
        until: w.lastEnd,
        renewEveryMs: RENEW_EVERY_MS,
        ...atOnce,
      },
    ]);
  void guard.then(
    (obs) => obs.violated && holders.cancel(),
    () => holders.cancel(),
  );
  const [g, h] = await Promise.allSettled([guard, held]);
  if (h.status === 'fulfilled')
    h.value.forEach((r, i) => {
      if (r.status === 'fulfilled')
        recordReverts(run, r.value); // what the host's holder reverted
      else if (!isCancellation(r.reason))
        for (const f of [...byHost.values()][i] ?? [])
          noteError(j.faults[f.index] as FaultRecord, `holder: ${errorText(r.reason)}`);
    });
  if (g.status === 'rejected') throw g.reason;
  recordGuard(run, g.value);
}

/**
 * Each host's container faults held by a holder on that host (the guard activity, with only its faults).
 * A violation stops every holder at once (the guard reports it durably first); the reverts then run on each
 * fault's own host, once every holder has really stopped.
 */
function holdOnHosts(run: Run, byHost: Map<string, GuardFault[]>, windowMs: number) {
  const j = run.journal;
  const holders = new CancellationScope();
  const held = holders.run(() =>
    Promise.allSettled(
      [...byHost].map(([taskQueue, hf]) =>
        guarding.observe.executeWithOptions(
          {
            summary: `hold ${hf.map((f) => j.faults[f.index]?.summary).join('; ')} for ${formatMs(windowMs)}`,
            taskQueue,
            // A host whose agents are all gone gives up the window (its warden reverts on its own); the
            // reverts then wait for an agent of the host, retried until done.
            ...guardBudget(windowMs),
          },
          [{ faults: hf, renewEveryMs: RENEW_EVERY_MS }],
        ),
      ),
    ),
  );
  void condition(() => !!run.violation).then(
    () => holders.cancel(),
    () => undefined,
  );
  return { holders, held };
}

/** Each injected fault's window, from its inject to its own end (epoch ms). */
function coverageWindows(j: Journal): CoverageWindow[] {
  return j.faults
    .filter((f) => f.status === 'injected' && f.injectedAt && f.endsAt)
    .map((f) => ({ fault: f.index, from: Date.parse(f.injectedAt as string), to: Date.parse(f.endsAt as string) }));
}

function recordGuard(run: Run, obs: ObserveResult): void {
  const j = run.journal;
  const guard = run.input.experiment.guard;
  const violation = run.violation ?? obs.violation;
  // Closed against the windows' ends (or the guard's conclusion): the span after the last sample counts,
  // whether or not a guard was running then.
  const coverage =
    guard && obs.coverage
      ? closeCoverage(
          coveragePlan(guard, coverageWindows(j)),
          obs.coverage,
          violation ? Date.parse(violation.detectedAt) : undefined,
        )
      : undefined;
  j.guardSamples = {
    count: obs.samples,
    failed: obs.failed,
    first: obs.first,
    last: obs.last,
    worst: obs.worst,
    ...(coverage ? { coverage } : {}),
  };
  if (obs.judgeReport) j.judge = obs.judgeReport;
  if (obs.series) j.guardSeries = obs.series;
  recordReverts(run, obs);
  if (obs.violation) {
    run.violation ??= obs.violation;
    j.abort ??= guardAbort(obs.violation, 'observing');
  }
}

/** The faults a guard or a host's holder reverted at their window's end (or could not), and its restores. */
function recordReverts(run: Run, obs: ObserveResult): void {
  const j = run.journal;
  for (const [index, at] of Object.entries(obs.reverted)) {
    const rec = j.faults[Number(index)];
    const report = obs.revertReports?.[Number(index)];
    if (rec) noteRevert(rec, report ?? { at }); // the revert phase confirms it
  }
  for (const [index, msg] of Object.entries(obs.revertErrors)) {
    const rec = j.faults[Number(index)];
    if (rec) noteError(rec, `guard revert: ${msg}`);
  }
  for (const [index, times] of Object.entries(obs.restored)) {
    const rec = j.faults[Number(index)];
    if (rec) rec.restoredAt = times; // a rule the proxy lost, put back while the fault was active
  }
}

function guardAbort(v: GuardViolation, phase: Phase): AbortRecord {
  if (v.blind)
    return { by: 'guard', reason: `the guard was blind: ${v.failing.violations.join('; ')}`, at: v.detectedAt, phase };
  return {
    by: 'guard',
    reason: `guard probe ${v.failing.probe} failed: ${v.failing.violations.join('; ')}`,
    at: v.detectedAt,
    phase,
    sample: v.failing,
  };
}

/**
 * Reverts everything that may have been applied, whatever happened before; never cancellable. Returns the
 * stage the window ended in (a resumed run's: the one it was resumed with).
 */
async function revertPhase(run: Run): Promise<WindowStage> {
  const j = run.journal;
  closeExposure(j, run.violation); // the window is over: each step as it went (a resumed run: no-op)
  const window = windowEnd(run.stage);
  enter(run, { phase: 'reverting', window });
  const outcomes = await CancellationScope.nonCancellable(() => {
    // Batched runs: each host's faults in one activity first; a target it did not revert retries on its own.
    for (const [, recs] of hostBatches(run, j.faults).batches) run.reverts.batch(recs);
    return Promise.all(j.faults.map((rec) => run.reverts.revert(rec)));
  });
  if (outcomes.includes('handed-over')) {
    // History is large and a revert keeps failing: a new run takes the journal and the pending reverts.
    enter(run, { phase: 'handing-over' });
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    j.continuedFrom = [...(j.continuedFrom ?? []), workflowInfo().runId];
    await run.notifier.drain();
    const notify = run.notifier.receivers.length ? { notify: run.notifier.receivers } : {};
    await continueAsNew<typeof runExperiment>({ ...run.input, ...notify, resume: { journal: j } });
  }
  enter(run, { phase: 'reverted' });
  // Idempotent; if it cannot land, admission drops the hold itself once this run has closed.
  if (askedAdmission(window)) await leaveAdmission(j.workflowId).catch(() => undefined);
  if (j.stuck) markStuck(run, false);
  const lastRevert = Math.max(0, ...j.faults.map((f) => (f.revertedAt ? Date.parse(f.revertedAt) : 0)));
  if (j.abort && lastRevert) j.detectToRevertMs = Math.max(0, lastRevert - Date.parse(j.abort.at));
  return window;
}

/** The stage the window ended in: the run's stage after the window, or the one its reverts keep. */
function windowEnd(stage: Stage): WindowStage {
  switch (stage.phase) {
    case 'reverting':
      return stage.window;
    case 'handing-over':
    case 'reverted':
    case 'steady-state-after':
    case 'done':
      throw new Error(`the window has not just ended: the run is at ${stage.phase}`);
    default:
      return stage;
  }
}

/** The steady state after (its result, for the verdict; undefined when it could not be read). */
async function afterPhase(run: Run): Promise<{ ok: boolean; samples: ProbeSample[] } | undefined> {
  const e = run.input.experiment;
  const j = run.journal;
  enter(run, { phase: 'steady-state-after' });
  const recovery = durationMs(e.afterCheck.recoveryTimeout);
  try {
    const after = await CancellationScope.nonCancellable(() =>
      probing.awaitSteadyState.executeWithOptions(
        {
          summary: `steady state after (recovery up to ${e.afterCheck.recoveryTimeout})`,
          ...probeBudget(recovery + ACTIVITY_SLACK_MS),
        },
        [e.hypothesis.probes, recovery],
      ),
    );
    j.steadyStateAfter = after.samples;
    return after;
  } catch (err) {
    j.failure ??= { phase: 'steady-state-after', cause: errorText(err), at: now() };
    return undefined;
  }
}

async function finish(
  run: Run,
  ended: WindowStage,
  after: { ok: boolean; samples: ProbeSample[] } | undefined,
): Promise<Journal> {
  const j = run.journal;
  const e = run.input.experiment;
  const decided =
    ended.phase === 'refused'
      ? { verdict: 'not-started' as const, reason: `not admitted: ${ended.reason}` }
      : decideVerdict({
          statement: e.hypothesis.statement,
          recoveryTimeout: e.afterCheck.recoveryTimeout,
          notHeldBefore: ended.phase === 'not-held' ? ended.failing : undefined,
          abort: j.abort,
          failure: j.failure,
          anyApplied: applied(j),
          after,
          judged: j.judge?.scorecard,
          judgeNoData: j.judge?.inconclusive,
          coverage: j.guardSamples.coverage,
        });
  const { verdict } = decided;
  const grown = j.exposure?.steps[0]?.startedAt ? exposureText(j) : undefined;
  const reason = grown ? `${decided.reason}; ${grown}` : decided.reason;
  j.verdict = verdict;
  j.reason = reason;
  j.finishedAt = now();
  enter(run, { phase: 'done' });
  setCurrentDetails(`**Verdict:** ${verdict}: ${reason}\n\n**Hypothesis:** ${e.hypothesis.statement}`);
  if (run.input.searchAttributes) upsertSearchAttributes([{ key: VERDICT_KEY, value: verdict }]);
  run.notifier.send('verdict', e.title, {
    ...runData(run),
    verdict,
    reason,
    ...(j.abort ? { abort: j.abort } : {}),
    ...(j.detectToRevertMs !== undefined ? { detectToRevertMs: j.detectToRevertMs } : {}),
    faults: j.faults.map((f) => ({
      summary: f.summary,
      status: f.status,
      revertedAt: f.revertedAt,
      revertedBy: f.revertedBy,
    })),
  });
  await run.notifier.drain(); // bounded: a receiver that does not answer holds the result DRAIN_MS at most
  // Not cancellable: a cancelled run still finishes its journal (the result people read).
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return j;
}

/** Whether any fault may have been applied (its inject was attempted). */
function applied(j: Journal): boolean {
  return j.faults.some((f) => ['injected', 'inject-failed', 'reverting', 'reverted'].includes(f.status));
}

function setPhase(run: Run, phase: Phase): void {
  const j = run.journal;
  j.phase = phase;
  const left = j.windowEndsAt && phase === 'observing' ? ` · window ends ${j.windowEndsAt}` : '';
  setCurrentDetails(`**Phase:** ${phase}${left}\n\n**Hypothesis:** ${run.input.experiment.hypothesis.statement}`);
  if (run.input.searchAttributes) upsertSearchAttributes([{ key: PHASE_KEY, value: phase }]);
}

/**
 * A revert keeps failing (or nobody picks it up): visible in the journal and searchable (FaultlineStuck), set
 * once, and alerted in the worker's log; bounded runs also keep since when and why (status shows it).
 */
function markStuck(run: Run, stuck: boolean, force = false, why?: string): void {
  const j = run.journal;
  if (run.bounded && stuck && why) {
    j.stuckSince ??= now();
    j.stuckReason = why;
  }
  if (j.stuck === stuck && !force) return;
  const flipped = stuck && !j.stuck;
  j.stuck = stuck;
  if (stuck) {
    log.error('revert stuck: a fault may still be applied', { workflowId: j.workflowId, why });
    // Told once, when it became stuck (a resumed run that is still stuck, force, tells nobody again).
    if (flipped && !force)
      run.notifier.send('stuck', run.input.experiment.title, {
        ...runData(run),
        since: j.stuckSince ?? now(),
        reason: why ?? j.faults.flatMap((f) => f.errors).at(-1) ?? 'a revert keeps failing',
      });
  } else if (run.bounded) {
    j.stuckSince = undefined;
    j.stuckReason = undefined;
    log.info('revert no longer stuck: every fault is reverted', { workflowId: j.workflowId });
  }
  if (run.input.searchAttributes) upsertSearchAttributes([{ key: STUCK_KEY, value: stuck ? 'true' : 'false' }]);
}

/** What every event of a run carries about it. */
function runData(run: Run): Record<string, unknown> {
  const j = run.journal;
  return { workflowId: j.workflowId, runId: j.runId, title: run.input.experiment.title, phase: j.phase };
}

function startData(run: Run): Record<string, unknown> {
  const e = run.input.experiment;
  return {
    ...runData(run),
    hypothesis: e.hypothesis.statement,
    ...(e.environment ? { environment: e.environment } : {}),
    ...(run.input.file ? { file: run.input.file } : {}),
    faultKinds: [...new Set(e.method.map((f) => f.kind))],
    startedAt: run.journal.startedAt,
  };
}

/**
 * A new run tells its receivers it started, and tells them of its abort once one is recorded (by the abort
 * update, the guard's signal, its own guard result or a cancellation: the handlers only record it, and this
 * waiter sends). Issues no command when the run has no receivers.
 */
function notifyStartAndAbort(run: Run): void {
  const j = run.journal;
  if (!run.input.resume) run.notifier.send('start', run.input.experiment.title, startData(run));
  // The policy's receivers join at admission; the abort goes to whoever is there when it is recorded.
  if (j.abort) return;
  void condition(() => !!j.abort).then(
    () => {
      const a = j.abort as AbortRecord;
      run.notifier.send('abort', run.input.experiment.title, { ...runData(run), phase: a.phase, abort: a });
    },
    () => undefined,
  );
}
