// Game days end to end: a parent workflow with one child experiment workflow per step, on the real dev
// server and Docker with the demo target. It waits at its gate, continues on an approver's word naming the
// gate (a late one is refused), stops at a refuted step under the stop policy, and an abort returns only
// once the running child has reverted. The shipped example, whose parallel step's children both abort, is
// refuted even though its `ask` was approved. SIGKILLing the worker mid-game-day loses nothing and leaves
// no target held.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, history, type FaultlineClient } from '../cli/client.ts';
import { gameDayStatus, waitForGameDay } from '../cli/gamedays.ts';
import { admissionState } from '../cli/admission.ts';
import { containerState, inProcessWorker, killProcess, runCli, uniqueId, workerProcess } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';
import type { Journal } from '../experiments/journal.ts';
import { openReport } from './support/chromium.ts';
import { checkWithChaosToolkit } from './support/chaos-toolkit.ts';
import { PROJECT_ROOT } from '../config.ts';

let stack: DemoStack;
let fc: FaultlineClient;
const stops: (() => Promise<void>)[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-gameday-'));
let flaky: http.Server;
let flakyUrl = '';

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-gd'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  // A service that holds its steady state for the first 2 requests and never after: the step that uses it
  // as its hypothesis probe is refuted (its steady state does not recover).
  let served = 0;
  flaky = http.createServer((_req, res) => {
    res.statusCode = served++ < 2 ? 200 : 500;
    res.end();
  });
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  flakyUrl = `http://127.0.0.1:${(flaky.address() as { port: number }).port}/`;
});

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  flaky?.close();
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

function experiment(name: string, backend: string, duration: string, probeUrl = `${stack.frontUrl}/`) {
  writeFileSync(
    path.join(dir, name),
    `title: ${name.replace('.yaml', '')}
hypothesis:
  statement: the service answers while one backend is frozen
  probes: [ { name: ok, type: http, url: "${probeUrl}", requests: 2, timeout: 1s } ]
targets: { names: [ ${backend} ] }
method: [ { kind: container.pause, duration: ${duration} } ]
afterCheck: { recoveryTimeout: 1s }
`,
  );
}

const cliJson = async (...args: string[]) => {
  const r = await runCli([...args, '--json']);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

describe('game days', () => {
  it('waits at the gate, continues on approve, stops at a refuted step; journal, history and children', async () => {
    const tq = uniqueId('gd-gate');
    stops.push((await inProcessWorker(tq)).stop);
    const [b1, b2] = stack.containers.backends as [string, string];
    experiment('warm-up.yaml', b1, '1s');
    experiment('breaks.yaml', b2, '1s', flakyUrl);
    const file = path.join(dir, 'gameday.yaml');
    writeFileSync(
      file,
      `kind: GameDay
title: gate and stop
owner: alice
approvers: [bob]
observers: [carol]
steps:
  - { name: warm-up, experiment: ./warm-up.yaml, deadline: 2m }
  - { name: go-no-go, gate: dashboards green? }
  - { name: breaks, experiment: ./breaks.yaml, onFailure: stop }
  - { name: never, experiment: ./warm-up.yaml }
`,
    );
    const { workflowId: id } = (await cliJson('gameday', 'run', file, '--task-queue', tq)) as { workflowId: string };
    const waiting = await until(async () => {
      const s = await gameDayStatus(fc, id);
      return s.journal?.waitingAt === 'go-no-go' ? s.journal : undefined;
    }, 'the gate');
    expect(waiting.steps.map((s) => s.status)).toEqual(['passed', 'waiting', 'pending', 'pending']);
    expect(waiting.steps[0]?.children[0]).toMatchObject({ workflowId: `${id}-warm-up`, verdict: 'passed' });

    const notApprover = await runCli(['gameday', 'approve', id, '--who', 'mallory']);
    expect(notApprover.status).toBe(2);
    expect(notApprover.stderr).toContain('mallory is not an approver');
    const notWaiting = await runCli(['gameday', 'approve', id, '--step', 'breaks', '--who', 'bob']);
    expect(notWaiting.status).toBe(2);
    expect(notWaiting.stderr).toContain('step breaks never waits for an approval');
    expect(notWaiting.stderr).toContain('waiting: go-no-go');
    await cliJson('gameday', 'note', id, 'dashboards look fine', '--who', 'carol');
    // No --step: the one step waiting, and the command says which.
    const approved = await runCli(['gameday', 'approve', id, '--who', 'bob']);
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('approved go-no-go by bob (the step waiting; --step names one)');
    // The same approval again, late: refused, naming the gate, and nothing else is opened.
    const late = await runCli(['gameday', 'approve', id, '--step', 'go-no-go', '--who', 'bob']);
    expect(late.status).toBe(2);
    expect(late.stderr).toMatch(/step go-no-go is not waiting for an approval \(it is passed, approved by bob\)/);

    const j = await waitForGameDay(fc, id);
    expect(j.verdict).toBe('refuted');
    expect(j.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'failed', 'skipped']);
    expect(j.steps[2]?.children[0]?.verdict).toBe('refuted');
    expect(j.reason).toMatch(/step breaks failed .*stopped/);
    expect(j.events.map((e) => [e.what, e.who, e.step])).toEqual([
      ['note', 'carol', 'go-no-go'],
      ['approve', 'bob', 'go-no-go'],
    ]);
    expect(j.steps.map((s) => s.verdict)).toEqual(['passed', 'passed', 'refuted', undefined]);
    expect(j.summary).toMatch(/refuted · 2 passed, 1 failed \(breaks\), 1 skipped/);
    expect([await containerState(b1), await containerState(b2)]).toEqual(['running', 'running']);

    // The UI shows the children under the parent; history lists the game day and its children.
    const kids: string[] = [];
    for await (const w of fc.client.workflow.list({ query: `ParentWorkflowId = '${id}'` })) kids.push(w.workflowId);
    expect(kids.sort()).toEqual([`${id}-breaks`, `${id}-warm-up`]);
    const rows = await until(async () => {
      const r = await history(fc, 500);
      return r.filter((x) => x.gameDay === id).length === 3 ? r : undefined;
    }, 'history rows');
    expect(rows.find((r) => r.workflowId === id)?.kind).toBe('game day');

    // faultline report ID: the game day's journal and its children's (--json), and one HTML file with the
    // timeline and each child's verdict and charts, rendered by Chromium without a console error.
    const rep = (await cliJson('report', id)) as { gameDay: { workflowId: string }; runs: Record<string, Journal> };
    expect(rep.gameDay.workflowId).toBe(id);
    expect(Object.fromEntries(Object.entries(rep.runs).map(([k, v]) => [k, v.verdict]))).toEqual({
      [`${id}-warm-up`]: 'passed',
      [`${id}-breaks`]: 'refuted',
    });
    const html = path.join(dir, 'gameday-report.html');
    const out = await runCli(['report', id, '--html', html]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain(`report: ${html}`);
    const text = readFileSync(html, 'utf8');
    for (const want of ['Game day: gate and stop', 'dashboards look fine', 'go-no-go', 'warm-up', 'breaks'])
      expect(text).toContain(want);
    expect(text).toContain('<span class="verdict v-refuted">refuted</span> step breaks failed');
    // faultline report RUN --format ctk-journal: the refuted child as a Chaos Toolkit journal, loaded by
    // chaostoolkit-lib (its validation, its own tolerance check on the recorded samples); a game day is refused.
    const ctkFile = path.join(dir, 'breaks.journal.json');
    const ctk = await runCli(['report', `${id}-breaks`, '--format', 'ctk-journal', '--out', ctkFile]);
    expect(ctk.status, ctk.stderr).toBe(0);
    expect(checkWithChaosToolkit([ctkFile], dir)).toEqual([
      expect.objectContaining({ ok: true, status: 'completed', deviated: true }),
    ]);
    const ctkJournal = JSON.parse(readFileSync(ctkFile, 'utf8')) as { run: { activity: { provider: unknown } }[] };
    expect(ctkJournal.run.map((r) => r.activity.provider)).toEqual([
      { type: 'process', path: 'docker', arguments: ['pause', b2] },
    ]);
    expect((await runCli(['report', id, '--format', 'ctk-journal'])).status).toBe(2);
    // FAULTLINE_KEEP_JOURNALS=DIR keeps this real game day's report (the README's screenshot comes from it)
    if (process.env.FAULTLINE_KEEP_JOURNALS)
      copyFileSync(html, path.join(process.env.FAULTLINE_KEEP_JOURNALS, 'gameday.html'));
    const r = await openReport(html, path.join(dir, 'gameday-report.png'));
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    const timeline = r.charts.find((c) => c.id === 'gameday-timeline');
    expect(timeline?.points).toBeGreaterThanOrEqual(2 * 3 + 2); // three started steps' bars, the note and the approval
    expect(timeline?.inked).toBeGreaterThan(1000);
    for (const run of ['run0-', 'run1-']) {
      const c = r.charts.find((x) => x.id.startsWith(`${run}probe-err-`));
      expect(c?.inked, run).toBeGreaterThan(1000);
    }
    expect(r.png).toBe(true);
  });

  it('the shipped example: both children of its parallel step abort, bob approves its `ask`: refuted, never passed', async () => {
    const tq = uniqueId('gd-shipped');
    if (!stack.proxyAdminUrl) throw new Error('the demo stack came up without its fault proxy');
    stops.push(
      (
        await inProcessWorker(tq, {
          FAULTLINE_PROXY_URL: stack.proxyAdminUrl,
          FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '',
        })
      ).stop,
    );
    // experiments/examples/gameday.yaml and its experiments as shipped, pointed at this test's demo stack.
    const examples = path.join(PROJECT_ROOT, 'experiments', 'examples');
    const shipped = path.join(dir, 'shipped');
    mkdirSync(shipped, { recursive: true });
    const front = new URL(stack.frontUrl).port;
    for (const f of [
      'gameday.yaml',
      'kill-one-backend.yaml',
      'latency-between-services.yaml',
      'pause-all-backends.yaml',
    ])
      writeFileSync(
        path.join(shipped, f),
        readFileSync(path.join(examples, f), 'utf8')
          .replaceAll('127.0.0.1:18080', `127.0.0.1:${front}`)
          .replaceAll('faultline.demo: faultline-demo', `faultline.demo: ${stack.prefix}`),
      );
    const { workflowId: id } = (await cliJson(
      'gameday',
      'run',
      path.join(shipped, 'gameday.yaml'),
      '--task-queue',
      tq,
    )) as {
      workflowId: string;
    };
    await until(
      async () => ((await gameDayStatus(fc, id)).journal?.waitingAt === 'go-no-go' ? true : undefined),
      'the gate',
    );
    await cliJson('gameday', 'approve', id, '--step', 'go-no-go', '--who', 'bob');
    const asked = await until(async () => {
      const s = await gameDayStatus(fc, id);
      return s.journal?.waitingAt === 'latency-and-pause' ? s.journal : undefined;
    }, 'the ask of latency-and-pause');
    expect(asked.steps[2]?.children.map((c) => c.verdict)).toEqual(['aborted', 'aborted']);
    await cliJson('gameday', 'approve', id, '--step', 'latency-and-pause', '--who', 'bob');
    const j = await waitForGameDay(fc, id);
    expect(j.verdict, j.reason).not.toBe('passed');
    expect(j.verdict).toBe('refuted');
    expect(j.steps.map((s) => [s.name, s.status, s.verdict])).toEqual([
      ['warm-up', 'passed', 'passed'],
      ['go-no-go', 'passed', 'passed'],
      ['latency-and-pause', 'failed', 'refuted'],
      ['step-4', 'done', undefined],
    ]);
    expect(j.reason).toMatch(
      /^step latency-and-pause failed \(.*: aborted, .*: aborted\); on failure: ask, bob said go on/,
    );
    expect(j.summary).toMatch(/: refuted · 2 passed, 1 failed \(latency-and-pause\)/);
    // gameday status shows each step's own verdict, and says refuted (exit 1).
    const status = await runCli(['gameday', 'status', id]);
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/^\s+refuted\s+latency-and-pause: /m);
    const rep = await runCli(['report', id, '--html', path.join(dir, 'shipped.html')]);
    expect(rep.status, rep.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'shipped.html'), 'utf8')).toContain(
      '<span class="verdict v-refuted">refuted</span>',
    );
  });

  it('abort reverts the running child before it returns', async () => {
    const tq = uniqueId('gd-abort');
    stops.push((await inProcessWorker(tq)).stop);
    const b3 = stack.containers.backends[2]!;
    experiment('long.yaml', b3, '5m');
    const file = path.join(dir, 'abort.yaml');
    writeFileSync(
      file,
      `kind: GameDay\ntitle: abort me\nowner: alice\nsteps:\n  - { name: long, experiment: ./long.yaml }\n  - { note: after }\n`,
    );
    const { workflowId: id } = (await cliJson('gameday', 'run', file, '--task-queue', tq)) as { workflowId: string };
    await until(async () => ((await containerState(b3)) === 'paused' ? true : undefined), 'the child pauses');
    const r = await runCli(['gameday', 'abort', id, '--reason', 'customer incident', '--who', 'alice']);
    expect(r.status, r.stderr).toBe(0);
    expect(await containerState(b3)).toBe('running'); // reverted by the time abort returned
    const j = await waitForGameDay(fc, id);
    expect(j.verdict).toBe('aborted');
    expect(j.steps.map((s) => s.status)).toEqual(['aborted', 'skipped']);
    expect(j.steps[0]?.children[0]?.verdict).toBe('aborted');
    expect(j.events).toMatchObject([{ what: 'abort', who: 'alice', text: 'customer incident' }]);
  });

  it('SIGKILL the worker in the middle of a game day: it resumes, finishes, and no target stays held', async () => {
    const tq = uniqueId('gd-kill');
    const first = await workerProcess(tq);
    stops.push(() => killProcess(first, 'SIGKILL'));
    const b1 = stack.containers.backends[0]!;
    experiment('kill.yaml', b1, '4s');
    const file = path.join(dir, 'kill.yaml.gameday.yaml');
    writeFileSync(
      file,
      `kind: GameDay\ntitle: kill me\nowner: alice\nsteps:\n  - { name: one, experiment: ./kill.yaml }\n  - { name: two, experiment: ./kill.yaml }\n`,
    );
    const { workflowId: id } = (await cliJson('gameday', 'run', file, '--task-queue', tq)) as { workflowId: string };
    await until(async () => ((await containerState(b1)) === 'paused' ? true : undefined), 'step one pauses');
    await killProcess(first, 'SIGKILL');
    const second = await workerProcess(tq);
    stops.push(() => killProcess(second, 'SIGTERM'));
    const j = await waitForGameDay(fc, id);
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.steps.map((s) => s.children[0]?.verdict)).toEqual(['passed', 'passed']);
    expect(await containerState(b1)).toBe('running');
    await until(async () => ((await admissionState(fc, tq)).holds.length === 0 ? true : undefined), 'no holds');
  });
});
