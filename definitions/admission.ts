// The admission workflow's contract, defined once: its type, input, and every signal, query and update,
// imported alike by the workflow (workflows/admission.ts), the activities that start and ask it
// (activities/control.ts, activities/sweep.ts), the client (cli/admission.ts) and tests. Below workflows/
// and activities/ both (definitions/ imports neither), so no name is copied between them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdmissionState, AdmitRequest, Decision, Hold, Lever, Policy } from '../experiments/admission.ts';

/** The workflow function's name (workflows/index.ts exports `admission`). */
export const ADMISSION_WORKFLOW_TYPE = 'admission';

export interface AdmissionInput {
  state?: AdmissionState;
  /** Tests: how often held runs are checked (default 15 s) and the history length that continues as new. */
  sweepEveryMs?: number;
  maxHistory?: number;
}

/**
 * One admission workflow per task queue: the workers of a queue share the Docker daemon and proxy that
 * the targets live on, so that is the domain where targets are exclusive and limits count.
 */
export function admissionWorkflowId(taskQueue: string): string {
  return `faultline-admission-${taskQueue}`;
}

export const admitUpdate = defineUpdate<Decision, [AdmitRequest]>('admit');
/**
 * A run's ask, signalled by the run itself (workflows/admission-client.ts): signals have no in-flight limit
 * (updates: 10 per workflow), and admission decides every ask that arrived in one workflow task. `ask`
 * numbers the run's asks; the answer (admissionDecisionSignal to the run) carries it back.
 */
export const admitAskSignal = defineSignal<[{ req: AdmitRequest; ask: number }]>('admitAsk');
/** One answer to a run that asked by signal (the answerAsks activity sends it as admissionDecisionSignal). */
export interface AskAnswer {
  workflowId: string;
  runId: string;
  ask: number;
  decision: Decision;
}
/** To the asking run: the decision on its ask number `ask`. */
export const admissionDecisionSignal = defineSignal<[{ ask: number; decision: Decision }]>('admissionDecision');
/** Signals, not updates: a release must land even while no worker is polling. */
export const releaseSignal = defineSignal<[{ workflowId: string; runId?: string }]>('release');
export const setPolicyUpdate = defineUpdate<AdmissionState, [Policy]>('setPolicy');
export const pullLeverUpdate = defineUpdate<Hold[], [{ reason: string; who?: string }]>('pullLever');
export const releaseLeverUpdate = defineUpdate<Lever | undefined, [{ who?: string }]>('releaseLever');
export const approveUpdate = defineUpdate<AdmissionState, [{ workflowId: string; who: string }]>('approve');
export const admissionStateQuery = defineQuery<AdmissionState>('admissionState');

/**
 * To a waiting run (its experiment workflow): something changed for it (its targets are reserved for it,
 * or it is refused for good); it asks again at once.
 */
export const admissionChangedSignal = defineSignal('admissionChanged');
