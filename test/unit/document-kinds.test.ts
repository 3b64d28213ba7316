// Every kind of file goes through one pipeline (experiments/document.ts): the same guards, positions and
// wording for experiments, policies, schedules and game days, and inline experiments in a game day checked
// where they stand, positioned in the game-day file. In-process for the detail, the real CLI for exit 2.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, type Problem } from '../../errors.ts';
import { parseExperiment, parseExperimentFile } from '../../experiments/parse.ts';
import { parsePolicy, parsePolicyFile } from '../../experiments/policy.ts';
import { parseSchedule, parseScheduleFile } from '../../experiments/schedule.ts';
import { parseGameDay, parseGameDayFile } from '../../experiments/gameday.ts';
import { z } from 'zod';
import { compileDocumentText, parseDocumentText, type DocumentKind } from '../../experiments/document.ts';
import { validateAnyFile } from '../../experiments/any.ts';
import { runCli } from './cli-process.ts';
import { EXPERIMENT_FILE } from '../document-fuzz.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fl-kinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INLINE = 'test/fixtures/invalid-kinds/gameday-inline-experiment-invalid.yaml';
const lines = (r: { ok: true } | { ok: false; problems: Problem[] }) => (r.ok ? [] : r.problems.map(formatProblem));

/** Each kind's text parser, with the file name the text is given under (schedules resolve files from it). */
const KINDS = {
  experiment: async (text: string) => parseExperiment(text, 'k.yaml'),
  policy: (text: string) => parsePolicy(`kind: Policy\n${text}`, 'k.yaml'),
  schedule: (text: string) =>
    parseSchedule(`kind: Schedule\nid: s\nevery: 1h\nexperiment: ${EXPERIMENT_FILE}\n${text}`, 'k.yaml'),
  'game day': (text: string) =>
    parseGameDay(`kind: GameDay\ntitle: g\nowner: a\nsteps: [{ note: n }]\n${text}`, 'k.yaml'),
};
const EXPERIMENT = `title: t
hypothesis: { statement: s, probes: [{ name: p, type: http, url: "http://127.0.0.1:1/" }] }
targets: { names: [api-1] }
method: [{ kind: container.pause, duration: 1s }]
`;
const lineOf = (kind: string, n: number) => (kind === 'experiment' ? n : kind === 'policy' ? n + 1 : n + 4);

describe('inline experiments in a game day', () => {
  it('each problem points at its line in the game-day file, with the full field path', async () => {
    const r = await parseGameDayFile(INLINE);
    expect(r.ok).toBe(false);
    expect(lines(r)).toEqual([
      `${INLINE}:15:21 steps.0.experiment.method.0.duration: must not be negative: a duration such as 250ms, 30s or 2m`,
      `${INLINE}:20:11 steps.1.parallel.1.experiment.hypothesis: required field "hypothesis" is missing (expected a mapping)`,
      expect.stringMatching(
        new RegExp(
          `^${INLINE}:21:28 steps\\.1\\.parallel\\.1\\.experiment\\.method\\.0\\.kind: unknown fault kind "container\\.explode"; known kinds: container\\.kill, `,
        ),
      ),
    ]);
  });

  /** A game day whose one step is `experiment` inline, as block YAML under the step. */
  const gameDay = (experiment: string) =>
    `kind: GameDay\ntitle: g\nowner: a\nsteps:\n  - experiment:\n${experiment
      .split('\n')
      .map((l) => (l ? `      ${l}` : l))
      .join('\n')}`;

  it('the rules run on inline experiments too (a missing field: at the inline experiment itself)', async () => {
    const r = await parseGameDay(gameDay(EXPERIMENT.replace('targets: { names: [api-1] }\n', '')), 'g.yaml');
    expect(lines(r)).toEqual([
      'g.yaml:6:7 steps.0.experiment.targets: required: method uses container.pause, which needs target containers',
    ]);
  });

  it('an experiment that is neither a file nor a mapping says what it may be', async () => {
    const r = await parseGameDay('kind: GameDay\ntitle: g\nowner: a\nsteps:\n  - experiment: [1]\n', 'g.yaml');
    expect(lines(r)).toEqual([
      'g.yaml:5:17 steps.0.experiment: must be an experiment file (relative to this file) or an inline experiment (a mapping), not a list',
    ]);
  });

  it('a valid inline experiment compiles, attributed to the game-day file', async () => {
    const r = await parseGameDay(gameDay(EXPERIMENT), 'g.yaml');
    expect(r.ok, lines(r).join('\n')).toBe(true);
    expect(r.ok && r.value.steps[0]).toMatchObject({
      kind: 'experiments',
      experiments: [{ file: 'g.yaml', experiment: { title: 't', method: [{ kind: 'container.pause' }] } }],
    });
  });
});

describe.each(Object.entries(KINDS))('%s files: the same guards and wording as every kind', (kind, parse) => {
  const body = kind === 'experiment' ? EXPERIMENT : '';
  it('an alias to a missing anchor is positioned', async () => {
    expect(lines(await parse(`${body}description: *nope\n`))).toEqual([
      `k.yaml:${lineOf(kind, kind === 'experiment' ? 5 : 1)}:14 (root): alias *nope refers to no anchor: define &nope before using it`,
    ]);
  });

  it('a duplicate key is positioned at the second one', async () => {
    expect(lines(await parse(`${body}description: a\ndescription: b\n`))).toEqual([
      `k.yaml:${lineOf(kind, kind === 'experiment' ? 6 : 2)}:1 (root): duplicate key "description"`,
    ]);
  });

  it('an unknown field is positioned at its key, a forged line and an ANSI escape in it escaped', async () => {
    const [line, ...rest] = lines(await parse(`${body}"x\\nk.yaml:1:1 y\\u001b[2J": 1\n`));
    expect(rest).toEqual([]);
    expect(line).toBe(
      `k.yaml:${lineOf(kind, kind === 'experiment' ? 5 : 1)}:1 x\\nk.yaml:1:1 y\\u001b[2J: unknown field "x\\nk.yaml:1:1 y\\u001b[2J"`,
    );
  });

  it('more than 100 alias uses are legitimate reuse (a cap on expanded values refuses a bomb instead)', async () => {
    const reuse = `${body}description: &d text\n${Array.from({ length: 150 }, (_, i) => `x${i}: *d`).join('\n')}\n`;
    const r = await parse(reuse);
    expect(r.ok).toBe(false); // x0..x149 are unknown fields: reported, at most 50 then a count
    const l = lines(r);
    expect(l).toHaveLength(51);
    // a policy has no description field: one more unknown field
    expect(l.at(-1)).toMatch(new RegExp(`and ${kind === 'policy' ? 101 : 100} more problem\\(s\\) not shown$`));
    expect(l.filter((x) => /alias/.test(x))).toEqual([]);
  });
});

describe('the pipeline itself', () => {
  it('validate: an unknown kind is positioned at kind, escaped', async () => {
    const file = path.join(dir, 'typo.yaml');
    writeFileSync(file, 'kind: "Gameday\\u001b[2J"\ntitle: t\n');
    expect((await validateAnyFile(file)).problems.map(formatProblem)).toEqual([
      `${file}:1:7 kind: unknown kind "Gameday\\u001b[2J"; one of: Experiment, Policy, Schedule, GameDay`,
    ]);
  });

  it('a rule or a compile step that throws is an internal-error problem, never its text, never a throw', async () => {
    const kind: DocumentKind<{ a: number }> = {
      noun: 'thing',
      notAMapping: 'a thing must be a mapping',
      schema: z.strictObject({ a: z.number() }),
      rules: [
        {
          name: 'throws',
          check: () => {
            throw new TypeError('secret internals');
          },
        },
      ],
    };
    const internal = [
      't.yaml:1:1 (root): internal error: the file could not be checked (please report it with the file)',
    ];
    expect(lines(parseDocumentText('a: 1\n', 't.yaml', kind))).toEqual(internal);
    const compiled = await compileDocumentText('a: 1\n', 't.yaml', { ...kind, rules: [] }, async () => {
      throw new TypeError('secret internals');
    });
    expect(lines(compiled)).toEqual(internal);
    expect(lines(parseDocumentText('- 1\n', 't.yaml', kind))).toEqual(['t.yaml:1:1 (root): a thing must be a mapping']);
  });
});

describe('file-level problems name the kind of file expected', () => {
  it.each([
    ['experiment', parseExperimentFile],
    ['policy', parsePolicyFile],
    ['schedule', parseScheduleFile],
    ['game day', parseGameDayFile],
  ] as const)('a directory given as %s file', async (noun, parse) => {
    expect(lines(await parse(dir))).toEqual([
      `${dir}: is a directory, not ${noun === 'experiment' ? 'an' : 'a'} ${noun} file`,
    ]);
  });

  it("a schedule naming a directory, or a file that is not an experiment: the schedule line and that file's own", async () => {
    const base = 'kind: Schedule\nid: s\nevery: 1h\n';
    expect(lines(await parseSchedule(`${base}experiment: .\n`, 'experiments/examples/s.yaml'))).toEqual([
      expect.stringMatching(
        /^experiments\/examples\/s\.yaml:4:13 experiment: \.: is a directory, not an experiment file \(looked for \//,
      ),
    ]);
    const l = lines(await parseSchedule(`${base}experiment: ./policy.yaml\n`, 'experiments/examples/s.yaml'));
    expect(l[0]).toBe('experiments/examples/s.yaml:4:13 experiment: ./policy.yaml is not a valid experiment');
    expect(l[1]).toMatch(/experiments\/examples\/policy\.yaml:\d+:\d+ \S+: /);
  });
});

describe('the CLI: exit 2 and FILE:LINE:COL for every kind, nothing started', () => {
  it('validate, one bad file of each kind', () => {
    const files = {
      experiment: 'test/fixtures/invalid/unknown-fault-kind.yaml',
      policy: 'test/fixtures/invalid-kinds/policy-unknown-time-zone.yaml',
      schedule: 'test/fixtures/invalid-kinds/schedule-invalid-cron.yaml',
      gameday: INLINE,
    };
    const r = runCli(['validate', ...Object.values(files)], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.status, r.stderr).toBe(2);
    for (const f of Object.values(files)) expect(r.stderr).toMatch(new RegExp(`^${f}:\\d+:\\d+ \\S+: \\S`, 'm'));
    expect(r.stderr).toContain(`${INLINE}:15:21 steps.0.experiment.method.0.duration: must not be negative`);
    expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  });

  it("schedule create naming an invalid game day: exit 2, the schedule line then the game day's own", () => {
    const file = 'test/fixtures/invalid-kinds/schedule-invalid-game-day.yaml';
    const r = runCli(['schedule', 'create', file], { TEMPORAL_ADDRESS: '127.0.0.1:1' }); // nothing listens there
    expect(r.status, r.stderr).toBe(2);
    const out = r.stderr.trimEnd().split('\n').slice(1); // after the one-line summary
    expect(out[0]).toBe(`${file}:5:10 gameDay: ./gameday-inline-experiment-invalid.yaml is not a valid game day`);
    expect(out[1]).toMatch(
      /\/test\/fixtures\/invalid-kinds\/gameday-inline-experiment-invalid\.yaml:15:21 steps\.0\.experiment\.method\.0\.duration: /,
    );
    expect(out).toHaveLength(4);
  });

  it('gameday run with an invalid inline experiment: exit 2, positioned in the game-day file', () => {
    const r = runCli(['gameday', 'run', INLINE], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${INLINE}:20:11 steps.1.parallel.1.experiment.hypothesis: required field`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
