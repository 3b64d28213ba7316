// The fault window, owned by one activity: it holds every injected fault (renews leases, restores a rule
// the proxy lost while the fault is still active), reverts each fault when ITS window ends, samples the
// guard probes and, on a violation, reports it to the workflow (durable) and then reverts everything.
// Renewals and reverts run in one sequential loop, so nothing is renewed or re-applied after its revert
// began; a retried guard resumes from its heartbeat details and the workflow's record of a violation.
// Coverage (../experiments/coverage.ts): samples follow a schedule anchored at the first fault's inject; each
// is counted against it, and a gap longer than guard.maxGap while a fault is active (the guard was dead,
// stalled or late) is concluded like a violation, so the faults are reverted.
import type { Context } from '@temporalio/activity';
import type { Ports } from '../faults/ports.ts';
import type { AnyFaultKind } from '../faults/types.ts';
import type { Guard } from '../experiments/schema.ts';
import type { GuardProgress, GuardViolation, ProbeSample } from '../experiments/journal.ts';
import { durationMs, formatMs } from '../faults/duration.ts';
import {
  blindNow,
  countSample,
  coveragePlan,
  nextSampleAt,
  seen,
  SEEN_EVERY_MS,
  startCoverage,
  type CoveragePlan,
  type CoverageWindow,
} from '../experiments/coverage.ts';
import { runProbe } from './probes.ts';
import { runJudge } from './judge.ts';
import { judgeReport, type Baseline, type JudgeReport, type JudgeState } from '../judge/guard.ts';
import type { Judge } from '../experiments/schema.ts';
import type { Groups } from './plan.ts';
import { addSample, createSeries } from '../judge/series.ts';
import { revertAndReport } from './revert.ts';
import { leaseOf } from '../faults/lease.ts';
import { appliedIn, onApplied, type Applied } from './guard-hub.ts';

export interface GuardFault {
  index: number;
  kind: string;
  handle: Record<string, unknown>;
  /** Epoch ms when this fault's own window ends (its inject completed + its duration). */
  endsAt: number;
  /** ISO time before its inject (its intent), where its target's record of an undo is read from. */
  since?: string;
  /** A fault a host's holder holds (ObserveInput.elsewhere): its host's daemon, as the registry names it. */
  daemonId?: string;
}

/**
 * A fault of a guard started with the intents (ObserveInput.early): its handle and its window's start
 * (its inject's completion) the guard learns from its process's injects (./guard-hub.ts) or from its run.
 */
export interface EarlyFault {
  index: number;
  kind: string;
  /** Its window: from its inject's completion for this long. */
  durationMs: number;
  since?: string;
  /** Held by its host's holder, not by the guard (it reverts it on a conclusion when its daemon is reachable). */
  elsewhere?: boolean;
  daemonId?: string;
}

export interface ObserveInput {
  guard?: Guard;
  /** The judged guard and the baselines measured before the faults. */
  judge?: {
    spec: Judge;
    baselines: Record<string, Baseline | undefined>;
    /** Control-group mode: the planned groups and the control group's baselines. */
    groups?: Groups;
    controlBaselines?: Record<string, Baseline | undefined>;
  };
  faults: GuardFault[];
  /**
   * Every fault window of the run (held here or on a host), epoch ms: the guard's schedule runs from the
   * first inject to the last end and is counted against them (absent: runs scheduled before coverage).
   */
  windows?: CoverageWindow[];
  /** Epoch ms the guard runs until even when it holds no fault (across a fleet, hosts hold theirs). */
  until?: number;
  renewEveryMs: number;
  /**
   * Runs from the 'guard-reverts-at-once' patch on: on a conclusion the guard reverts at once, side by side
   * with reporting it (absent: the report is durable first, then the reverts, as runs from before expect).
   */
  atOnce?: boolean;
  /**
   * With atOnce: faults a host's holder holds. On a conclusion the guard reverts, through its own ports, each
   * of these whose daemon its ports reach (the same daemon ID), so the revert waits for no workflow task; the
   * holder is then cancelled by the workflow and the run's own reverts find them undone.
   */
  elsewhere?: GuardFault[];
  /**
   * Runs from 'guard-starts-with-intents' on: the guard is started with the intents, with every prepared
   * fault; faults, elsewhere, windows and until are what it learns of the injects (learnInjects), so its
   * first sample comes as its first fault is applied, not a workflow task and a dispatch later.
   */
  early?: EarlyFault[];
}

export interface ObserveResult extends GuardProgress {
  violated: boolean;
  /** The judged guard's report (per-metric e-values, bounds, classification, score, series). */
  judgeReport?: JudgeReport;
}

/** How the guard talks to its own workflow run (the durable record of its conclusion). */
export interface RunLink {
  reportViolation(v: GuardViolation): Promise<void>;
  /** The run's record: its guard's conclusion, and (runs from 'guard-starts-with-intents' on) what it applied. */
  guardRecord(): Promise<GuardRecord>;
  /**
   * Watches the run's history (a long poll the server answers: no workflow task, no worker's time) and calls
   * `completed` each time an inject activity of the run completes, those before the call too; resolves when
   * the run has closed or `signal` aborts, rejects when the history cannot be watched.
   */
  watchInjects?(signal: AbortSignal, completed: (applied?: Applied) => void): Promise<void>;
}

export interface GuardRecord {
  violation?: GuardViolation;
  applied?: Applied[];
  /** Its injects are under way (every intent recorded): a guard that has not heard of them asks more often. */
  injecting?: boolean;
}

const MAX_RESTORES_KEPT = 10;
/** Longest the guard waits for its violation report to be durable before reverting anyway. */
const REPORT_WAIT_MS = 5_000;
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
const iso = () => new Date().toISOString();

/**
 * One guard tick, the seam for other judges: folds the samples into the counts and returns the
 * violation when this tick concludes one. Pure apart from updating `state`.
 */
export function judgeTick(
  guard: Guard,
  state: GuardProgress,
  samples: ProbeSample[],
  startedAt: string,
  now: string,
): GuardViolation | undefined {
  const bad = samples.find((s) => !s.ok);
  const sample = bad ?? samples[0];
  state.samples++;
  if (sample) {
    state.first ??= sample;
    state.last = sample;
    const w = state.worst;
    if (!w || sample.errorRate > w.errorRate || (sample.errorRate === w.errorRate && sample.p95Ms > w.p95Ms))
      state.worst = sample;
  }
  if (!bad) {
    state.consecutiveFailures = 0;
    state.streakStartedAt = undefined;
    return undefined;
  }
  state.failed++;
  if (state.consecutiveFailures === 0) state.streakStartedAt = startedAt;
  state.consecutiveFailures++;
  if (state.consecutiveFailures < guard.failuresToAbort) return undefined;
  return { failing: bad, detectedAt: now, firstFailureAt: state.streakStartedAt ?? startedAt };
}

export function freshProgress(): GuardProgress {
  return { samples: 0, failed: 0, consecutiveFailures: 0, reverted: {}, revertErrors: {}, restored: {} };
}

export async function runGuard(
  ports: Ports,
  kindOf: (name: string) => AnyFaultKind,
  link: RunLink,
  given: ObserveInput,
  ctx: Context,
  opts: { reportWaitMs?: number; ask?: { afterMs: number; everyMs: number } } = {},
): Promise<ObserveResult> {
  // What a guard started with the intents learned of its injects rides in its heartbeat: a retry knows it.
  type Progress = GuardProgress & { applied?: Applied[] };
  const state: Progress = { ...freshProgress(), ...(ctx.info.heartbeatDetails as Progress | undefined) };
  let input = given;
  const retried = ctx.info.attempt > 1;
  if (given.early) {
    const learned = await learnInjects(given, link, ctx, {
      beat: () => ctx.heartbeat(state),
      had: state.applied,
      ...opts.ask,
      // A retry whose earlier attempt's heartbeat did not carry every inject asks its run at once.
      ...(retried ? { afterMs: 0 } : {}),
    });
    input = learned.input;
    state.applied = learned.applied;
  }
  // The faults held on a host whose daemon these ports reach: the guard reverts them itself on a conclusion.
  const reachable: Promise<GuardFault[]> = input.elsewhere?.length
    ? (ports.containers.daemon?.() ?? Promise.resolve(undefined)).then(
        (d) => (input.elsewhere ?? []).filter((f) => !!d && f.daemonId === d.id),
        () => [],
      )
    : Promise.resolve([]);
  // A retry (its worker died) learns whether its window was concluded already: from its run's record (the
  // violation its last heartbeat may not carry) and, side by side, from the targets' own records (an earlier
  // attempt reverted for a conclusion whose report was lost with its worker). Asked beside the first samples,
  // never before them: the query is answered by the run's worker, which takes seconds when that worker is the
  // one that died (the sticky queue's schedule-to-start, then a replay on a live worker), and a window is
  // unwatched for as long as the guard waits. Only the holder (renewals, restores, reverts) waits for it.
  const recorded: Promise<void> =
    retried && !state.violation
      ? (async () => {
          const rec = await link.guardRecord();
          if (rec.violation) state.violation ??= rec.violation;
          if (input.atOnce && !state.violation) {
            const lost = await lostConclusion(ports, kindOf, [...input.faults, ...(await reachable)]);
            if (lost) state.violation ??= lost;
          }
        })()
      : Promise.resolve();
  recorded.catch(() => undefined); // the holder awaits it (and fails the attempt with it)
  let stopRenewing = !!state.violation;
  let holderDone = false;
  const local = new AbortController();
  const signal = AbortSignal.any([ctx.cancellationSignal, local.signal]);
  const cancelled = () => ctx.cancellationSignal.aborted;
  const beat = () => ctx.heartbeat(state);
  // The holder sleeps until its next deadline, or until the sampler rings (a violation is durable).
  let rung = false;
  let ring = () => {
    rung = true;
  };
  const nap = (ms: number, bell = false) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || (bell && rung)) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      if (bell) ring = done;
      signal.addEventListener('abort', done, { once: true });
    });
  const settled = (f: GuardFault) => f.index in state.reverted || f.index in state.revertErrors;
  const isActive = (f: GuardFault) => !stopRenewing && !cancelled() && !settled(f) && Date.now() < f.endsAt;

  const revert = async (f: GuardFault) => {
    const early = Date.now() < f.endsAt;
    try {
      // A retried guard may find it undone by its earlier attempt (or by the warden): the report says when.
      const r = await revertAndReport(ports, kindOf(f.kind), f.handle, {
        since: f.since,
        earlier: ctx.info.attempt > 1,
      });
      // Reverted at once for the guard's conclusion (before its window's end): the journal names the guard.
      if (input.atOnce && state.violation && early && r.tookEffect && r.by === 'workflow') r.by = 'guard';
      state.reverted[f.index] = r.at;
      (state.revertReports ??= {})[f.index] = r;
    } catch (e) {
      state.revertErrors[f.index] = (e as Error).message; // the workflow's sweep retries it
    }
    beat();
  };

  // Holds the faults: every revert and every renewal happens here.
  // Each fault is reverted as soon as it is due, beside the reverts already under way (a host's faults end
  // over the spread of their injects: waiting for one wave before starting the next made the last revert
  // wait for every earlier one), and renewals run side by side.
  const reverting = new Map<number, Promise<void>>();
  const undone = (f: GuardFault) => settled(f) || reverting.has(f.index);
  const holder = async () => {
    await recorded;
    if (state.violation) stopRenewing = true;
    let lastRenew = 0;
    for (;;) {
      if (cancelled()) {
        await Promise.all(reverting.values()); // the workflow reverts once this activity has stopped
        return;
      }
      const now = Date.now();
      for (const f of input.faults)
        if (!undone(f) && (state.violation || now >= f.endsAt)) reverting.set(f.index, revert(f));
      if (input.faults.every(undone) && (state.violation || Date.now() >= (input.until ?? 0))) {
        await Promise.all(reverting.values());
        return;
      }
      if (!stopRenewing && Date.now() - lastRenew >= input.renewEveryMs) {
        await Promise.all(
          input.faults.map(async (f) => {
            if (cancelled() || !isActive(f) || reverting.has(f.index)) return;
            const k = kindOf(f.kind);
            if (!k.renew) return;
            const missing = await k.renew(ports, f.handle).catch(() => 0); // a failed renewal is retried next round
            if (missing && k.restore && isActive(f)) {
              await k.restore(ports, f.handle).then(
                () => {
                  const list = (state.restored[f.index] ??= []);
                  if (list.length < MAX_RESTORES_KEPT) list.push(iso());
                },
                () => undefined,
              );
            }
          }),
        );
        lastRenew = Date.now();
      }
      const ends = input.faults.filter((f) => !undone(f)).map((f) => f.endsAt);
      if (input.until !== undefined && !state.violation) ends.push(input.until);
      const next = Math.min(stopRenewing ? Infinity : lastRenew + input.renewEveryMs, ...ends);
      await nap(Math.max(0, Math.min(next - Date.now(), 60_000)), true);
    }
  };

  // A conclusion is reported durably (signal) and acted on: side by side (atOnce), else durable first.
  let concluding = false;
  const conclude = async (v: GuardViolation) => {
    if (state.violation || concluding) return;
    concluding = true;
    stopRenewing = true;
    // Bounded, so an unreachable server delays nothing by more than seconds (the result carries it too).
    const report = Promise.race([
      link.reportViolation(v).catch(() => undefined),
      sleepMs(opts.reportWaitMs ?? REPORT_WAIT_MS),
    ]);
    if (input.atOnce) {
      // The holder reverts what it holds, and the faults of this daemon held on its host are reverted here,
      // while the report is on its way. A retry that finds neither its record nor the report knows it from
      // the targets' own records (lostConclusion).
      state.violation ??= v;
      beat();
      rung = true;
      ring();
      const others = await reachable;
      await Promise.all([report, ...others.filter((f) => !settled(f)).map(revert)]);
      return;
    }
    await report;
    state.violation ??= v;
    beat();
    rung = true;
    ring();
  };

  // The judged guard: Prometheus counters every judge interval, one e-process per metric (../judge/).
  const judged = async () => {
    const jd = input.judge;
    if (!jd || state.violation) return;
    const endsAt = Math.max(input.until ?? 0, ...input.faults.map((f) => f.endsAt));
    state.judge = await runJudge(jd.spec, jd.baselines, endsAt, {
      resume: state.judge as JudgeState | undefined,
      signal,
      groups: jd.groups,
      controlBaselines: jd.controlBaselines,
      beat: (js) => {
        state.judge = js;
      },
    });
    const a = state.judge.abort;
    if (a && !holderDone && !cancelled()) await conclude(judgeViolation(a, state.judge));
  };

  // Samples the guard probes, on the schedule of its coverage plan.
  const sampler = async () => {
    const g = input.guard;
    if (!g || state.violation) return;
    const interval = durationMs(g.interval);
    const plan: CoveragePlan | undefined = input.windows?.length ? coveragePlan(g, input.windows) : undefined;
    const cov = plan ? (state.coverage ??= startCoverage(plan)) : undefined;
    // Unwatched for longer than maxGap while a fault is active (dead, stalled, late): revert for it.
    const blindAt = (t: number) => {
      const b = plan && cov ? blindNow(plan, cov, t) : undefined;
      if (b) void conclude(blindViolation(b, plan!.maxGapMs));
      return !!b;
    };
    // A conclusion on record (a retry's earlier attempt) stops it too.
    while (!holderDone && !cancelled() && !concluding && !state.violation) {
      const tick = Date.now();
      if (blindAt(tick)) return;
      const startedAt = iso();
      if (plan && cov) seen(plan, cov, tick);
      // While the probes run, the guard sees as long as its process runs: a stall shows as a gap.
      const ticker =
        plan && cov
          ? setInterval(
              () => {
                const t = Date.now();
                if (!blindAt(t)) seen(plan, cov, t);
              },
              Math.max(10, Math.min(SEEN_EVERY_MS, plan.maxGapMs / 4)),
            )
          : undefined;
      const samples = await Promise.all(g.probes.map((p) => runProbe(p, signal))).finally(() => clearInterval(ticker));
      if (holderDone || cancelled() || concluding || state.violation) return; // an interrupted sample says nothing
      const done = Date.now();
      if (blindAt(done)) return;
      const v = judgeTick(g, state, samples, startedAt, iso());
      if (plan && cov) {
        seen(plan, cov, done);
        countSample(plan, cov, tick, done);
      }
      // Each probe over time, for the report: bounded buckets, not every sample.
      for (const sm of samples) {
        const series = ((state.series ??= {})[sm.probe] ??= createSeries(
          { errorRate: 'max', p95Ms: 'max' },
          1000,
          240,
        ));
        addSample(series, Date.now(), { errorRate: sm.errorRate, p95Ms: sm.p95Ms });
      }
      beat();
      if (v) return conclude(v);
      const wait = (plan && cov ? nextSampleAt(plan, cov) : tick + interval) - Date.now();
      if (wait > 0) await nap(wait);
    }
  };

  const timer = setInterval(beat, 250);
  beat();
  try {
    const s = sampler();
    const js = judged();
    await holder();
    holderDone = true;
    local.abort();
    await s;
    await js;
    ctx.cancellationSignal.throwIfAborted();
    const report = input.judge && state.judge ? judgeReport(state.judge as JudgeState, input.judge.spec) : undefined;
    return { ...state, violated: !!state.violation, judgeReport: report };
  } finally {
    clearInterval(timer);
  }
}

/**
 * When a guard started with the intents first asks its run for injects its process did not see, and how
 * often after that: an inject in its own process tells it at once, so the run (a query its worker answers
 * beside every other run's workflow tasks) is asked once a second while its intents are recorded, and every
 * ASK_INJECTING_MS once its run says its injects are under way (they may run in another worker).
 * A guard that watches its run's history (RunLink.watchInjects) reads a fault's inject from there (its
 * handle and its time, in the inject's own record: no workflow task of the run is waited for), asks its run
 * when an inject whose record it cannot read has completed there, and otherwise only every WATCHED_ASK_EVERY_MS: with two workers, half the injects run in the other one,
 * and 50 guards asking 10 times a second kept both workers' workflow tasks waiting (a run's intent to its
 * inject 3.3 s p50 and 17 s p95 for 10 runs, against 0.6 and 1.3 s asking once a second; bench/workers.ts).
 */
const ASK_AFTER_MS = 1_000;
const ASK_EVERY_MS = 1_000;
const ASK_INJECTING_MS = 100;
const WATCHED_ASK_EVERY_MS = 5_000;
/** After an inject completed in history, until the run's answer has it (its workflow task may be pending). */
const ASK_AGAIN_MS = 100;
const ASK_AGAIN_TIMES = 10;

/**
 * A guard started with the intents (input.early) waits until it knows when each fault was applied: at once
 * from an inject in its own process (./guard-hub.ts), from its earlier attempt's heartbeat (had), else from
 * its run's record (asked after afterMs, then every everyMs).
 * Then its input is what the workflow gives a guard started after the injects: the faults it holds with
 * their ends, the faults held on hosts (elsewhere), every window in the journal's order, and until.
 * Cancelled (an inject failed, or an abort), it stops: the workflow reverts.
 */
export async function learnInjects(
  input: ObserveInput,
  link: RunLink,
  ctx: Context,
  o: { beat: () => void; had?: Applied[]; afterMs?: number; everyMs?: number; injectingMs?: number },
): Promise<{ input: ObserveInput; applied: Applied[] }> {
  const askEveryMs = o.everyMs ?? ASK_EVERY_MS;
  let next = askEveryMs;
  const beat = o.beat;
  const early = [...(input.early ?? [])].sort((a, b) => a.index - b.index);
  const run = ctx.info.workflowExecution;
  const known = new Map<number, Applied>((o.had ?? []).map((a) => [a.index, a]));
  const missing = () => early.some((f) => !known.has(f.index));
  let wake = () => undefined as void;
  const off = run ? onApplied(run.workflowId, run.runId, () => wake()) : () => undefined;
  // Watching the run's history, the guard asks its run when an inject has completed there.
  const stopWatching = new AbortController();
  let watching = !!link.watchInjects;
  let completions = 0;
  let answered = 0;
  let again = 0;
  try {
    // The run is asked beside the wait, never instead of it: a slow answer (its worker busy) must not
    // keep the guard from hearing its process's inject at once.
    let askAt = Date.now() + (o.afterMs ?? ASK_AFTER_MS);
    let asking = false;
    if (link.watchInjects)
      void link
        .watchInjects(AbortSignal.any([ctx.cancellationSignal, stopWatching.signal]), (applied) => {
          // Its time and handle from the inject's own record in history; else the run is asked.
          if (applied) known.set(applied.index, applied);
          else {
            completions++;
            askAt = Math.min(askAt, Date.now());
          }
          wake();
        })
        .catch(() => {
          watching = false; // asked on the clock, as before
          askAt = Math.min(askAt, Date.now());
          wake();
        });
    const ask = () => {
      asking = true;
      const seen = completions;
      void link
        .guardRecord()
        .then(
          (rec) => {
            rec.applied?.forEach((a) => known.set(a.index, a));
            // Its record has as many applied faults as inject activities completed (each applies one or more),
            // or is past injecting; else its workflow task is pending: asked again, a few times at most.
            if ((rec.applied?.length ?? 0) >= seen || !rec.injecting || ++again > ASK_AGAIN_TIMES) {
              answered = seen;
              again = 0;
            }
            next = watching
              ? answered < completions
                ? ASK_AGAIN_MS
                : WATCHED_ASK_EVERY_MS
              : rec.injecting
                ? (o.injectingMs ?? ASK_INJECTING_MS)
                : askEveryMs;
          },
          () => undefined,
        )
        .finally(() => {
          asking = false;
          // An inject that completed while the run was being asked: ask again at once.
          askAt = completions > seen && answered < completions ? Date.now() : Date.now() + next;
          wake();
        });
    };
    for (;;) {
      ctx.cancellationSignal.throwIfAborted();
      if (run) for (const [i, a] of appliedIn(run.workflowId, run.runId)) known.set(i, a);
      if (!missing()) break;
      if (!asking && Date.now() >= askAt) ask();
      beat();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          ctx.cancellationSignal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, asking ? 250 : Math.max(0, Math.min(askAt - Date.now(), 250)));
        wake = done;
        ctx.cancellationSignal.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    off();
    stopWatching.abort();
  }
  const at = (f: EarlyFault) => Date.parse((known.get(f.index) as Applied).at);
  const fault = (f: EarlyFault): GuardFault => ({
    index: f.index,
    kind: f.kind,
    handle: (known.get(f.index) as Applied).handle,
    endsAt: at(f) + f.durationMs,
    ...(f.since ? { since: f.since } : {}),
    ...(f.daemonId ? { daemonId: f.daemonId } : {}),
  });
  const all = early.map(fault);
  const windows = early.map((f, i) => ({
    fault: f.index,
    from: at(f),
    to: all[i]!.endsAt,
  }));
  const { early: _, ...rest } = input;
  return {
    input: {
      ...rest,
      faults: all.filter((_f, i) => !early[i]!.elsewhere),
      ...(input.atOnce ? { elsewhere: all.filter((_f, i) => early[i]!.elsewhere) } : {}),
      ...(input.guard ? { windows } : {}),
      until: Math.max(...all.map((f) => f.endsAt)),
    },
    applied: early.map((f) => known.get(f.index) as Applied),
  };
}

/**
 * A retried guard with no conclusion on record (neither its heartbeat nor the run has one) looks at the
 * faults it may revert whose window is still open: one whose warden lease was released (not taken by the
 * warden), or, without a lease, whose target records it removed through its API (not lapsed), was reverted
 * by an earlier attempt for a conclusion whose report was lost with its worker. That conclusion stands:
 * nothing is renewed or restored and the run aborts, naming it.
 */
export async function lostConclusion(
  ports: Ports,
  kindOf: (name: string) => AnyFaultKind,
  faults: GuardFault[],
): Promise<GuardViolation | undefined> {
  for (const f of faults) {
    if (Date.now() >= f.endsAt) continue;
    const k = kindOf(f.kind);
    const l = leaseOf(f.handle);
    let at: string | undefined;
    if (l && ports.leases) {
      // Renewing only pushes an existing lease forward (the holder does so anyway); gone means released.
      if (await ports.leases.renew(l.id).catch(() => true)) continue;
      if (await ports.leases.lapsed(l.id).catch(() => undefined)) continue; // the warden's, not ours
      const u = f.since && k.undoneAt ? await k.undoneAt(ports, f.handle, f.since).catch(() => undefined) : undefined;
      at = u?.at ?? new Date().toISOString();
    } else if (!k.needsContainer && f.since && k.undoneAt) {
      const u = await k.undoneAt(ports, f.handle, f.since).catch(() => undefined);
      if (!u || u.lapsed || Date.parse(u.at) >= f.endsAt) continue;
      at = u.at;
    } else continue;
    const text = `an earlier attempt of the guard reverted fault ${f.index + 1} (${f.kind}) by ${at}, before its window's end; its worker was lost before the run heard why`;
    const failing: ProbeSample = {
      probe: 'guard',
      at,
      ok: false,
      requests: 0,
      errors: 0,
      errorRate: 0,
      p50Ms: 0,
      p95Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      violations: [text],
      errorSamples: [],
    };
    return { failing, detectedAt: at, firstFailureAt: at };
  }
  return undefined;
}

/** A judged metric's crossing, in the guard's own terms (the failing "sample" is the metric's counts). */
export function judgeViolation(a: NonNullable<JudgeState['abort']>, s: JudgeState): GuardViolation {
  const e = s.metrics.find((m) => m.name === a.metric)?.tests[0]?.e;
  const failing: ProbeSample = {
    probe: a.metric,
    at: a.at,
    ok: false,
    requests: e?.n ?? 0,
    errors: e?.x ?? 0,
    errorRate: e && e.n ? e.x / e.n : 0,
    p50Ms: 0,
    p95Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    violations: [a.reason],
    errorSamples: [],
  };
  return { failing, detectedAt: a.at, firstFailureAt: a.at };
}

/** A gap longer than guard.maxGap while a fault was active, as a violation (its stand-in sample names it). */
export function blindViolation(gap: { ms: number; from: number; to: number }, maxGapMs: number): GuardViolation {
  const from = new Date(gap.from).toISOString();
  const to = new Date(gap.to).toISOString();
  const text = `the guard saw nothing for ${formatMs(gap.ms)} (${from} to ${to}), longer than guard.maxGap ${formatMs(maxGapMs)}`;
  const failing: ProbeSample = {
    probe: 'guard coverage',
    at: to,
    ok: false,
    requests: 0,
    errors: 0,
    errorRate: 0,
    p50Ms: 0,
    p95Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    violations: [text],
    errorSamples: [],
  };
  return { failing, detectedAt: to, firstFailureAt: from, blind: { ms: gap.ms, from, to, maxGapMs } };
}
