// Property-based: generated experiments (test/experiment-fuzz.ts) that validate go through planning against
// an in-memory fleet and proxy and never throw, overflow a timer, select outside their selector, exceed
// their blast radius or carry a rule the proxy would refuse; generated invalid ones are refused with a
// positioned message and no internal text, in-process for the bulk and through the real CLI for a sample.
// Seeded (FAULTLINE_FUZZ_SEED replays a run); the seed is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExperiment } from '../../experiments/parse.ts';
import { runCli, writeSamples } from './cli-process.ts';
import {
  adversarialText,
  fleetDependentExperiment,
  invalidExperiment,
  planDefects,
  plausibleExperiment,
  problemDefect,
  render,
  fuzzSeed,
  fileFormat,
} from '../experiment-fuzz.ts';

const seed = fuzzSeed('experiment');
const format = fileFormat;
const dir = mkdtempSync(path.join(tmpdir(), 'fl-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generated experiments', () => {
  it('those that validate plan without throwing, overflowing a timer, leaving their selector or blast radius', async () => {
    let validated = 0;
    await fc.assert(
      fc.asyncProperty(plausibleExperiment, format, fc.nat(), async (data, fmt, planSeed) => {
        const r = parseExperiment(render(data, fmt), `gen.${fmt}`);
        if (!r.ok) {
          for (const p of r.problems) expect(problemDefect(p)).toBeUndefined();
          return;
        }
        validated++;
        expect(await planDefects(r.experiment, planSeed)).toEqual([]);
      }),
      { seed, numRuns: 500 },
    );
    expect(validated, 'the generator must produce experiments that validate').toBeGreaterThan(25);
  });

  it('containers and routes together never exceed maxTargets, even where only the fleet can tell', async () => {
    await fc.assert(
      fc.asyncProperty(fleetDependentExperiment, fc.nat(), async (data, planSeed) => {
        const r = parseExperiment(render(data, 'yaml'), 'fleet.yaml');
        if (r.ok) expect(await planDefects(r.experiment, planSeed)).toEqual([]);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('invalid ones are refused, every problem positioned, escaped and free of internal text', () => {
    fc.assert(
      fc.property(invalidExperiment, format, (data, fmt) => {
        const r = parseExperiment(render(data, fmt), `bad.${fmt}`);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.problems.length).toBeGreaterThan(0);
        for (const p of r.problems) expect(problemDefect(p)).toBeUndefined();
      }),
      { seed, numRuns: 500 },
    );
  });

  it('adversarial texts (aliases, bombs, deep nesting, control characters, huge, random bytes) never crash', () => {
    fc.assert(
      fc.property(adversarialText(0.05), ({ text }) => {
        const r = parseExperiment(text, 'adversarial.yaml');
        if (r.ok) return;
        for (const p of r.problems) expect(problemDefect(p)).toBeUndefined();
      }),
      { seed, numRuns: 100 },
    );
  });

  it('a sample of invalid files through the real CLI: exit 2, one FILE:LINE:COL line per problem, no stack trace', () => {
    const files = writeSamples(
      dir,
      'bad',
      fc.sample(fc.tuple(invalidExperiment, format), { seed, numRuns: 25 }),
      render,
    );
    const r = runCli(['validate', ...files], {}, dir);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^bad-\d+\.(yaml|json):\d+:\d+ \S+: \S/);
    expect(new Set(lines.map((l) => l.split(':')[0]))).toEqual(new Set(files));
    expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  });
});
