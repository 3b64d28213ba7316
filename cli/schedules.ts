// Client library for schedules: a compiled `kind: Schedule` file becomes a real Temporal Schedule
// (listed, paused, triggered and edited in the Temporal UI too); these functions wrap client.schedule.
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type ScheduleDescription,
} from '@temporalio/client';
import type { CompiledSchedule, ScheduleFile } from '../experiments/schedule.ts';
import { InvalidInput } from '../errors.ts';
import { SCHEDULED_RUN_TYPE, experimentChild, type ScheduledRunInput } from '../definitions/scheduled.ts';
import { DEFAULT_TASK_QUEUE } from '../config.ts';
import type { FaultlineClient } from './client.ts';

const DAYS = {
  sun: 'SUNDAY',
  mon: 'MONDAY',
  tue: 'TUESDAY',
  wed: 'WEDNESDAY',
  thu: 'THURSDAY',
  fri: 'FRIDAY',
  sat: 'SATURDAY',
} as const;

function calendars(s: ScheduleFile): CalendarSpec[] | undefined {
  return s.calendar?.map((c) => ({
    dayOfWeek:
      c.dayOfWeek === undefined ? '*' : (Array.isArray(c.dayOfWeek) ? c.dayOfWeek : [c.dayOfWeek]).map((d) => DAYS[d]),
    hour: c.hour ?? 0,
    minute: c.minute ?? 0,
  }));
}

export interface ScheduleRunTarget {
  childType: string;
  childArgs: unknown[];
  title: string;
}

/** Creates the Temporal Schedule; `target` is what each action runs (an experiment or a game day). */
export async function createSchedule(
  fc: FaultlineClient,
  compiled: CompiledSchedule,
  opts: { taskQueue?: string; target?: ScheduleRunTarget } = {},
): Promise<string> {
  const s = compiled.schedule;
  const target =
    opts.target ??
    (compiled.experiment
      ? experimentChild({
          experiment: compiled.experiment.experiment,
          file: compiled.experiment.file,
          submittedBy: `schedule ${s.id}`,
          searchAttributes: fc.searchAttributes,
        })
      : undefined);
  if (!target) throw new InvalidInput(`${compiled.file}: nothing to run`);
  const input: ScheduledRunInput = { scheduleId: s.id, pauseOn: s.pauseOn, ...target };
  try {
    await fc.client.schedule.create({
      scheduleId: s.id,
      spec: {
        intervals: s.every ? [{ every: s.every }] : undefined,
        cronExpressions: s.cron ? [s.cron] : undefined,
        calendars: calendars(s),
        timezone: s.timeZone,
        jitter: s.jitter,
        startAt: s.startAt ? new Date(s.startAt) : undefined,
        endAt: s.endAt ? new Date(s.endAt) : undefined,
      },
      action: {
        type: 'startWorkflow',
        workflowType: SCHEDULED_RUN_TYPE,
        workflowId: s.id,
        taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
        args: [input],
        staticSummary: `${target.title} (schedule ${s.id})`,
      },
      policies: {
        overlap: s.overlap === 'buffer-one' ? ScheduleOverlapPolicy.BUFFER_ONE : ScheduleOverlapPolicy.SKIP,
        catchupWindow: s.catchupWindow, // minutes by default, not Temporal's year
      },
      memo: { faultline: true, file: compiled.file, runs: target.title },
      state: { paused: s.paused, note: s.description ?? `from ${compiled.file}` },
    });
  } catch (e) {
    if ((e as Error).name === 'ScheduleAlreadyRunning')
      throw new InvalidInput(`a schedule with ID ${s.id} exists already (faultline schedule delete ${s.id} first)`);
    throw e;
  }
  return s.id;
}

export interface ScheduleRow {
  id: string;
  paused: boolean;
  note?: string;
  runs?: string;
  file?: string;
  next?: string;
  recent: number;
}

/**
 * Faultline's schedules (the ones whose action is a scheduled run). The list comes from visibility, which
 * lags; each schedule's state is then read with describe, which does not.
 */
export async function listSchedules(fc: FaultlineClient): Promise<ScheduleRow[]> {
  const ids: string[] = [];
  for await (const s of fc.client.schedule.list())
    if (s.action?.workflowType === SCHEDULED_RUN_TYPE) ids.push(s.scheduleId);
  const rows = await Promise.all(
    ids.map(async (id): Promise<ScheduleRow | undefined> => {
      try {
        const d = await fc.client.schedule.getHandle(id).describe();
        return {
          id,
          paused: d.state.paused,
          note: d.state.note,
          runs: d.memo?.runs as string | undefined,
          file: d.memo?.file as string | undefined,
          next: d.info.nextActionTimes[0]?.toISOString(),
          recent: d.info.recentActions.length,
        };
      } catch (e) {
        if (e instanceof ScheduleNotFoundError) return undefined; // deleted since it was listed
        throw e;
      }
    }),
  );
  return rows.filter((r): r is ScheduleRow => !!r).sort((a, b) => a.id.localeCompare(b.id));
}

async function withHandle<T>(
  fc: FaultlineClient,
  id: string,
  fn: (h: ReturnType<FaultlineClient['client']['schedule']['getHandle']>) => Promise<T>,
): Promise<T> {
  try {
    return await fn(fc.client.schedule.getHandle(id));
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new InvalidInput(`no schedule with ID ${id}`);
    throw e;
  }
}

export interface ScheduleDetails {
  id: string;
  paused: boolean;
  note?: string;
  spec: ScheduleDescription['spec'];
  overlap: string;
  catchupWindowMs: number;
  actionsTaken: number;
  recent: { scheduledAt: string; workflowId: string }[];
  upcoming: string[];
  running: string[];
}

export function describeSchedule(fc: FaultlineClient, id: string): Promise<ScheduleDetails> {
  return withHandle(fc, id, async (h) => {
    const d = await h.describe();
    return {
      id,
      paused: d.state.paused,
      note: d.state.note,
      spec: d.spec,
      overlap: d.policies.overlap ?? 'SKIP',
      catchupWindowMs: d.policies.catchupWindow,
      actionsTaken: d.info.numActionsTaken,
      recent: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
      })),
      upcoming: d.info.nextActionTimes.map((t) => t.toISOString()),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
    };
  });
}

export const pauseSchedule = (fc: FaultlineClient, id: string, reason: string) =>
  withHandle(fc, id, (h) => h.pause(reason));
export const unpauseSchedule = (fc: FaultlineClient, id: string, reason: string) =>
  withHandle(fc, id, (h) => h.unpause(reason));
export const triggerSchedule = (fc: FaultlineClient, id: string) => withHandle(fc, id, (h) => h.trigger());
export const deleteSchedule = (fc: FaultlineClient, id: string) => withHandle(fc, id, (h) => h.delete());
export const backfillSchedule = (fc: FaultlineClient, id: string, start: Date, end: Date) =>
  withHandle(fc, id, (h) => h.backfill({ start, end }));
