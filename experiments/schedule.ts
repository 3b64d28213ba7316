// kind: Schedule: an experiment (or a game day) on a calendar, an interval or a cron expression, in a
// named time zone, compiled to a real Temporal Schedule. Validated with positions like experiments; the
// file it runs is read and validated too, so a schedule never starts something invalid.
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { durationSchema } from '../faults/common-schema.ts';
import { timeZoneSchema } from './policy.ts';
import { VERDICTS } from './journal.ts';
import {
  compileDocumentText,
  loadReferenced,
  readDocumentFile,
  resolveRelative,
  type DocumentKind,
  type Parsed,
  type Rule,
  type Violation,
} from './document.ts';
import { loadExperimentRef, type ExperimentRef } from './parse.ts';
import { parseGameDay } from './gameday.ts';
import type { GameDayInput } from './gameday-types.ts';
import type { Problem } from '../errors.ts';

const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'];

/** undefined when valid; otherwise which field is wrong and why. Five fields, as Temporal reads them. */
export function cronProblem(expr: string, timeZone = 'UTC'): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5)
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has ${fields.length}`;
  try {
    CronExpressionParser.parse(expr, { tz: timeZone });
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    const bad = fields.findIndex((f, i) => {
      const probe = fields.map((g, j) => (j === i ? f : '*')).join(' ');
      try {
        CronExpressionParser.parse(probe);
        return false;
      } catch {
        return true;
      }
    });
    return bad >= 0 ? `${CRON_FIELDS[bad]} field "${fields[bad]}": ${msg}` : msg;
  }
}

const weekday = z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
const numbers = (min: number, max: number) =>
  z.union([z.number().int().min(min).max(max), z.array(z.number().int().min(min).max(max)).min(1)]);

export const scheduleSchema = z
  .strictObject({
    apiVersion: z.literal('faultline/v1').default('faultline/v1'),
    kind: z.literal('Schedule'),
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and dashes (a schedule ID)' }),
    description: z.string().optional(),
    experiment: z.string().min(1).optional().describe('Experiment file, relative to this file.'),
    gameDay: z.string().min(1).optional().describe('Game-day file, relative to this file.'),
    every: durationSchema.optional().describe('An interval, e.g. 30s or 24h.'),
    cron: z.string().min(1).optional().describe('Five-field cron expression, read in timeZone.'),
    calendar: z
      .array(
        z.strictObject({
          dayOfWeek: z.union([weekday, z.array(weekday).min(1)]).optional(),
          hour: numbers(0, 23).optional(),
          minute: numbers(0, 59).optional(),
        }),
      )
      .min(1)
      .optional(),
    timeZone: timeZoneSchema.default('UTC'),
    jitter: durationSchema.optional().describe('Each start is delayed by a random amount up to this.'),
    startAt: z.iso.datetime({ offset: true }).optional(),
    endAt: z.iso.datetime({ offset: true }).optional(),
    overlap: z.enum(['skip', 'buffer-one']).default('skip'),
    catchupWindow: durationSchema.default('1m').describe('Missed starts older than this are dropped.'),
    pauseOn: z
      .array(z.enum(VERDICTS))
      .default(['aborted', 'refuted'])
      .describe(
        'Verdicts that pause the schedule, with the reason as its note; inconclusive pauses it wherever refuted does.',
      ),
    paused: z.boolean().default(false),
  })
  .describe('A Faultline schedule, compiled to a Temporal Schedule.');

export type ScheduleFile = z.infer<typeof scheduleSchema>;

const scheduleRules: Rule<ScheduleFile>[] = [
  {
    name: 'one-thing-to-run',
    check: (s) =>
      !!s.experiment === !!s.gameDay
        ? [{ path: [], message: 'give exactly one of experiment (a file) or gameDay (a file)' }]
        : [],
  },
  {
    name: 'a-time-spec',
    check: (s) =>
      !s.every && !s.cron && !s.calendar ? [{ path: [], message: 'give at least one of every, cron or calendar' }] : [],
  },
  {
    name: 'cron-valid',
    check: (s) => {
      const p = s.cron !== undefined ? cronProblem(s.cron, s.timeZone) : undefined;
      return p ? [{ path: ['cron'], message: `invalid cron "${s.cron}": ${p}` }] : [];
    },
  },
  {
    name: 'ends-after-start',
    check: (s) =>
      s.startAt && s.endAt && Date.parse(s.endAt) <= Date.parse(s.startAt)
        ? [{ path: ['endAt'], message: `${s.endAt} is not after startAt ${s.startAt}` }]
        : [],
  },
];

export const scheduleKind: DocumentKind<ScheduleFile> = {
  noun: 'schedule',
  notAMapping: 'a schedule must be a mapping with kind: Schedule',
  schema: scheduleSchema,
  rules: scheduleRules,
};

export interface CompiledSchedule {
  schedule: ScheduleFile;
  file: string;
  experiment?: ExperimentRef;
  /** When the schedule runs a game day: its file, and the game day compiled from it. */
  gameDayFile?: string;
  gameDay?: GameDayInput;
}

/** The schedule, with the experiment it runs read and validated, and the game day it runs found. */
export async function parseSchedule(text: string, file = '<input>'): Promise<Parsed<CompiledSchedule>> {
  return compileDocumentText(text, file, scheduleKind, async (s) => {
    const violations: Violation[] = [];
    const problems: Problem[] = [];
    let experiment: ExperimentRef | undefined;
    if (s.experiment) {
      const r = await loadExperimentRef(file, s.experiment);
      if (r.ok) experiment = r.value;
      else {
        violations.push({ path: ['experiment'], message: r.message });
        problems.push(...r.problems);
      }
    }
    let gameDay: GameDayInput | undefined;
    if (s.gameDay) {
      // Compiled now, so a bad game day is refused (exit 2, positioned in its own file) before anything connects.
      const r = await loadReferenced(file, s.gameDay, 'game day', parseGameDay);
      if (r.ok) gameDay = r.value;
      else {
        violations.push({ path: ['gameDay'], message: r.message });
        problems.push(...r.problems);
      }
    }
    const gameDayFile = s.gameDay ? resolveRelative(file, s.gameDay) : undefined;
    return { value: { schedule: s, file, experiment, gameDayFile, gameDay }, violations, problems };
  });
}

export async function parseScheduleFile(file: string): Promise<Parsed<CompiledSchedule>> {
  const t = await readDocumentFile(file, 'schedule');
  return t.ok ? parseSchedule(t.value, file) : t;
}
