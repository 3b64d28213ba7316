// Client library for admission control: the policy, approvals and the safety lever, over the one
// admission workflow of a task queue (update-with-start, so it exists whenever someone needs it).
import { WorkflowNotFoundError } from '@temporalio/client';
import { initialState, type AdmissionState, type Hold, type Lever, type Policy } from '../experiments/admission.ts';
import {
  admissionStateQuery,
  approveUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  setPolicyUpdate,
} from '../definitions/admission.ts';
import { admissionStart, admissionWorkflowId } from '../activities/control.ts';
import { DEFAULT_TASK_QUEUE } from '../config.ts';
import { revertAll, type FaultlineClient } from './client.ts';

export async function applyPolicy(fc: FaultlineClient, policy: Policy, taskQueue = DEFAULT_TASK_QUEUE) {
  return fc.client.workflow.executeUpdateWithStart(setPolicyUpdate, {
    args: [policy],
    startWorkflowOperation: admissionStart(taskQueue),
  });
}

/** Whether the task queue's admission workflow runs (describe: no worker needed). */
export async function admissionRunning(fc: FaultlineClient, taskQueue = DEFAULT_TASK_QUEUE): Promise<boolean> {
  try {
    return (await fc.client.workflow.getHandle(admissionWorkflowId(taskQueue)).describe()).status.name === 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** The admission state (policy, holds, lever, approvals); the initial state when nothing ever asked. */
export async function admissionState(fc: FaultlineClient, taskQueue = DEFAULT_TASK_QUEUE): Promise<AdmissionState> {
  try {
    return await fc.client.workflow.getHandle(admissionWorkflowId(taskQueue)).query(admissionStateQuery);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return initialState();
    throw e;
  }
}

export async function approveRun(fc: FaultlineClient, workflowId: string, who: string, taskQueue = DEFAULT_TASK_QUEUE) {
  return fc.client.workflow.executeUpdateWithStart(approveUpdate, {
    args: [{ workflowId, who }],
    startWorkflowOperation: admissionStart(taskQueue),
  });
}

export interface LeverResult {
  /** The runs that held targets when the lever was pulled. */
  holders: Hold[];
  reverted: Awaited<ReturnType<typeof revertAll>>;
}

/**
 * The safety lever: first admission refuses every new run, then every running experiment (the holders,
 * plus whatever visibility lists as running) is aborted; returns once each has reverted.
 */
export async function pullLever(
  fc: FaultlineClient,
  reason: string,
  who?: string,
  taskQueue = DEFAULT_TASK_QUEUE,
  revertTimeoutMs?: number,
): Promise<LeverResult> {
  const holders = await setLever(fc, reason, who, taskQueue);
  return { holders, reverted: await revertHolders(fc, holders, reason, who, revertTimeoutMs) };
}

/** The lever's first half: admission refuses every new run from now on; returns the runs holding targets. */
export function setLever(fc: FaultlineClient, reason: string, who?: string, taskQueue = DEFAULT_TASK_QUEUE) {
  return fc.client.workflow.executeUpdateWithStart(pullLeverUpdate, {
    args: [{ reason, who }],
    startWorkflowOperation: admissionStart(taskQueue),
  });
}

/** The lever's second half: abort every holder and every running experiment; each bounded by timeoutMs. */
export function revertHolders(fc: FaultlineClient, holders: Hold[], reason: string, who?: string, timeoutMs?: number) {
  return revertAll(fc, `safety lever: ${reason}`, who, [...new Set(holders.map((h) => h.workflowId))], timeoutMs);
}

export async function releaseLever(
  fc: FaultlineClient,
  who?: string,
  taskQueue = DEFAULT_TASK_QUEUE,
): Promise<Lever | undefined> {
  return fc.client.workflow.executeUpdateWithStart(releaseLeverUpdate, {
    args: [{ who }],
    startWorkflowOperation: admissionStart(taskQueue),
  });
}
