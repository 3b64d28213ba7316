// History that reads well: the workflow ID names the experiment, the hypothesis is the summary,
// search attributes carry experiment, verdict, phase and fault kinds, activities carry summaries,
// and the CLI's status/history/run read it all back from Temporal alone.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseJunit, type TestSuites } from 'junit2json';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, history, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, PHASE_KEY, VERDICT_KEY } from '../workflows/search-attributes.ts';
import { demoExperiment, inProcessWorker, runCli, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import type { Journal } from '../experiments/journal.ts';

const TQ = uniqueId('obs');
let stack: DemoStack;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof inProcessWorker>>;
let workflowId = '';
let journal: Journal;
const title = `observability ${Date.now()}`;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env },
    timeout: 120_000,
  });

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-obs'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  worker = await inProcessWorker(TQ);
  const exp = demoExperiment(
    `
title: ${title}
hypothesis:
  statement: the front shrugs off a frozen replica
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 10 } ]
targets: { labels: { faultline.demo: "\${PREFIX}", faultline.role: backend }, mode: one, seed: 7 }
method: [ { kind: container.pause, duration: 2s } ]
guard: { interval: 250ms, failuresToAbort: 4, probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 2, tolerance: { maxErrorRate: 0.5 } } ] }
`,
    stack,
  );
  ({ workflowId } = await startExperiment(fc, exp, { taskQueue: TQ }));
  journal = await waitForResult(fc, workflowId);
});

afterAll(async () => {
  await worker?.stop();
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

describe('history reads well', () => {
  it('names the workflow after the experiment and uses the hypothesis as its summary', async () => {
    expect(journal.verdict, journal.reason).toBe('passed');
    expect(workflowId).toMatch(/^observability-\d+-\d{8}-\d{6}-/);
    const d = await fc.client.workflow.getHandle(workflowId).describe();
    expect(await d.staticSummary()).toBe('the front shrugs off a frozen replica');
  });

  it('sets search attributes for experiment, verdict, final phase and fault kinds', async () => {
    const d = await fc.client.workflow.getHandle(workflowId).describe();
    expect(d.typedSearchAttributes.get(EXPERIMENT_KEY)).toBe(title);
    expect(d.typedSearchAttributes.get(VERDICT_KEY)).toBe('passed');
    expect(d.typedSearchAttributes.get(PHASE_KEY)).toBe('done');
    expect(d.typedSearchAttributes.get(FAULT_KINDS_KEY)).toEqual(['container.pause']);
  });

  it('gives every activity a human summary, and the seeded selection is recorded', async () => {
    const h = await fc.client.workflow.getHandle(workflowId).fetchHistory();
    const conv = fc.client.options.loadedDataConverter.payloadConverter;
    const summaries = (h.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => (e.userMetadata?.summary ? conv.fromPayload(e.userMetadata.summary as never) : undefined));
    expect(summaries.every((s) => typeof s === 'string' && s.length > 0)).toBe(true);
    const target = journal.faults[0]!.target!.name;
    expect(summaries).toContain(`pause ${target} for 2s`);
    expect(summaries).toContain(`revert: pause ${target} for 2s`);
    expect(journal.selection?.seed).toBe(7);
  });

  it('faultline history --json lists the run with its verdict from visibility', async () => {
    let rows = await history(fc, 500);
    for (let i = 0; i < 50 && !rows.find((r) => r.workflowId === workflowId)?.verdict; i++) {
      await new Promise((r) => setTimeout(r, 200));
      rows = await history(fc, 500);
    }
    const r = cli('history', '--json', '--limit', '500');
    expect(r.status, r.stderr).toBe(0);
    const row = (
      JSON.parse(r.stdout) as {
        workflowId: string;
        experiment: string;
        verdict: string;
        status: string;
        durationMs: number;
      }[]
    ).find((x) => x.workflowId === workflowId);
    expect(row).toMatchObject({ experiment: title, verdict: 'passed', status: 'COMPLETED' });
    expect(row!.durationMs).toBeGreaterThan(2000);
  });

  it('faultline status shows the journal and exits with the verdict code', () => {
    const r = cli('status', workflowId, '--json');
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { status: string; journal: Journal };
    expect(s.status).toBe('COMPLETED');
    expect(s.journal.faults[0]?.status).toBe('reverted');
    const text = cli('status', workflowId);
    expect(text.stdout).toMatch(/^PASSED {2}observability/m);
    expect(text.stdout).toMatch(/reverted +pause /);
  });

  it('faultline run --wait shows progress and exits 1 when the guard aborts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-obs-'));
    const file = path.join(dir, 'pause-all.yaml');
    writeFileSync(
      file,
      `
title: obs pause all
hypothesis:
  statement: the front answers
  probes: [ { name: front-ok, type: http, url: "${stack.frontUrl}/", requests: 5 } ]
targets: { labels: { faultline.demo: "${stack.prefix}", faultline.role: backend }, mode: all }
blastRadius: { maxTargets: 3 }
method: [ { kind: container.pause, duration: 30s } ]
guard: { interval: 250ms, failuresToAbort: 2, probes: [ { name: g, type: http, url: "${stack.frontUrl}/", requests: 2, timeout: 1s } ] }
`,
    );
    const xml = path.join(dir, 'ci', 'result.xml');
    const r = await runCli(['run', file, '--wait', '--task-queue', TQ, '--junit', xml]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\[steady-state-before\]|\[observing\]/);
    expect(r.stdout).toMatch(/^ABORTED {2}obs pause all/m);
    expect(r.stdout).toMatch(/detect → all reverted: \d+ ms/);
    expect(r.stdout).toMatch(/history: http/);
    // Results where CI reads them: a JUnit parser reads the aborted run as one failed test.
    expect(r.stdout).toContain(`junit: ${xml}`);
    const suites = (await parseJunit(readFileSync(xml, 'utf8'))) as TestSuites;
    expect([suites.tests, suites.failures, suites.errors]).toEqual([1, 1, 0]);
    const tc = suites.testsuite?.[0]?.testcase?.[0];
    expect(tc?.name).toBe('the front answers');
    expect(tc?.failure?.[0]?.type).toBe('aborted');
  });

  it('faultline run --junit to a place it cannot write: exit 2 naming it, nothing started', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-obs-'));
    const file = path.join(dir, 'ok.yaml');
    writeFileSync(
      file,
      `
title: obs junit nowhere
hypothesis:
  statement: the front answers
  probes: [ { name: front-ok, type: http, url: "${stack.frontUrl}/", requests: 1 } ]
targets: { labels: { faultline.demo: "${stack.prefix}", faultline.role: backend }, mode: one }
method: [ { kind: container.pause, duration: 1s } ]
`,
    );
    const before = (await history(fc, 500)).filter((h) => h.experiment === 'obs junit nowhere');
    const r = await runCli(['run', file, '--task-queue', TQ, '--junit', dir]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--junit ${dir}: cannot write there (${dir} is a folder); nothing started`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const after = (await history(fc, 500)).filter((h) => h.experiment === 'obs junit nowhere');
    expect(after).toEqual(before);
  });
});
