// Control activities: the few things a workflow asks of Temporal itself (admission with
// update-with-start, liveness of holders, pausing a schedule). They use a Client on the worker's own
// connection; nothing here touches Docker or the proxy.
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { INVALID_ADMIT, type AdmitRequest, type Decision } from '../experiments/admission.ts';
import type { HostEntry } from '../experiments/hosts.ts';
import {
  ADMISSION_WORKFLOW_TYPE,
  admissionDecisionSignal,
  admissionWorkflowId,
  admitUpdate,
  releaseSignal,
  type AdmissionInput,
  type AskAnswer,
} from '../definitions/admission.ts';
import { listHosts } from './hosts.ts';

export { admissionWorkflowId };

export function admissionStart(
  taskQueue: string,
): WithStartWorkflowOperation<(input: AdmissionInput) => Promise<void>> {
  return new WithStartWorkflowOperation<(input: AdmissionInput) => Promise<void>>(ADMISSION_WORKFLOW_TYPE, {
    workflowId: admissionWorkflowId(taskQueue),
    taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{}],
    staticSummary: `Faultline admission control for task queue ${taskQueue}: holds, policy, safety lever`,
  });
}

export function createControlActivities(client: Client) {
  return {
    /** Asks the admission workflow of this task queue, starting it when it does not run yet. */
    async admitRun(req: AdmitRequest): Promise<Decision> {
      const taskQueue = Context.current().info.taskQueue;
      let d: Decision;
      try {
        d = await client.workflow.executeUpdateWithStart(admitUpdate, {
          args: [req],
          startWorkflowOperation: admissionStart(taskQueue),
        });
      } catch (e) {
        // A request admission refuses to read is final; anything else (the server or the admission
        // workflow busy, restarting, continuing as new, its task failing) may pass: the retry asks again.
        if (
          e instanceof WorkflowUpdateFailedError &&
          (e.cause as { type?: string } | undefined)?.type === INVALID_ADMIT
        )
          throw ApplicationFailure.nonRetryable(e.cause?.message ?? e.message, INVALID_ADMIT);
        throw e;
      }
      // Admission is handing over to a new run: not an answer; the retry asks the new run.
      if (!d.admitted && d.transient) throw ApplicationFailure.retryable(d.reason, 'AdmissionBusy');
      return d;
    },

    /**
     * The admission workflow's answers to the runs that asked by signal, a batch per decision pass: one
     * activity instead of a signal command per run (each of those adds two events and a workflow task to
     * the admission workflow). A run that is gone is skipped; a repeated answer is ignored by its run.
     */
    async answerAsks(answers: AskAnswer[]): Promise<void> {
      await Promise.all(
        answers.map(async (a) => {
          try {
            await client.workflow
              .getHandle(a.workflowId, a.runId)
              .signal(admissionDecisionSignal, { ask: a.ask, decision: a.decision });
          } catch (e) {
            if (!(e instanceof WorkflowNotFoundError)) throw e;
          }
        }),
      );
    },

    /** Leaves admission; a missing admission workflow holds nothing, so that is success too. */
    async releaseRun(workflowId: string, runId?: string): Promise<void> {
      const taskQueue = Context.current().info.taskQueue;
      try {
        await client.workflow.getHandle(admissionWorkflowId(taskQueue)).signal(releaseSignal, { workflowId, runId });
      } catch (e) {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      }
    },

    /**
     * The runs among these whose workflow is no longer open (completed, failed, terminated, timed out,
     * gone). The latest run of the workflow ID counts: a run that continued as new is still its holder.
     */
    async closedRuns(runs: { workflowId: string; runId: string }[]): Promise<{ workflowId: string; runId: string }[]> {
      const closed: { workflowId: string; runId: string }[] = [];
      await Promise.all(
        runs.map(async (r) => {
          try {
            const d = await client.workflow.getHandle(r.workflowId).describe();
            if (d.status.name !== 'RUNNING') closed.push(r);
          } catch (e) {
            if (e instanceof WorkflowNotFoundError) closed.push(r);
            else throw e;
          }
        }),
      );
      return closed;
    },

    /** The registered hosts of this worker's fleet (its task queue is the fleet's), with their agents now. */
    async listHosts(): Promise<HostEntry[]> {
      return listHosts(client, Context.current().info.taskQueue);
    },

    /** A scheduled run that ended aborted or refuted pauses its schedule, with the reason as the note. */
    async pauseSchedule(scheduleId: string, note: string): Promise<void> {
      await client.schedule.getHandle(scheduleId).pause(note.slice(0, 1000));
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
