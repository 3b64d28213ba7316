// The journal: one plain record per run. The workflow holds it, a query exposes it, it is the
// workflow's result, and reports and the CLI render it. Pure types and helpers (workflow-safe).
import type { Experiment } from './schema.ts';
import type { JudgeReport, JudgeState } from '../judge/guard.ts';
import type { Series } from '../judge/series.ts';
import type { NotifyRecord } from './notify.ts';

/**
 * inconclusive: nobody can say whether the steady state held: the judge had too little data (a judged metric had
 * no data for more than its maxNoData share of the ticks, or no event at all), or the guard did not watch the
 * fault window as scheduled (experiments/coverage.ts); never a pass.
 */
export const VERDICTS = ['passed', 'refuted', 'aborted', 'not-started', 'failed', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const PHASES = [
  'starting',
  'steady-state-before',
  'selecting',
  'admitting',
  'injecting',
  'observing',
  'reverting',
  'steady-state-after',
  'done',
] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Exit codes of `faultline run --wait` (and status, gameday): 0 passed, 1 refuted, aborted or not started,
 * 2 invalid input, 3 error (failed, or no verdict), 4 inconclusive (too little data, or a window not watched).
 */
export function exitCodeFor(v: Verdict | undefined): number {
  if (v === 'passed') return 0;
  if (v === 'refuted' || v === 'aborted' || v === 'not-started') return 1;
  if (v === 'inconclusive') return 4;
  return 3;
}

export interface ProbeSample {
  probe: string;
  at: string; // ISO time the sample finished
  ok: boolean;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Query-form Prometheus probes: the gauge's value. */
  value?: number;
  /** Why the sample failed its tolerance, when it did. */
  violations: string[];
  /** A few distinct error messages or unexpected statuses. */
  errorSamples: string[];
}

export interface SelectedTarget {
  id: string;
  name: string;
  /** The fleet host the container lives on (its agent injects and reverts); absent on runs before the fleet. */
  host?: string;
}

export interface FaultRecord {
  index: number; // position in faults[]
  faultIndex: number; // position in experiment.method[]
  kind: string;
  target?: SelectedTarget;
  summary: string;
  handle?: Record<string, unknown>;
  /** 'reverting': its revert has begun; nothing renews or re-applies it from then on. */
  status: 'planned' | 'intent' | 'injected' | 'inject-failed' | 'reverting' | 'reverted' | 'not-applied';
  intentAt?: string;
  injectedAt?: string;
  /** Its own window end: injectedAt plus its duration (each fault's clock starts when its inject completed). */
  endsAt?: string;
  /**
   * When the fault was undone: the first revert that took effect (see revertedBy), from the daemon's own
   * event log where a revert found it undone already; never the time of a later no-op revert.
   */
  revertedAt?: string;
  /** The first few errors only (see errorCount): a revert failing for days must not grow the journal. */
  errors: string[];
  /** Every error seen, including those not kept in errors. */
  errorCount?: number;
  /** The latest error, when it is not among the first kept. */
  lastError?: string;
  revertAttempts: number;
  /** Times a rule the proxy had lost was put back while the fault was still active. */
  restoredAt?: string[];
  /** Who undid it (see RevertedBy); absent on runs from before it was recorded. */
  revertedBy?: RevertedBy;
  /** What a revert found that there was nothing to undo, in one line (the fault went with a restarted target's namespace). */
  revertNote?: string;
  /** The warden took its lease because it lapsed (nobody renewed it in time): what the warden did. */
  warden?: WardenRevert;
}

/**
 * Who undid a fault: `workflow` the run's own revert (its guard at the window's end or its revert phase),
 * `guard` the run's guard at once on its conclusion (a violation, a blind gap), before the run heard of it,
 * `warden` the warden beside the daemon (the lease lapsed), `proxy` the fault proxy itself (the rule's lease
 * lapsed there), `earlier-attempt` an earlier attempt of the
 * run's own revert whose result was lost (its worker died), `unknown` nothing says (revertedAt is then
 * when the run found it undone: no later than that).
 */
export type RevertedBy = 'workflow' | 'guard' | 'warden' | 'proxy' | 'earlier-attempt' | 'unknown';

/** What one revert found (activities/revert.ts): the revert activity's result, and the guard's per fault. */
export interface RevertReport {
  /**
   * When the fault was undone: by this revert, its own time; undone already, the time the target's own
   * record gives (Docker's event log), else the warden's recorded time, else this revert's (by 'unknown').
   */
  at: string;
  by: RevertedBy;
  /** This revert undid it. */
  tookEffect: boolean;
  /** When this revert saw the fault undone. */
  confirmedAt: string;
  /** The warden took the fault's lease because it lapsed: what it recorded. */
  warden?: WardenRevert;
  /** Why there was nothing to undo, when the fault kind says (RevertEffect.note). */
  note?: string;
}

/** A fault's revert in a few words (status and report). */
export function revertedByText(by: RevertedBy | undefined): string {
  if (by === 'workflow') return 'by the run';
  if (by === 'guard') return 'by the guard, at once on its conclusion';
  if (by === 'warden') return 'by the warden';
  if (by === 'proxy') return 'by the fault proxy (its lease lapsed)';
  if (by === 'earlier-attempt') return "by an earlier attempt of the run's revert";
  if (by === 'unknown') return 'found undone (by whom unknown; no later than this)';
  return '';
}

/** What the warden recorded when it took a lapsed lease (see warden/lease-ledger.ts). */
export interface WardenRevert {
  lapsedAt: string;
  /** When the warden's revert succeeded; absent while it failed (error says why). */
  revertedAt?: string;
  error?: string;
}

/** The warden's part in a fault's end, in one line (status and report). */
export function wardenLine(w: WardenRevert): string {
  const t = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return `reverted by the warden: lease lapsed ${t(w.lapsedAt)}, ${w.revertedAt ? `reverted ${t(w.revertedAt)}` : `its revert failed: ${w.error ?? 'unknown'}`}`;
}

export interface AbortRecord {
  by: 'guard' | 'operator' | 'cancel' | 'emergency-stop';
  reason: string;
  who?: string;
  at: string;
  /** The phase the run was in when the abort arrived. */
  phase?: Phase;
  sample?: ProbeSample;
}

/** Something the tool could not do (an activity that failed for good), as opposed to a finding. */
export interface FailureRecord {
  phase: Phase;
  cause: string;
  at: string;
}

export interface Journal {
  experiment: Experiment;
  file?: string;
  workflowId: string;
  runId: string;
  startedAt: string;
  finishedAt?: string;
  phase: Phase;
  /** Ends of the fault window, for "time left". */
  windowEndsAt?: string;
  selection?: { seed: number; matched: SelectedTarget[]; selected: SelectedTarget[]; protectedSkipped: string[] };
  /** The judge's control-group mode: the replicas the faults hit and the untouched ones, judged side by side. */
  controlGroup?: { experiment: string[]; control: string[] };
  faults: FaultRecord[];
  steadyStateBefore: ProbeSample[];
  guardSamples: {
    count: number;
    failed: number;
    first?: ProbeSample;
    last?: ProbeSample;
    worst?: ProbeSample;
    /** How much of each fault window the guard watched, against its schedule (runs with a guard). */
    coverage?: GuardCoverage;
  };
  steadyStateAfter: ProbeSample[];
  abort?: AbortRecord;
  failure?: FailureRecord;
  /** Set while some revert keeps failing (also the FaultlineStuck search attribute). */
  stuck?: boolean;
  /** Since when it is stuck, and the latest reason (a fault and its error: no agent picked it up...). */
  stuckSince?: string;
  stuckReason?: string;
  /** Runs this journal was carried over from (continue-as-new while a revert kept failing). */
  continuedFrom?: string[];
  verdict?: Verdict;
  reason?: string;
  /** Detection (first failing guard sample) to every fault reverted, in ms. */
  detectToRevertMs?: number;
  /** The judged guard: baselines, per-metric e-values and bounds, classification, score, series. */
  judge?: JudgeReport;
  /** The guard probes over time, per probe (bounded: downsampled buckets). */
  guardSeries?: Record<string, Series>;
  /** A progressive exposure: the fault that grows in steps of traffic, and each step as it went. */
  exposure?: ExposureRecord;
  /** Its notifications (the `notify:` receivers, the game day's and the policy's): delivered, and given up on. */
  notify?: NotifyRecord;
}

/**
 * One step of a progressive exposure. `waiting` not begun yet; `running` its share is applied and held;
 * `passed` held for its whole hold with no crossing of the judge's e-process (the last step: to the window's
 * end); `failed` the judge (or the guard) concluded while it was in effect; `stopped` an abort, a failure or a
 * rule found gone ended it first; `not-reached` the exposure ended before it.
 */
export interface ExposureStepRecord {
  /** Share of the fault's traffic, percent. */
  share: number;
  /** How long it is held before the next step (the last: the rest of the fault's duration), ms. */
  holdMs: number;
  status: 'waiting' | 'running' | 'passed' | 'failed' | 'stopped' | 'not-reached';
  /** When its share was applied (the first step: the fault's inject; later ones: the update of its rules). */
  startedAt?: string;
  endedAt?: string;
  /** Why it failed or stopped. */
  note?: string;
}

export interface ExposureRecord {
  /** The fault (its index in faults[]) that grows. */
  fault: number;
  steps: ExposureStepRecord[];
}

/**
 * What the guard activity knows, heartbeated as its details (the CLI reads them for live progress) so a
 * retried guard resumes from them: counts, the violation it concluded, and what it reverted when.
 */
export interface GuardProgress {
  samples: number;
  failed: number;
  consecutiveFailures: number;
  streakStartedAt?: string;
  first?: ProbeSample;
  last?: ProbeSample;
  worst?: ProbeSample;
  violation?: GuardViolation;
  /** fault index -> when the guard reverted it (its own end, or the violation's fast revert). */
  reverted: Record<number, string>;
  /** fault index -> what the guard's revert found (undone by it, or already: when and by whom). */
  revertReports?: Record<number, RevertReport>;
  revertErrors: Record<number, string>;
  /** fault index -> times a lost rule was put back while the fault was active. */
  restored: Record<number, string[]>;
  /** The judged guard's state (e-processes, series), so a retried guard resumes it. */
  judge?: JudgeState;
  /** Each guard probe over time (bounded buckets). */
  series?: Record<string, Series>;
  /** The guard's coverage so far (experiments/coverage.ts), so a retried guard counts the span it was gone. */
  coverage?: CoverageState;
}

export interface GuardViolation {
  /** The failing sample (a blind guard: a stand-in naming the gap). */
  failing: ProbeSample;
  /** Set when the guard concluded because no sample was taken for longer than guard.maxGap. */
  blind?: CoverageGap & { maxGapMs: number };
  /** When the guard concluded the violation. */
  detectedAt: string;
  /** When the first sample of the failing streak started. */
  firstFailureAt: string;
}

/** A stretch of the fault windows in which the guard saw nothing (no sample started, ran or ended). */
export interface CoverageGap {
  ms: number;
  from: string;
  to: string;
}

/**
 * Guard coverage, in the journal: the schedule (a sample due every intervalMs from the first fault's inject
 * until the last window's end, or until the guard concluded), what was taken, and each window's watched share.
 * Each moment the guard saw (a sample's start and end, a sample in flight) watches until one interval and 50 ms after.
 */
export interface GuardCoverage {
  /** The schedule's step: guard.interval, or the probes' fixed measuring time when that is longer. */
  intervalMs: number;
  maxGapMs: number;
  minCoverage: number;
  from: string;
  to: string;
  due: number;
  taken: number;
  /** Samples that started within 50 ms of their slot. */
  onTime: number;
  /** The longest a sample took (a sample longer than the interval makes the next one late). */
  slowestSampleMs?: number;
  longestGap: CoverageGap;
  /** The first stretch without a sample longer than maxGap, when there was one. */
  blind?: CoverageGap;
  windows: { fault: number; from: string; to: string; watchedMs: number; share: number }[];
  /** The lowest watched share of any window (1 with no window). */
  share: number;
}

/** The guard's running coverage count (epoch ms), heartbeated with its progress. See experiments/coverage.ts. */
export interface CoverageState {
  /** Slot 0 of the schedule: the first window's start. */
  anchor: number;
  /** The last window's end. */
  end: number;
  /** The schedule's step and maxGap (for live progress). */
  cadenceMs: number;
  maxGapMs: number;
  taken: number;
  onTime: number;
  /** The slot of the last sample counted (-1: none), and whether that sample was on time. */
  lastSlot: number;
  lastOnTime?: boolean;
  /** The last moment the guard saw the system (a sample's start or end, or a sample in flight). */
  lastSeen?: number;
  /** The longest a sample took. */
  slowestMs?: number;
  /** Where the watched stretches counted so far end. */
  watchedUntil: number;
  /** Ms watched per window, in the plan's window order. */
  watched: number[];
  longestGap?: { ms: number; from: number; to: number };
  blind?: { ms: number; from: number; to: number };
}
