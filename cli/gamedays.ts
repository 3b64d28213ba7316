// Client library for game days: start one (validated at the boundary), read its journal, approve its
// gate, add notes, skip steps, abort it (returns once every running child has reverted).
import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidInput } from '../errors.ts';
import type { GameDayInput, GameDayJournal } from '../experiments/gameday-types.ts';
import {
  GAME_DAY_TYPE,
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from '../definitions/gameday.ts';
import { GAME_DAY_KEY } from '../workflows/search-attributes.ts';
import { endedApprovalProblem } from '../workflows/gameday-state.ts';
import { DEFAULT_TASK_QUEUE, workflowUrl } from '../config.ts';
import { slug, type FaultlineClient, type Started } from './client.ts';

export async function startGameDay(
  fc: FaultlineClient,
  input: GameDayInput,
  opts: { taskQueue?: string; workflowId?: string } = {},
): Promise<Started> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const workflowId =
    opts.workflowId ?? `gameday-${slug(input.title)}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  const handle = await fc.client.workflow.start(GAME_DAY_TYPE, {
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId,
    args: [{ ...input, searchAttributes: fc.searchAttributes }],
    staticSummary: `Game day: ${input.title} (owner ${input.owner})`,
    staticDetails: `${input.steps.length} steps · approvers ${input.approvers.join(', ') || '-'} · observers ${input.observers.join(', ') || '-'}${input.file ? ` · ${input.file}` : ''}`,
    ...(fc.searchAttributes ? { typedSearchAttributes: [{ key: GAME_DAY_KEY, value: workflowId }] } : {}),
  });
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    url: workflowUrl(fc.target, workflowId, handle.firstExecutionRunId),
  };
}

async function onGameDay<T>(fc: FaultlineClient, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InvalidInput(`no game day with ID ${id}`);
    // An update's validator refusing (not an approver, no such step...) is the caller's input.
    const cause = (e as { cause?: { message?: string } }).cause;
    if ((e as Error).name === 'WorkflowUpdateFailedError' && cause?.message) throw new InvalidInput(cause.message);
    throw e;
  }
}

export interface GameDayStatus {
  workflowId: string;
  status: string;
  journal?: GameDayJournal;
  url?: string;
  /** The task queue its worker polls. */
  taskQueue?: string;
}

/** Its status and journal; `query: false` asks no worker (a running game day then has no journal here). */
export function gameDayStatus(fc: FaultlineClient, id: string, o: { query?: boolean } = {}): Promise<GameDayStatus> {
  return onGameDay(fc, id, async () => {
    const h = fc.client.workflow.getHandle(id);
    const d = await h.describe();
    const status = d.status.name;
    const journal =
      status === 'COMPLETED'
        ? ((await h.result()) as GameDayJournal)
        : o.query === false
          ? undefined
          : // a game day with no worker yet, or one that closed meanwhile: listed without its live journal
            await h.query(gameDayQuery).catch(() => undefined);
    return { workflowId: id, status, journal, url: workflowUrl(fc.target, id, d.runId), taskQueue: d.taskQueue };
  });
}

export const waitForGameDay = (fc: FaultlineClient, id: string) =>
  onGameDay(fc, id, async () => (await fc.client.workflow.getHandle(id).result()) as GameDayJournal);

export interface Approved {
  journal: GameDayJournal;
  /** The step approved: the one named, or the one waiting when none was named. */
  step: string;
  /** No step was named: the one waiting was approved. */
  defaulted: boolean;
}

/**
 * Approves the gate (or answers the `ask`) `step`; the workflow refuses it, naming what waits, unless that
 * step is waiting. With no step: the step waiting now, read first (refused here when none waits), then sent
 * by name, so an approval never lands on a step other than the one read.
 */
export const approveGameDay = (fc: FaultlineClient, id: string, who: string, step?: string): Promise<Approved> =>
  onGameDay(fc, id, async () => {
    const h = fc.client.workflow.getHandle(id);
    let name = step;
    if (name === undefined) {
      const s = await gameDayStatus(fc, id);
      if (s.status !== 'RUNNING') throw new InvalidInput(`game day ${id} is ${s.status.toLowerCase()}: nothing waits`);
      name = s.journal?.waitingAt;
      if (!name) {
        const steps = (s.journal?.steps ?? []).map((x) => `${x.name} ${x.status}`).join(', ');
        throw new InvalidInput(`game day ${id}: no step is waiting for an approval (${steps})`);
      }
    }
    const named = name;
    const journal = await h.executeUpdate(approveGateUpdate, { args: [{ who, step: named }] }).catch(async (e) => {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      // It ended before the approval reached it (not "no game day"): refused as a running one would.
      const s = await gameDayStatus(fc, id);
      const why = s.journal ? endedApprovalProblem(s.journal, named) : 'nothing waits for an approval';
      throw new InvalidInput(`game day ${id} is ${s.status.toLowerCase()}: ${why}`);
    });
    return { journal, step: named, defaulted: step === undefined };
  });

export const noteGameDay = (fc: FaultlineClient, id: string, who: string, text: string) =>
  onGameDay(fc, id, () => fc.client.workflow.getHandle(id).executeUpdate(addNoteUpdate, { args: [{ who, text }] }));

export const skipGameDayStep = (fc: FaultlineClient, id: string, step: string, who: string) =>
  onGameDay(fc, id, () => fc.client.workflow.getHandle(id).executeUpdate(skipStepUpdate, { args: [{ step, who }] }));

export const abortGameDay = (fc: FaultlineClient, id: string, reason: string, who: string) =>
  onGameDay(fc, id, () =>
    fc.client.workflow.getHandle(id).executeUpdate(abortGameDayUpdate, { args: [{ reason, who }] }),
  );
