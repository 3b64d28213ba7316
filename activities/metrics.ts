// The runner's own metrics (Prometheus, prom-client, a registry of its own): what a worker or an agent process
// sees of the faults it injects, holds and reverts, of the guard it runs, of admission and of its wardens'
// ledgers. Counted by wrapping the activities where the worker registers them (instrumentActivities,
// instrumentControl), never inside a workflow: the workflows' command sequence is untouched. The guard's
// progress is read from its own heartbeats (the same state a retried guard resumes from). The HTTP endpoint
// and the Temporal SDK's runtime metrics are wired in worker/metrics-server.ts. Names, types and labels:
// README, "The runner's own metrics".
import { Context } from '@temporalio/activity';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../experiments/admission.ts';
import { closeCoverage, coveragePlan } from '../experiments/coverage.ts';
import type { GuardProgress, RevertReport } from '../experiments/journal.ts';
import { InvalidInput } from '../errors.ts';
import { lapsedLeases, wardenBeat } from '../warden/lease-ledger.ts';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Activities, BatchInject, BatchRevert, ObserveInput, ObserveResult, TargetResult } from './index.ts';
import { admissionWorkflowId, type ControlActivities } from './control.ts';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { admissionStateQuery } from '../definitions/admission.ts';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Why a run's fault window ended early, as the worker running its guard saw it. */
export type AbortReason = 'probe' | 'judge' | 'coverage-gap' | 'earlier-attempt' | 'cancelled';

/** A ledger whose warden this process relies on, and the host it belongs to. */
export interface WatchedLedger {
  host: string;
  dir: string;
}

export type FaultlineMetrics = ReturnType<typeof createFaultlineMetrics>;

/**
 * The registry and every metric on it. `process` adds Node's own process metrics (faultline_process_*,
 * faultline_nodejs_*): off in tests that count exactly.
 */
export function createFaultlineMetrics(opts: { process?: boolean } = {}) {
  const registry = new Registry();
  const kh = ['kind', 'host'] as const;
  /** Faults held in a fault window by this process's guards and holders: (kind, host) -> tokens. */
  const held = new Map<string, { kind: string; host: string }>();
  const seenKinds = new Map<string, { kind: string; host: string }>();
  const ledgers: WatchedLedger[] = [];
  /** What only the server knows, asked at scrape time (a fleet worker sets them: createControlSources). */
  const sources: { queue?: string; stuck?: () => Promise<number>; holds?: () => Promise<number> } = {};
  const fromServer = (name: string, help: string, read: () => (() => Promise<number>) | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['task_queue'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const f = read();
        if (!f || sources.queue === undefined) return;
        const v = await f().catch(() => undefined); // the server unreachable: no sample rather than a wrong one
        if (v !== undefined) this.set({ task_queue: sources.queue }, v);
      },
    });
  const m = {
    registry,
    held,
    /** A fault's window begins here: held until its revert (or the window's activity) ends. */
    hold(token: string, f: { kind: string; host: string }) {
      held.set(token, f);
      seenKinds.set(`${f.kind}\0${f.host}`, f);
    },
    ledgers,
    sources,
    runsStuck: fromServer(
      'faultline_runs_stuck',
      'Open runs of this task queue marked stuck (FaultlineStuck: a revert not confirmed after 3 attempts or no agent to run it), from visibility',
      () => sources.stuck,
    ),
    admissionHolds: fromServer(
      'faultline_admission_holds',
      'Runs holding admission on this task queue (their targets are exclusive until their reverts are done), from the admission workflow',
      () => sources.holds,
    ),
    faultsActive: new Gauge({
      name: 'faultline_faults_active',
      help: "Faults whose window this process's guard or a host's holder holds, from the window's start until its revert",
      labelNames: kh,
      registers: [registry],
      collect() {
        // A (kind, host) once seen stays, at 0 when nothing is held: a dashboard reads 0, not "no data".
        this.reset();
        for (const k of seenKinds.values()) this.set(k, 0);
        for (const f of held.values()) this.inc({ kind: f.kind, host: f.host });
      },
    }),
    injects: new Counter({
      name: 'faultline_injects_total',
      help: 'Fault injects this process ran, by outcome (ok, error)',
      labelNames: [...kh, 'outcome'] as const,
      registers: [registry],
    }),
    injectSeconds: new Histogram({
      name: 'faultline_inject_duration_seconds',
      help: "How long an inject took (a host's batch: the batch's time for each of its targets)",
      labelNames: kh,
      buckets: SECONDS,
      registers: [registry],
    }),
    reverts: new Counter({
      name: 'faultline_reverts_total',
      help: 'Reverts this process ran: by who undid the fault (the report) and whether this revert undid it (undone) or found it undone',
      labelNames: [...kh, 'by', 'result'] as const,
      registers: [registry],
    }),
    revertErrors: new Counter({
      name: 'faultline_revert_errors_total',
      help: 'Reverts that failed (the run retries them; repeated failures mark the run stuck)',
      labelNames: kh,
      registers: [registry],
    }),
    revertSeconds: new Histogram({
      name: 'faultline_revert_duration_seconds',
      help: "How long a revert activity took (a host's batch: the batch's time for each of its targets)",
      labelNames: kh,
      buckets: SECONDS,
      registers: [registry],
    }),
    revertLag: new Histogram({
      name: 'faultline_revert_lag_seconds',
      help: "For a fault its guard or holder reverted: from when it was due to go (its window's end, or the guard's conclusion) until the revert took effect",
      labelNames: kh,
      buckets: SECONDS,
      registers: [registry],
    }),
    aborts: new Counter({
      name: 'faultline_aborts_total',
      help: "Fault windows that ended early, by reason, counted by the process running the run's guard",
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    guardsRunning: new Gauge({
      name: 'faultline_guards_running',
      help: "Fault-window activities running in this process: the run's guard (fleet queue) or a host's holder",
      labelNames: ['role'] as const,
      registers: [registry],
    }),
    guardSamples: new Counter({
      name: 'faultline_guard_samples_total',
      help: "The guard's probe rounds, by result (ok, failed)",
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    guardSlots: new Counter({
      name: 'faultline_guard_slots_total',
      help: "Samples counted against the guard's schedule, by timing (on-time: within 50 ms of its slot, late)",
      labelNames: ['timing'] as const,
      registers: [registry],
    }),
    guardCoverage: new Histogram({
      name: 'faultline_guard_coverage_ratio',
      help: "Per finished guard: the least-watched fault window's watched share (guard.minCoverage is the bar)",
      buckets: [0.5, 0.75, 0.9, 0.95, 0.99, 1],
      registers: [registry],
    }),
    guardLongestGap: new Histogram({
      name: 'faultline_guard_longest_gap_seconds',
      help: 'Per finished guard: the longest stretch of the fault windows it saw nothing (guard.maxGap is the bar)',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
      registers: [registry],
    }),
    admissions: new Counter({
      name: 'faultline_admission_decisions_total',
      help: 'Admission answers this process asked for: admitted, waiting (held back by a hold, a window, an approval) or refused',
      labelNames: ['decision'] as const,
      registers: [registry],
    }),
    admissionReleases: new Counter({
      name: 'faultline_admission_releases_total',
      help: 'Runs this process released from admission (their holds dropped)',
      registers: [registry],
    }),
    wardenAge: new Gauge({
      name: 'faultline_warden_heartbeat_age_seconds',
      help: "Age of the warden's heartbeat in the ledger this process grants leases in (over 3 s: container faults are refused)",
      labelNames: ['host'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of ledgers) {
          const b = await wardenBeat(l.dir).catch(() => undefined);
          if (b) this.set({ host: l.host }, b.ageMs / 1000);
        }
      },
    }),
    wardenLeases: new Gauge({
      name: 'faultline_warden_leases',
      help: 'Leases in the ledger: active (a fault the runner holds) or reverting (claimed by the warden, its revert in flight)',
      labelNames: ['host', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of ledgers)
          for (const state of ['active', 'reverting'] as const)
            this.set({ host: l.host, state }, await jsonFiles(path.join(l.dir, state)));
      },
    }),
    wardenLapses: new Gauge({
      name: 'faultline_warden_lapses',
      help: 'Leases the warden took because nobody renewed them in time (its records in the ledger; they are kept)',
      labelNames: ['host', 'result'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of ledgers) {
          const recs = await lapsedLeases(l.dir).catch(() => []);
          this.set({ host: l.host, result: 'reverted' }, recs.filter((r) => r.revertedAt).length);
          this.set({ host: l.host, result: 'failed' }, recs.filter((r) => !r.revertedAt).length);
        }
      },
    }),
  };
  if (opts.process) collectDefaultMetrics({ register: registry, prefix: 'faultline_' });
  return m;
}

async function jsonFiles(dir: string): Promise<number> {
  try {
    return (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

/** The Docker host an activity serves: its task queue's `@NAME` (a host's agent), '' on the fleet queue. */
function hostOf(ctx: Context | undefined): string {
  const q = ctx?.info.taskQueue ?? '';
  const at = q.lastIndexOf('@');
  return at >= 0 ? q.slice(at + 1) : '';
}

function current(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called directly, outside an activity
  }
}

const since = (t0: number) => (performance.now() - t0) / 1000;

function countRevert(m: FaultlineMetrics, labels: { kind: string; host: string }, r: RevertReport): void {
  m.reverts.inc({ ...labels, by: r.by, result: r.tookEffect ? 'undone' : 'found-undone' });
}

/** Why a guard's window ended early, from its conclusion (undefined: it did not conclude). */
export function abortReason(p: Pick<GuardProgress, 'violation' | 'judge'>): AbortReason | undefined {
  const v = p.violation;
  if (!v) return undefined;
  if (v.blind) return 'coverage-gap';
  if ((p.judge as { abort?: unknown } | undefined)?.abort) return 'judge';
  if (v.failing.probe === 'guard' && v.failing.violations.some((t) => t.startsWith('an earlier attempt')))
    return 'earlier-attempt';
  return 'probe';
}

/**
 * One fault-window activity (the guard, or a host's holder) seen through its heartbeats: its faults are
 * active until the heartbeat records their revert; samples and schedule slots are counted as they grow; at
 * its end the coverage, the longest gap and the abort (a conclusion, or the window cancelled) are counted.
 */
export function guardTap(m: FaultlineMetrics, input: ObserveInput, host: string, resumed?: GuardProgress) {
  const role = host ? 'holder' : 'guard';
  const token = `${Math.random().toString(36).slice(2)}:`;
  const last = { samples: resumed?.samples ?? 0, failed: resumed?.failed ?? 0, taken: 0, onTime: 0 };
  last.taken = resumed?.coverage?.taken ?? 0;
  last.onTime = resumed?.coverage?.onTime ?? 0;
  const counted = new Set<number>(Object.keys(resumed?.revertReports ?? {}).map(Number));
  // A guard started with the intents (runs from 'guard-starts-with-intents' on) learns its faults' handles
  // and windows itself: its own faults are held from their intent, their lag and exact windows are not known.
  const early = input.early ?? [];
  const held: { index: number; kind: string; endsAt?: number }[] = [
    ...input.faults,
    ...early.filter((f) => !f.elsewhere),
  ];
  const others: { index: number; kind: string }[] = [...(input.elsewhere ?? []), ...early.filter((f) => f.elsewhere)];
  for (const f of held) if (!(f.index in (resumed?.reverted ?? {}))) m.hold(token + f.index, { kind: f.kind, host });
  m.guardsRunning.inc({ role });
  let ended = false;
  const beat = (p: GuardProgress | undefined) => {
    if (!p || ended) return;
    if (p.samples > last.samples) {
      const failed = Math.max(0, p.failed - last.failed);
      m.guardSamples.inc({ result: 'failed' }, failed);
      m.guardSamples.inc({ result: 'ok' }, Math.max(0, p.samples - last.samples - failed));
      last.samples = p.samples;
      last.failed = p.failed;
    }
    const c = p.coverage;
    if (c && c.taken > last.taken) {
      const onTime = Math.max(0, c.onTime - last.onTime);
      m.guardSlots.inc({ timing: 'on-time' }, onTime);
      m.guardSlots.inc({ timing: 'late' }, Math.max(0, c.taken - last.taken - onTime));
      last.taken = c.taken;
      last.onTime = c.onTime;
    }
    const due = p.violation ? Date.parse(p.violation.detectedAt) : Infinity;
    for (const f of held) {
      const r = p.revertReports?.[f.index];
      if (f.index in p.reverted || f.index in p.revertErrors) m.held.delete(token + f.index);
      if (f.index in p.revertErrors && !counted.has(f.index)) {
        counted.add(f.index);
        m.revertErrors.inc({ kind: f.kind, host });
      }
      if (!r || counted.has(f.index)) continue;
      counted.add(f.index);
      countRevert(m, { kind: f.kind, host }, r);
      if (f.endsAt !== undefined)
        m.revertLag.observe({ kind: f.kind, host }, Math.max(0, Date.parse(r.at) - Math.min(f.endsAt, due)) / 1000);
    }
    // Faults held on a host whose daemon the guard reached (reverted by the guard at once on its conclusion).
    for (const f of others) {
      const r = p.revertReports?.[f.index];
      if (!r || counted.has(f.index)) continue;
      counted.add(f.index);
      countRevert(m, { kind: f.kind, host }, r);
    }
  };
  const end = (result: ObserveResult | undefined, error?: unknown) => {
    if (ended) return;
    if (result) beat(result);
    ended = true;
    for (const f of held) m.held.delete(token + f.index);
    m.guardsRunning.dec({ role });
    if (role !== 'guard') return;
    const reason = result
      ? abortReason(result)
      : (error as { name?: string } | undefined)?.name === 'CancelledFailure'
        ? 'cancelled'
        : undefined;
    if (reason) m.aborts.inc({ reason });
    const c = result?.coverage;
    if (result && input.guard && c) {
      // The windows as the workflow closes them; an early guard's one window is its coverage's span (exact),
      // and of several only the longest gap is known (it does not depend on where each window lies).
      const exact = input.windows?.length
        ? input.windows
        : early.length === 1
          ? [{ fault: early[0]!.index, from: c.anchor, to: c.end }]
          : undefined;
      const cut = result.violation ? Date.parse(result.violation.detectedAt) : undefined;
      const cov = closeCoverage(coveragePlan(input.guard, exact ?? [{ fault: -1, from: c.anchor, to: c.end }]), c, cut);
      if (exact) m.guardCoverage.observe(cov.share);
      m.guardLongestGap.observe(cov.longestGap.ms / 1000);
    }
  };
  // Counting never fails the activity it watches: a metric's error is logged and the fault work goes on.
  const safe =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A) => {
      try {
        f(...a);
      } catch (e) {
        console.error(`faultline metrics: ${(e as Error).message}`);
      }
    };
  return { beat: safe(beat), end: safe(end) };
}

/**
 * The fault activities, counted: injects and reverts (each target of a batch on its own), and each fault
 * window through its guard's heartbeats (guardTap). Same functions, same arguments and results.
 */
export function instrumentActivities(acts: Activities, m: FaultlineMetrics): Activities {
  const injected = (kind: string, host: string, t0: number, ok: boolean) => {
    m.injects.inc({ kind, host, outcome: ok ? 'ok' : 'error' });
    m.injectSeconds.observe({ kind, host }, since(t0));
  };
  const reverted = (kind: string, host: string, t0: number, r: RevertReport | undefined) => {
    if (r) countRevert(m, { kind, host }, r);
    else m.revertErrors.inc({ kind, host });
    m.revertSeconds.observe({ kind, host }, since(t0));
  };
  return {
    ...acts,
    async injectFault(spec, handle) {
      const host = hostOf(current());
      const t0 = performance.now();
      try {
        const r = await acts.injectFault(spec, handle);
        injected(spec.kind, host, t0, true);
        return r;
      } catch (e) {
        injected(spec.kind, host, t0, false);
        throw e;
      }
    },
    async injectFaults(items: BatchInject[]) {
      const host = hostOf(current());
      const t0 = performance.now();
      const results = await acts.injectFaults(items);
      for (const r of results) {
        const it = items.find((i) => i.index === r.index);
        if (it && !(r.ok && (r.value as { retried?: boolean }).retried)) injected(it.spec.kind, host, t0, r.ok);
      }
      return results;
    },
    async revertFault(kind, handle, opts) {
      const host = hostOf(current());
      const t0 = performance.now();
      try {
        const r = await acts.revertFault(kind, handle, opts);
        reverted(kind, host, t0, r);
        return r;
      } catch (e) {
        reverted(kind, host, t0, undefined);
        throw e;
      }
    },
    async revertFaults(items: BatchRevert[]) {
      const host = hostOf(current());
      const t0 = performance.now();
      const results = await acts.revertFaults(items);
      for (const r of results as TargetResult<RevertReport>[]) {
        const it = items.find((i) => i.index === r.index);
        if (it) reverted(it.kind, host, t0, r.ok ? r.value : undefined);
      }
      return results;
    },
    async observe(input: ObserveInput) {
      const ctx = current();
      const tap = guardTap(m, input, hostOf(ctx), ctx?.info.heartbeatDetails as GuardProgress | undefined);
      if (ctx) {
        // The guard heartbeats its whole state (every 250 ms and on each step): read it on the way out. The
        // context is this attempt's own (a field, not shared), so nothing else sees the wrapper.
        const send = ctx.heartbeat;
        (ctx as { heartbeat: (details?: unknown) => void }).heartbeat = (details?: unknown) => {
          tap.beat(details as GuardProgress | undefined);
          send(details);
        };
      }
      try {
        const r = await acts.observe(input);
        tap.end(r);
        return r;
      } catch (e) {
        tap.end(undefined, e);
        throw e;
      }
    },
  };
}

/** At most one question to the server per this many ms, however often Prometheus scrapes. */
const SERVER_EVERY_MS = 5_000;

function cached(read: () => Promise<number>): () => Promise<number> {
  let last: { at: number; v: Promise<number> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > SERVER_EVERY_MS) {
      const v = read();
      last = { at: Date.now(), v };
      v.catch(() => (last = undefined)); // a failed read is asked again at the next scrape
    }
    return last.v;
  };
}

/**
 * A fleet worker's server-side gauges for its task queue: the open runs marked stuck (visibility's
 * FaultlineStuck) and the holds of the queue's admission workflow (its state query; none running: 0).
 */
export function watchQueue(m: FaultlineMetrics, client: Client, taskQueue: string): void {
  m.sources.queue = taskQueue;
  m.sources.stuck = cached(async () => {
    const q = `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running' AND FaultlineStuck = 'true'`;
    return (await client.workflow.count(q)).count;
  });
  m.sources.holds = cached(async () => {
    try {
      const st = await client.workflow.getHandle(admissionWorkflowId(taskQueue)).query(admissionStateQuery);
      return st.holds.length;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return 0;
      throw e;
    }
  });
}

/** Admission's answers and releases, counted. */
export function instrumentControl(acts: ControlActivities, m: FaultlineMetrics): ControlActivities {
  const decision = (d: Decision) => (d.admitted ? 'admitted' : d.retryable ? 'waiting' : 'refused');
  return {
    ...acts,
    async admitRun(req) {
      const d = await acts.admitRun(req);
      m.admissions.inc({ decision: decision(d) });
      return d;
    },
    async releaseRun(workflowId, runId) {
      await acts.releaseRun(workflowId, runId);
      m.admissionReleases.inc();
    },
  };
}

/** The metrics setting of a command: its --metrics flag, else FAULTLINE_METRICS (unset: off). */
export function metricsSetting(flag: string | undefined): { text: string | undefined; source: string } {
  return flag !== undefined
    ? { text: flag, source: '--metrics' }
    : { text: process.env.FAULTLINE_METRICS, source: 'FAULTLINE_METRICS' };
}

/** Where the metrics endpoint listens. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * `--metrics` / FAULTLINE_METRICS: `PORT`, `HOST:PORT` or `[IPv6]:PORT` (a bare port listens on 127.0.0.1;
 * port 0 picks a free one); `off` or empty: no endpoint. InvalidInput (exit 2) naming the source otherwise.
 */
export function parseMetricsAddress(text: string | undefined, source: string): MetricsAddress | undefined {
  const t = (text ?? '').trim();
  if (t === '' || t === 'off') return undefined;
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(t);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new InvalidInput(
      `${source} ${JSON.stringify(t)}: not an address to serve metrics on; give PORT, HOST:PORT or [IPv6]:PORT (port 0-65535), or off`,
    );
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
  return { host, port };
}
