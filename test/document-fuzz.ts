// Generated policy, schedule and game-day files for the property test (test/unit/document-property.test.ts),
// in the style of experiment-fuzz.ts: plausible files of each kind (they validate), invalid ones (a plausible
// one with one mutation that must be refused), including game days whose inline experiment is invalid.
import path from 'node:path';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../config.ts';
import { VERDICTS } from '../experiments/journal.ts';
import { badDuration, invalidExperiment, set, unknownKey, weird, type Mutation } from './experiment-fuzz.ts';

const EXAMPLES = path.join(PROJECT_ROOT, 'experiments', 'examples');
/** Experiment and game-day files that exist and validate (absolute: a generated file may live anywhere). */
export const EXPERIMENT_FILE = path.join(EXAMPLES, 'kill-one-backend.yaml');
const OTHER_EXPERIMENT_FILE = path.join(EXAMPLES, 'latency-between-services.yaml');
const GAME_DAY_FILE = path.join(EXAMPLES, 'gameday.yaml');
const INVALID_GAME_DAY_FILE = path.join(
  PROJECT_ROOT,
  'test',
  'fixtures',
  'invalid-kinds',
  'gameday-inline-experiment-invalid.yaml',
);

/** An inline experiment that validates on its own. */
export const INLINE_EXPERIMENT = {
  title: 'inline',
  hypothesis: {
    statement: 's',
    probes: [{ name: 'p', type: 'http', url: 'http://127.0.0.1:1/', requests: 2, timeout: '1s' }],
  },
  targets: { names: ['api-1'] },
  method: [{ kind: 'container.pause', duration: '1s' }],
};

const timeZone = fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata');
const mutations = (...ms: (Mutation | fc.Arbitrary<Mutation>)[]): fc.Arbitrary<Mutation> =>
  fc.oneof(...ms.map((m) => (typeof m === 'function' ? fc.constant(m) : m)));
const unknownKeys = (at: (string | number)[]) => fc.tuple(unknownKey, weird).map(([k, w]) => set([...at, k], w));

// --- kind: Policy -------------------------------------------------------------------------------------

const blackout = fc.record(
  {
    name: fc.constantFrom('nights', 'weekend', 'freeze', 'release-week'),
    timeZone,
    weekdays: fc.subarray(['sat', 'sun', 'mon', 'fri'], { minLength: 1 }),
    hours: fc.constantFrom({ from: '22:00', to: '06:00' }, { from: '09:00', to: '17:00' }),
    dates: fc.constant(['2026-12-24', '2026-12-31']),
  },
  { requiredKeys: ['name', 'weekdays'] },
);

export const plausiblePolicy: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    kind: fc.constant('Policy'),
    maxConcurrent: fc.integer({ min: 2, max: 10 }),
    exclusiveTargets: fc.boolean(),
    environments: fc.dictionary(
      fc.constantFrom('prod', 'staging', 'dev'),
      fc.record({ maxConcurrent: fc.integer({ min: 1, max: 2 }), requireApproval: fc.boolean() }, { requiredKeys: [] }),
    ),
    blackouts: fc.uniqueArray(blackout, { selector: (b) => b.name, maxLength: 3 }),
  },
  { requiredKeys: ['kind', 'maxConcurrent'] },
);

const policyMutation = mutations(
  set(['kind'], undefined),
  set(['kind'], 'Policies'),
  set(['maxConcurrent'], 0),
  set(['maxConcurrent'], 'many'),
  set(['environments', 'prod', 'maxConcurrent'], 99),
  set(['environments', 'prod', 'approval'], true),
  set(['blackouts', 0], { name: 'empty' }),
  set(['blackouts', 0, 'timeZone'], 'Mars/Olympus'),
  set(['blackouts', 0, 'hours'], { from: '10:00', to: '10:00' }),
  set(['blackouts', 0, 'hours', 'from'], '25:00'),
  set(['blackouts', 0, 'dates'], ['2026-13-01']),
  set(['blackouts', 0, 'until'], 'tomorrow'),
  set(
    ['blackouts'],
    [
      { name: 'twice', weekdays: ['sat'] },
      { name: 'twice', weekdays: ['sun'] },
    ],
  ),
  weird.filter((w) => !Number.isInteger(w) || (w as number) < 1).map((w) => set(['maxConcurrent'], w)),
  unknownKeys([]),
  unknownKeys(['blackouts', 0]),
);

export const invalidPolicy = fc.tuple(plausiblePolicy, policyMutation).map(([p, m]) => m(p));

// --- kind: Schedule -----------------------------------------------------------------------------------

export const plausibleSchedule: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      kind: fc.constant('Schedule'),
      id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
      experiment: fc.constant(EXPERIMENT_FILE),
      every: fc.constantFrom('30s', '1h', '24h'),
      cron: fc.constantFrom('*/5 * * * *', '0 3 * * mon-fri', '30 2 1 * *'),
      calendar: fc.constant([{ dayOfWeek: ['mon', 'thu'], hour: 3, minute: [0, 30] }]),
      timeZone,
      jitter: fc.constantFrom('0s', '10s', '5m'),
      overlap: fc.constantFrom('skip', 'buffer-one'),
      catchupWindow: fc.constantFrom('1m', '10m'),
      pauseOn: fc.subarray([...VERDICTS]),
      paused: fc.boolean(),
    },
    { requiredKeys: ['kind', 'id', 'experiment', 'every'] },
  )
  .chain((s) =>
    // a schedule runs an experiment or a game day
    fc.constantFrom(s, set(['gameDay'], GAME_DAY_FILE)(set(['experiment'], undefined)(s))),
  );

// 0ms and 25h are fine for a schedule's durations (up to the longest Node timer), not for a fault's.
const scheduleDuration = badDuration.filter((d) => d !== '0ms' && d !== '25h');
const scheduleMutation = mutations(
  set(['kind'], 'Schedules'),
  set(['id'], 'Nightly Run'),
  set(['cron'], '61 3 * * *'),
  set(['cron'], '* * *'),
  (s) => set(['gameDay'], undefined)(set(['experiment'], undefined)(s)), // nothing to run
  (s) => set(['experiment'], EXPERIMENT_FILE)(set(['gameDay'], GAME_DAY_FILE)(s)), // two things
  set(['experiment'], path.join(EXAMPLES, 'no-such-experiment.yaml')),
  set(['experiment'], GAME_DAY_FILE), // a file that is not an experiment: its own problems, in its own file
  set(['experiment'], EXAMPLES), // a directory
  (s) => set(['gameDay'], INVALID_GAME_DAY_FILE)(set(['experiment'], undefined)(s)),
  (s) => set(['calendar'], undefined)(set(['cron'], undefined)(set(['every'], undefined)(s))),
  (s) => set(['endAt'], '2026-01-01T00:00:00Z')(set(['startAt'], '2026-06-01T00:00:00Z')(s)),
  set(['timeZone'], 'Mars/Olympus'),
  set(['calendar'], [{ hour: 25 }]),
  set(['overlap'], 'allow-all'),
  set(['pauseOn'], ['exploded']),
  scheduleDuration.map((d) => set(['every'], d)),
  scheduleDuration.map((d) => set(['jitter'], d)),
  unknownKeys([]),
  unknownKeys(['calendar', 0]),
);

export const invalidSchedule = fc.tuple(plausibleSchedule, scheduleMutation).map(([s, m]) => m(s));

// --- kind: GameDay ------------------------------------------------------------------------------------

const onFailure = fc.constantFrom('stop', 'continue', 'ask');
const step = fc.oneof(
  fc.record(
    { experiment: fc.constant(EXPERIMENT_FILE), deadline: fc.constantFrom('5m', '1h'), onFailure },
    {
      requiredKeys: ['experiment'],
    },
  ),
  fc.record({ experiment: fc.constant(INLINE_EXPERIMENT), onFailure }, { requiredKeys: ['experiment'] }),
  fc.constant({ parallel: [{ experiment: OTHER_EXPERIMENT_FILE }, { experiment: INLINE_EXPERIMENT }] }),
  fc.constant({ gate: 'Dashboards green?' }),
  fc.string({ minLength: 1, maxLength: 30 }).map((note) => ({ note })),
);

export const plausibleGameDay: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    kind: fc.constant('GameDay'),
    title: fc.string({ minLength: 1, maxLength: 40 }),
    owner: fc.constant('alice'),
    approvers: fc.constant(['bob']),
    observers: fc.subarray(['carol', 'dave']),
    onFailure,
    steps: fc
      .array(step, { minLength: 1, maxLength: 4 })
      .map((steps) => steps.map((s, i) => ({ name: `step-${i + 1}`, ...s }))),
  },
  { requiredKeys: ['kind', 'title', 'owner', 'approvers', 'steps'] },
);

/** Mutations whose problems are all in the inline experiment, so all of them point into the game-day file. */
export const inlineMutation = invalidExperiment.chain((e) =>
  fc.constantFrom<Mutation>(
    set(['steps', 0], { name: 'inline', experiment: e }),
    set(['steps', 0], { name: 'inline', parallel: [{ experiment: EXPERIMENT_FILE }, { experiment: e }] }),
  ),
);

const gameDayMutation = mutations(
  set(['kind'], undefined),
  set(['steps'], []),
  set(['owner'], ''),
  set(['onFailure'], 'panic'),
  set(['steps', 0], { name: 'both', gate: 'go?', note: 'and a note' }),
  set(['steps', 0], { name: 'nothing' }),
  set(['steps', 0, 'name'], 'Step One'),
  set(['steps', 0, 'deadline'], 'soon'),
  set(['steps', 0], { parallel: [{ experiment: EXPERIMENT_FILE }] }),
  set(['steps', 0], { experiment: path.join(EXAMPLES, 'no-such-experiment.yaml') }),
  set(['steps', 0], { experiment: GAME_DAY_FILE }),
  (g) => set(['steps', (g.steps as unknown[]).length], { ...(g.steps as Record<string, unknown>[])[0] })(g),
  (g) => set(['approvers'], undefined)(set(['steps', 0], { name: 'gate', gate: 'go?' })(g)),
  inlineMutation,
  unknownKeys([]),
  unknownKeys(['steps', 0]),
);

export const invalidGameDay = fc.tuple(plausibleGameDay, gameDayMutation).map(([g, m]) => m(g));
export const gameDayWithInvalidInline = fc.tuple(plausibleGameDay, inlineMutation).map(([g, m]) => m(g));
