// Messages of the admission workflow, defined once and shared by the workflow, activities, client and tests.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdmissionState, AdmitRequest, Decision, Hold, Lever, Policy } from '../experiments/admission.ts';

// The workflow type, its ID per task queue and its input live with the activities that start it
// (activities/control.ts: ADMISSION_WORKFLOW_TYPE, admissionWorkflowId, AdmissionInput).
export type { AdmissionInput } from '../activities/control.ts';

export const admitUpdate = defineUpdate<Decision, [AdmitRequest]>('admit');
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
