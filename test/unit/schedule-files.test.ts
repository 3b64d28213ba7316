// Schedule files, pure: cron validation names the wrong field, and bad files give positioned messages,
// exit 2 at the CLI and create nothing (nothing can: the CLI is pointed at an address where no server is).
import { describe, expect, it } from 'vitest';
import { cronProblem, parseScheduleFile } from '../../experiments/schedule.ts';
import { formatProblem } from '../../errors.ts';
import { runCli } from './cli-process.ts';

describe('cron expressions', () => {
  it.each([
    ['*/5 * * * *', undefined],
    ['30 2 * * 1-5', undefined],
    ['0 3 * * MON-FRI', undefined],
    ['61 * * * *', /^minute field "61"/],
    ['0 24 * * *', /^hour field "24"/],
    ['0 0 32 * *', /^day of month field "32"/],
    ['0 0 * 13 *', /^month field "13"/],
    ['0 0 * * funday', /^day of week field "funday"/],
    ['* * * *', /has 4$/],
  ])('%s', (expr, want) => {
    const p = cronProblem(expr, 'Europe/Paris');
    if (want === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(want);
  });
});

describe('schedule files', () => {
  it.each([
    ['schedule-invalid-cron.yaml', '4:7 cron: invalid cron "61 3 * * mon-fri": minute field "61"'],
    ['schedule-unknown-time-zone.yaml', '5:11 timeZone: unknown time zone'],
    ['schedule-missing-experiment.yaml', '3:13 experiment: ./no-such-experiment.yaml: no such file'],
  ])('%s: a positioned message; schedule create exits 2 and creates nothing', async (name, want) => {
    const file = `test/fixtures/invalid-kinds/${name}`;
    const r = await parseScheduleFile(file);
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${file}:${want}`);
    const cli = await runCli(['schedule', 'create', file], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(cli.status, cli.stderr).toBe(2);
    expect(cli.stderr).toContain(`${file}:${want}`);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });

  it('the example schedule is valid and resolves its experiment relative to itself', async () => {
    const r = await parseScheduleFile('experiments/examples/schedule-nightly.yaml');
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.experiment?.file).toMatch(/experiments\/examples\/kill-one-backend\.yaml$/);
      expect(r.value.schedule).toMatchObject({
        overlap: 'skip',
        catchupWindow: '10m',
        pauseOn: ['aborted', 'refuted'],
      });
    }
  });
});
