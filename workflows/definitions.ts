// Messages of the experiment workflow, defined once and shared by the workflow, the client and tests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Journal } from '../experiments/journal.ts';
import type { Experiment } from '../experiments/schema.ts';

export const WORKFLOW_TYPE = 'runExperiment';

export interface RunInput {
  experiment: Experiment;
  /** The experiment file, for the journal and reports. */
  file?: string;
  submittedBy?: string;
  /** false on clusters where Faultline's search attributes are not registered. */
  searchAttributes: boolean;
}

export interface AbortRequest {
  reason: string;
  who?: string;
  /** Set by `faultline revert --all`. */
  emergency?: boolean;
}

export const journalQuery = defineQuery<Journal>('journal');
/** The kill switch: returns once every fault of the run is reverted. */
export const abortExperimentUpdate = defineUpdate<Journal, [AbortRequest]>('abortExperiment');
