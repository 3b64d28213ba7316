// Game-day files, pure: steps compile with their experiments read and validated; a step that names a
// missing file is a positioned message, and `gameday run` exits 2 with nothing started.
import { expect, it } from 'vitest';
import { parseGameDayFile } from '../../experiments/gameday.ts';
import { formatProblem } from '../../errors.ts';
import { runCli } from './cli-process.ts';

it('the example game day compiles: steps, kinds, failure policies, experiments read relative to it', async () => {
  const r = await parseGameDayFile('experiments/examples/gameday.yaml');
  expect(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n')).toBe(true);
  if (!r.ok) return;
  expect(r.value.steps.map((s) => [s.name, s.kind])).toEqual([
    ['warm-up', 'experiments'],
    ['go-no-go', 'gate'],
    ['latency-and-pause', 'experiments'],
    ['step-4', 'note'],
  ]);
  const par = r.value.steps[2];
  expect(par?.kind === 'experiments' && par.experiments.length).toBe(2);
  expect(par?.kind === 'experiments' && par.onFailure).toBe('ask');
});

it('a step that refers to a missing file: positioned message, exit 2, nothing started', async () => {
  const file = 'test/fixtures/invalid-kinds/gameday-missing-step-file.yaml';
  const r = await parseGameDayFile(file);
  expect(r.ok).toBe(false);
  const lines = r.ok ? [] : r.problems.map(formatProblem);
  expect(lines).toEqual([expect.stringContaining(`${file}:9:17 steps.2.experiment: ./not-there.yaml: no such file`)]);
  const cli = runCli(['gameday', 'run', file], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(cli.status, cli.stderr).toBe(2);
  expect(cli.stderr).toContain(`${file}:9:17 steps.2.experiment`);
  expect(cli.stderr).not.toMatch(/\n\s+at /);
});

it('the kernel-kinds game day compiles: one experiment step per new kind family, each experiment read and validated', async () => {
  const r = await parseGameDayFile('experiments/examples/gameday-kernel.yaml');
  expect(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n')).toBe(true);
  if (!r.ok) return;
  const kinds = r.value.steps.flatMap((s) =>
    s.kind === 'experiments' ? s.experiments.flatMap((e) => e.experiment.method.map((m) => m.kind)) : [],
  );
  expect(kinds).toEqual(['network.loss', 'stress.cpu', 'stress.memory', 'process.kill', 'dns.error', 'network.split']);
  expect(r.value.steps.map((s) => s.kind)).toEqual([
    'experiments',
    'gate',
    'experiments',
    'experiments',
    'experiments',
    'experiments',
    'experiments',
    'note',
  ]);
});
