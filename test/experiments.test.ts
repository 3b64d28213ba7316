// The experiment language at the CLI boundary: validate and run exit 2 on bad input without a stack trace,
// and run starts nothing (checked in Temporal visibility). Parsing itself: experiments.unit.test.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config.ts';
import { connectClient, type FaultlineClient } from '../cli/client.ts';

const EXAMPLES = path.join(PROJECT_ROOT, 'experiments', 'examples');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env },
    timeout: 60_000,
  });

describe('faultline validate and run on bad input', () => {
  let fc: FaultlineClient;
  beforeAll(async () => {
    fc = await connectClient();
  });
  afterAll(async () => {
    await fc?.close();
  });

  it('validate exits 0 on the examples', () => {
    // Every file under examples/, the SLO files in examples/slos/ too (validate reads those as well).
    const files = readdirSync(EXAMPLES, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(process.cwd(), path.join(e.parentPath, e.name)));
    expect(files.some((f) => f.includes(`slos${path.sep}`))).toBe(true);
    const r = cli('validate', ...files);
    expect(r.status, r.stderr).toBe(0);
  });

  it('validate exits 2 with one FILE:LINE:COL field: message line per problem and no stack trace', () => {
    const r = cli(
      'validate',
      path.join('test', 'fixtures', 'invalid', 'unknown-fault-kind.yaml'),
      path.join('test', 'fixtures', 'invalid', 'bad-url.json'),
    );
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^test\/fixtures\/invalid\/unknown-fault-kind\.yaml:10:11 method\.0\.kind: unknown fault kind/,
    );
    expect(lines[1]).toMatch(/^test\/fixtures\/invalid\/bad-url\.json:6:49 hypothesis\.probes\.0\.url: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('run exits 2 on an invalid file and starts no workflow', async () => {
    const r = cli('run', path.join('test', 'fixtures', 'invalid', 'blast-radius-max-targets.yaml'), '--wait');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/blast-radius-max-targets\.yaml:11:10 targets\.count: selects 3 containers/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const started: string[] = [];
    for await (const w of fc.client.workflow.list({
      query: `WorkflowType = 'runExperiment' AND FaultlineExperiment = 'fixture'`,
    }))
      started.push(w.workflowId);
    expect(started).toEqual([]);
  });

  it('bad CLI arguments exit 2 with a usage message', () => {
    const a = cli('history', '--limit', 'zero');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--limit/);
    const b = cli('abort', 'some-id');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--reason/);
    const c = cli('status', 'no-such-run-id');
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/no experiment run with ID no-such-run-id/);
  });
});
