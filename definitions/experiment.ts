// The experiment workflow's contract, defined once: its type, input, and every signal, query and update,
// imported alike by the workflow (workflows/experiment.ts), its activities (the guard reports to it, the
// sweep queries it), the client (cli/client.ts) and tests. Below workflows/ and activities/ both
// (definitions/ imports neither), so no name is copied between them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { GuardViolation, Journal } from '../experiments/journal.ts';
import type { Experiment } from '../experiments/schema.ts';
import type { Receiver } from '../experiments/notify.ts';

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
  /**
   * Receivers besides the experiment's own `notify:`: its game day's, and (carried by continue-as-new) the
   * policy's its admission named.
   */
  notify?: Receiver[];
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
  /**
   * How long a revert waits for a worker of its queue (a container fault's host agent) to pick it up before
   * that attempt times out: the run is then marked stuck and retries with backoff (runs with bounded waits).
   */
  revertScheduleToStartMs: number;
}

/** Runs from before bounded waits: no schedule-to-start on reverts, and history handed over at 4,000 events. */
export const DEFAULT_TUNING: Tuning = {
  revertBackoffMaxMs: 60_000,
  stuckAfterAttempts: 3,
  historyEventsLimit: 4_000,
  revertScheduleToStartMs: 0,
};

/**
 * Runs with bounded waits (patch 'bounded-reverts'): a revert nobody picks up within 30 s is stuck, and each
 * run's history stays under 1,000 events however long a revert waits (hand-over at 600, leaving room for
 * the attempts in flight of every other fault).
 */
export const BOUNDED_TUNING: Partial<Tuning> = { historyEventsLimit: 600, revertScheduleToStartMs: 30_000 };

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
export const guardViolationSignal = defineSignal<[GuardViolation]>('guardViolation');
/**
 * What the workflow holds of the guard's conclusion (a retried guard asks before renewing anything), and
 * when each fault was applied, with its handle (a guard started with the intents asks for those its process
 * did not see).
 */
export const guardRecordQuery = defineQuery<{
  violation?: GuardViolation;
  applied?: { index: number; at: string; handle: Record<string, unknown> }[];
  /** The run's injects are under way (every intent recorded). */
  injecting?: boolean;
}>('guardRecord');
