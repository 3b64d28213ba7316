// Property-based, for every kind of file besides experiments (experiment-property.test.ts has those): generated
// policies, schedules and game days that are plausible validate; each with one mutation is refused, every
// problem positioned, escaped and free of internal text, never a throw; a game day whose inline experiment is
// invalid has every problem in the game-day file, under the step's path; adversarial texts through each kind's
// parser never crash; a sample of invalid files of every kind through the real CLI exits 2 with FILE:LINE:COL
// lines. Seeded (FAULTLINE_FUZZ_SEED replays a run); the seed is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { LineCounter, parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, writeSamples } from './cli-process.ts';
import type { Problem } from '../../errors.ts';
import { parseGameDay } from '../../experiments/gameday.ts';
import { parsePolicy } from '../../experiments/policy.ts';
import { parseSchedule } from '../../experiments/schedule.ts';
import { adversarialText, fileFormat, fuzzSeed, problemDefect, render } from '../experiment-fuzz.ts';
import {
  gameDayWithInvalidInline,
  invalidGameDay,
  invalidPolicy,
  invalidSchedule,
  plausibleGameDay,
  plausiblePolicy,
  plausibleSchedule,
} from '../document-fuzz.ts';

const seed = fuzzSeed('document');
const format = fileFormat;
const dir = mkdtempSync(path.join(tmpdir(), 'fl-docprop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Parse = (text: string, file: string) => Promise<{ ok: true } | { ok: false; problems: Problem[] }>;
const KINDS: { kind: string; parse: Parse; plausible: fc.Arbitrary<unknown>; invalid: fc.Arbitrary<unknown> }[] = [
  { kind: 'Policy', parse: parsePolicy, plausible: plausiblePolicy, invalid: invalidPolicy },
  { kind: 'Schedule', parse: parseSchedule, plausible: plausibleSchedule, invalid: invalidSchedule },
  { kind: 'GameDay', parse: parseGameDay, plausible: plausibleGameDay, invalid: invalidGameDay },
];
const shown = (r: { ok: boolean; problems?: Problem[] }) => JSON.stringify(r.ok ? 'valid' : r.problems);

describe.each(KINDS)('kind: $kind', ({ kind, parse, plausible, invalid }) => {
  it('plausible files validate (so a refusal below is the mutation, not the generator)', async () => {
    await fc.assert(
      fc.asyncProperty(plausible, format, async (data, fmt) => {
        const r = await parse(render(data, fmt), `gen.${fmt}`);
        expect(r.ok, shown(r)).toBe(true);
      }),
      { seed, numRuns: 60 },
    );
  });

  it('invalid ones are refused, every problem positioned, escaped and free of internal text', async () => {
    await fc.assert(
      fc.asyncProperty(invalid, format, async (data, fmt) => {
        const file = `bad-${kind}.${fmt}`;
        const r = await parse(render(data, fmt), file);
        expect(r.ok, 'expected a refusal').toBe(false);
        if (r.ok) return;
        expect(r.problems.length).toBeGreaterThan(0);
        for (const p of r.problems) expect(problemDefect(p)).toBeUndefined();
        // a problem without a line is one with a file named in this one (missing, a directory)
        expect(r.problems.some((p) => p.file === file && p.line !== undefined)).toBe(true);
      }),
      { seed, numRuns: 250 },
    );
  });

  it('adversarial texts (aliases, bombs, deep nesting, control characters, huge, random bytes) never crash', async () => {
    await fc.assert(
      fc.asyncProperty(adversarialText(0.05), async ({ text }) => {
        const r = await parse(text, 'adversarial.yaml');
        expect(r.ok).toBe(false);
        if (!r.ok) for (const p of r.problems) expect(problemDefect(p)).toBeUndefined();
      }),
      { seed, numRuns: 40 },
    );
  });
});

it('a game day whose inline experiment is invalid: every problem is in the game-day file, under the step', async () => {
  await fc.assert(
    fc.asyncProperty(gameDayWithInvalidInline, format, async (data, fmt) => {
      const file = `inline.${fmt}`;
      const text = render(data, fmt);
      const r = await parseGameDay(text, file);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      // the lines the inline experiment spans in the game-day file, found by the YAML library itself
      const lc = new LineCounter();
      const doc = parseDocument(text, { lineCounter: lc });
      const at = (doc.getIn(['steps', 0, 'parallel']) ? ['steps', 0, 'parallel', 1] : ['steps', 0]).concat(
        'experiment',
      );
      const range = (doc.getIn(at, true) as { range: [number, number, number] }).range;
      const [first, last] = [lc.linePos(range[0]).line, lc.linePos(Math.max(range[0], range[1] - 1)).line];
      for (const p of r.problems) {
        expect(problemDefect(p)).toBeUndefined();
        expect(p.file).toBe(file);
        // a field of the inline experiment, positioned inside it (not one message at the step)
        expect(p.path.startsWith(`${at.join('.')}.`), p.path).toBe(true);
        expect(p.line).toBeGreaterThanOrEqual(first);
        expect(p.line).toBeLessThanOrEqual(last);
      }
    }),
    { seed, numRuns: 250 },
  );
});

it('a sample of invalid files of every kind through the real CLI: exit 2, FILE:LINE:COL lines, no stack trace', () => {
  const files = KINDS.flatMap(({ kind, invalid }) =>
    writeSamples(dir, `bad-${kind}`, fc.sample(fc.tuple(invalid, format), { seed, numRuns: 6 }), render),
  );
  const r = runCli(['validate', ...files], {}, dir);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  // a referenced file's own problems name that file (an absolute path); a missing one has no line
  for (const line of lines)
    expect(line).toMatch(/^(bad-\w+-\d+\.(yaml|json):\d+:\d+ \S+: \S|\/\S+(:\d+:\d+ \S+)?: \S)/);
  expect(new Set(lines.filter((l) => l.startsWith('bad-')).map((l) => l.split(':')[0]))).toEqual(new Set(files));
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
});
