// Messages of the experiment workflow, defined once and shared by the workflow, the client, activities and tests.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { GuardViolation, Journal } from '../experiments/journal.ts';
import type { Experiment } from '../experiments/schema.ts';

export const WORKFLOW_TYPE = 'runExperiment';

export interface RunInput {
  experiment: Experiment;
  /** The experiment file, for the journal and reports. */
  file?: string;
  submittedBy?: string;
  /** false on clusters where Faultline's search attributes are not registered. */
  searchAttributes: boolean;
  /** Set by continue-as-new: the journal so far; the new run goes straight on with the pending reverts. */
  resume?: { journal: Journal };
  /** Overrides for tests: how fast a failing revert backs off and when history is handed over. */
  tuning?: Partial<Tuning>;
}

export interface Tuning {
  /** Longest pause between two attempts of a failing revert. */
  revertBackoffMaxMs: number;
  /** Attempts after which a run is marked stuck (FaultlineStuck). */
  stuckAfterAttempts: number;
  /** Continue-as-new once history has this many events (or when Temporal suggests it). */
  historyEventsLimit: number;
}

export const DEFAULT_TUNING: Tuning = { revertBackoffMaxMs: 60_000, stuckAfterAttempts: 3, historyEventsLimit: 4_000 };

export interface AbortRequest {
  reason: string;
  who?: string;
  /** Set by `faultline revert --all`. */
  emergency?: boolean;
}

export const journalQuery = defineQuery<Journal>('journal');
/** The kill switch: returns once every fault of the run is reverted. */
export const abortExperimentUpdate = defineUpdate<Journal, [AbortRequest]>('abortExperiment');

/**
 * The guard activity reports a violation here BEFORE it reverts anything: once the signal is accepted the
 * conclusion is in history, so a crash anywhere after it cannot turn the run into `passed`.
 */
export const guardViolationSignal = defineSignal<[GuardViolation]>('guardViolation'); // GUARD_VIOLATION_SIGNAL
/** What the workflow holds of the guard's conclusion; a retried guard asks before renewing anything. */
export const guardRecordQuery = defineQuery<{ violation?: GuardViolation }>('guardRecord'); // GUARD_RECORD_QUERY
