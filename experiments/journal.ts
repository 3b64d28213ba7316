// The journal: one plain record per run. The workflow holds it, a query exposes it, it is the
// workflow's result, and reports and the CLI render it. Pure types and helpers (workflow-safe).
import type { Experiment } from './schema.ts';
import type { JudgeReport } from '../judge/guard.ts';
import type { Series } from '../judge/series.ts';

export const VERDICTS = ['passed', 'refuted', 'aborted', 'not-started', 'failed'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const PHASES = [
  'starting',
  'steady-state-before',
  'selecting',
  'injecting',
  'observing',
  'reverting',
  'steady-state-after',
  'done',
] as const;
export type Phase = (typeof PHASES)[number];

/** Exit codes of `faultline run --wait`: 0 passed, 1 refuted or aborted, 2 invalid input, 3 error. */
export function exitCodeFor(v: Verdict | undefined): number {
  if (v === 'passed') return 0;
  if (v === 'refuted' || v === 'aborted' || v === 'not-started') return 1;
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
}

export interface FaultRecord {
  index: number; // position in faults[]
  faultIndex: number; // position in experiment.method[]
  kind: string;
  target?: SelectedTarget;
  summary: string;
  handle?: Record<string, unknown>;
  status: 'planned' | 'intent' | 'injected' | 'inject-failed' | 'reverted' | 'not-applied';
  intentAt?: string;
  injectedAt?: string;
  revertedAt?: string;
  errors: string[];
  revertAttempts: number;
}

export interface AbortRecord {
  by: 'guard' | 'operator' | 'cancel' | 'emergency-stop';
  reason: string;
  who?: string;
  at: string;
  sample?: ProbeSample;
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
  faults: FaultRecord[];
  steadyStateBefore: ProbeSample[];
  guardSamples: { count: number; failed: number; first?: ProbeSample; last?: ProbeSample; worst?: ProbeSample };
  steadyStateAfter: ProbeSample[];
  abort?: AbortRecord;
  verdict?: Verdict;
  reason?: string;
  /** Detection (first failing guard sample) to every fault reverted, in ms. */
  detectToRevertMs?: number;
  /** The judged guard: baselines, per-metric e-values and bounds, classification, score, series. */
  judge?: JudgeReport;
  /** The guard probes over time, per probe (bounded: downsampled buckets). */
  guardSeries?: Record<string, Series>;
}

/** Heartbeat details of the guard activity: the CLI reads them for live progress. */
export interface GuardProgress {
  samples: number;
  consecutiveFailures: number;
  last?: ProbeSample;
}
