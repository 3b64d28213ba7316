// faultline schedule create FILE | list | describe ID | pause ID --reason | unpause ID --reason |
// trigger ID | backfill ID --from T --to T | delete ID: schedules as real Temporal Schedules. Nothing here
// waits for a worker, but what a schedule starts does: create, unpause, trigger and backfill warn at once
// (one line on stderr, still exit 0) when no worker polls the schedule's task queue.
import { InvalidInput } from '../../errors.ts';
import { parseScheduleFile, type CompiledSchedule } from '../../experiments/schedule.ts';
import type { GameDayInput } from '../../experiments/gameday-types.ts';
import { GAME_DAY_TYPE } from '../../definitions/gameday.ts';
import { connectClient, type FaultlineClient } from '../client.ts';
import { warnIfNoWorker } from '../workers.ts';
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import {
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../schedules.ts';
import type { Io } from '../io.ts';

export interface ScheduleOptions {
  json?: boolean;
  reason?: string;
  taskQueue?: string;
  from?: string;
  to?: string;
}

const ACTIONS = ['create', 'list', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'];

export async function scheduleCommand(action: string, arg: string | undefined, o: ScheduleOptions, io: Io) {
  if (!ACTIONS.includes(action)) throw new InvalidInput(`schedule ${action}: one of ${ACTIONS.join(', ')}`);
  if (action !== 'list' && !arg)
    throw new InvalidInput(`schedule ${action} needs ${action === 'create' ? 'FILE' : 'ID'}`);
  const id = arg as string;
  if ((action === 'pause' || action === 'unpause') && !o.reason?.trim())
    throw new InvalidInput(`schedule ${action} needs --reason TEXT (it becomes the schedule's note)`);
  let compiled;
  if (action === 'create') {
    // Validated before connecting: bad input exits 2 with nothing created.
    const r = await parseScheduleFile(id);
    if (!r.ok) throw new InvalidInput(`${id} is not a valid schedule`, r.problems);
    compiled = r.value;
  }
  let from: Date | undefined;
  let to: Date | undefined;
  if (action === 'backfill') {
    from = new Date(o.from ?? '');
    to = new Date(o.to ?? '');
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from)
      throw new InvalidInput('schedule backfill needs --from and --to, ISO 8601 times, --to after --from');
  }
  const fc = await connectClient();
  try {
    const code = await scheduleAction(fc, action, id, compiled, o, io, from, to);
    // What the schedule starts needs a worker on its task queue: said at once, the command still succeeds.
    const starts = {
      create: 'its runs',
      unpause: 'its runs',
      trigger: 'the triggered run',
      backfill: 'the backfilled runs',
    };
    const what = starts[action as keyof typeof starts];
    const tq = !what
      ? undefined
      : action === 'create'
        ? (o.taskQueue ?? DEFAULT_TASK_QUEUE)
        : await scheduleTaskQueue(fc, id);
    if (what && tq) await warnIfNoWorker(fc, tq, `${what} will wait`, io);
    return code;
  } finally {
    await fc.close();
  }
}

async function scheduleAction(
  fc: FaultlineClient,
  action: string,
  id: string,
  compiled: CompiledSchedule | undefined,
  o: ScheduleOptions,
  io: Io,
  from: Date | undefined,
  to: Date | undefined,
): Promise<number> {
  const done = (result: unknown, text: string) => {
    io.out(o.json ? JSON.stringify(result, null, 2) : text);
    return 0;
  };
  switch (action) {
    case 'create': {
      if (compiled?.gameDay) return await createGameDaySchedule(fc, compiled, compiled.gameDay, o, io);
      const sid = await createSchedule(fc, compiled!, { taskQueue: o.taskQueue });
      return done({ scheduleId: sid }, `created schedule ${sid}`);
    }
    case 'list': {
      const rows = await listSchedules(fc);
      return done(
        rows,
        rows.length
          ? rows
              .map(
                (r) =>
                  `${r.id.padEnd(32)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.next ?? '-'}  ${r.runs ?? ''}${r.paused && r.note ? `  (${r.note})` : ''}`,
              )
              .join('\n')
          : 'no schedules',
      );
    }
    case 'describe': {
      const d = await describeSchedule(fc, id);
      return done(
        d,
        [
          `${d.id}: ${d.paused ? 'PAUSED' : 'active'}${d.note ? ` (${d.note})` : ''} · overlap ${d.overlap} · catch-up ${d.catchupWindowMs / 1000}s · ${d.actionsTaken} runs so far`,
          `recent:   ${d.recent.map((r) => `${r.scheduledAt} ${r.workflowId}`).join('\n          ') || '-'}`,
          `upcoming: ${d.upcoming.join(', ') || '-'}`,
        ].join('\n'),
      );
    }
    case 'pause':
      await pauseSchedule(fc, id, o.reason as string);
      return done({ scheduleId: id, paused: true }, `paused ${id}`);
    case 'unpause':
      await unpauseSchedule(fc, id, o.reason as string);
      return done({ scheduleId: id, paused: false }, `unpaused ${id}`);
    case 'trigger':
      await triggerSchedule(fc, id);
      return done({ scheduleId: id, triggered: true }, `triggered ${id}`);
    case 'backfill':
      await backfillSchedule(fc, id, from as Date, to as Date);
      return done({ scheduleId: id, backfilled: { from, to } }, `backfilled ${id} from ${o.from} to ${o.to}`);
    default:
      await deleteSchedule(fc, id);
      return done({ scheduleId: id, deleted: true }, `deleted ${id}`);
  }
}

/** A schedule that runs a game day: each action starts the game-day workflow as its child. */
async function createGameDaySchedule(
  fc: FaultlineClient,
  compiled: CompiledSchedule,
  gameDay: GameDayInput,
  o: ScheduleOptions,
  io: Io,
): Promise<number> {
  // Compiled with the schedule (validated before connecting); the search attributes are the server's.
  const g = { ...gameDay, searchAttributes: fc.searchAttributes };
  const sid = await createSchedule(fc, compiled, {
    taskQueue: o.taskQueue,
    target: { childType: GAME_DAY_TYPE, childArgs: [g], title: `Game day: ${g.title}` },
  });
  io.out(o.json ? JSON.stringify({ scheduleId: sid }) : `created schedule ${sid}`);
  return 0;
}

/** The task queue a schedule's action starts its workflow on; undefined when the schedule is not found. */
async function scheduleTaskQueue(fc: FaultlineClient, id: string): Promise<string | undefined> {
  const d = await fc.client.schedule
    .getHandle(id)
    .describe()
    .catch(() => undefined); // not found: the action itself says so, naming the ID
  return d?.action.type === 'startWorkflow' ? d.action.taskQueue : undefined;
}
