// Durability, proven by killing processes: the worker and the Temporal server are SIGKILLed while a
// fault is active, and the kill switch (abort, revert --all) is pulled by an operator. Each time the
// fault must be reverted exactly once (counted from Docker's own event log) and the verdict recorded.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import {
  abortExperiment,
  connectClient,
  getStatus,
  startExperiment,
  waitForResult,
  type FaultlineClient,
} from '../cli/client.ts';
import {
  containerState,
  demoExperiment,
  dockerEvents,
  killProcess,
  ownDevServer,
  serverFacts,
  uniqueId,
  workerProcess,
} from './helpers.ts';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import type { Journal } from '../experiments/journal.ts';

let stack: DemoStack;
let fc: FaultlineClient;
let server: Awaited<ReturnType<typeof ownDevServer>> | undefined;
const workers: Awaited<ReturnType<typeof workerProcess>>[] = [];

beforeAll(async () => {
  // Its own server: this file SIGKILLs it, and `revert --all` would abort the other files' runs.
  server = await ownDevServer('durability');
  stack = await demoUp({ prefix: uniqueId('fl-dur'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
});

afterAll(async () => {
  for (const w of workers) await killProcess(w, 'SIGTERM');
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
  await server?.stop();
});

/** Pauses one named backend for `duration`; the front retries the others, so the guard holds. */
function pauseOne(backend: string, duration: string, title = 'pause one backend') {
  return demoExperiment(
    `
title: ${title}
hypothesis:
  statement: the front answers while one backend is frozen
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 10, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
targets: { names: [ ${backend} ], mode: one }
method: [ { kind: container.pause, duration: ${duration} } ]
guard:
  interval: 500ms
  failuresToAbort: 5
  probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 2, timeout: 2s, tolerance: { maxErrorRate: 0.5 } } ]
`,
    stack,
  );
}

async function waitForPhase(id: string, phase: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const s = await getStatus(fc, id).catch(() => undefined);
    if (s?.journal?.phase === phase) return;
    if (s && s.status !== 'RUNNING') throw new Error(`run ended (${s.status}) before phase ${phase}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`phase ${phase} not reached`);
}

/** The run's one pause was undone, and Docker saw exactly one pause and one unpause. */
async function expectRevertedOnce(j: Journal, backend: string, since: number): Promise<void> {
  expect(j.faults[0]?.status).toBe('reverted');
  expect(await containerState(backend)).toBe('running');
  const ev = await dockerEvents([j.faults[0]!.target!.id], ['pause', 'unpause'], since);
  expect(ev.map((e) => e.action)).toEqual(['pause', 'unpause']);
}

async function startWorker(tq: string) {
  const w = await workerProcess(tq);
  workers.push(w);
  return w;
}

describe('durability', () => {
  it('a SIGKILLed worker: the fault stays until a new worker reverts it exactly once, at once: the guard was blind meanwhile', async () => {
    const tq = uniqueId('dur-worker');
    const backend = stack.containers.backends[0]!;
    const since = Date.now();
    const first = await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseOne(backend, '30s'), { taskQueue: tq });
    await waitForPhase(workflowId, 'observing');
    await killProcess(first, 'SIGKILL');
    expect(await containerState(backend)).toBe('paused'); // the fault outlives the dead worker, for now
    await startWorker(tq);
    const j = await waitForResult(fc, workflowId);
    // The new worker's guard resumes the window, finds it went unwatched for longer than guard.maxGap and
    // reverts for that, long before the window's end.
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.reason).toMatch(
      /^the guard aborted the experiment during observing: the guard was blind: the guard saw nothing for /,
    );
    expect(Date.parse(j.faults[0]!.revertedAt!)).toBeLessThan(Date.parse(j.windowEndsAt!));
    await expectRevertedOnce(j, backend, since);
  });

  it('a SIGKILLed Temporal server restarted on the same database: the run completes and reverts', async () => {
    const facts = serverFacts();
    if (!facts.managed) return expect(facts.managed, 'needs the test run to own its dev server').toBe(false);
    const tq = uniqueId('dur-server');
    const backend = stack.containers.backends[1]!;
    const since = Date.now();
    await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseOne(backend, '6s'), { taskQueue: tq });
    await waitForPhase(workflowId, 'observing');
    process.kill(facts.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await containerState(backend)).toBe('paused');
    const server = await startDevServer({
      dbFile: facts.dbFile,
      port: facts.port,
      uiPort: facts.uiPort,
      logFile: facts.logFile,
      detached: true,
    });
    writeFileSync(
      process.env.FAULTLINE_TEST_SERVER_FACTS as string,
      JSON.stringify({ ...facts, pid: server.process.pid }),
    );
    const j = await waitForResult(fc, workflowId);
    // The worker lived: passed only if its guard kept watching throughout (its attempt outlived the outage);
    // else the attempt was timed out meanwhile and the span since its last durable heartbeat is a gap.
    const c = j.guardSamples.coverage!;
    if (j.verdict === 'passed') expect(c.blind, j.reason).toBeUndefined();
    else expect(j.reason).toMatch(/the guard saw nothing for \d|samples due/);
    expect(['passed', 'aborted', 'inconclusive']).toContain(j.verdict);
    await expectRevertedOnce(j, backend, since);
  });

  it('operator abort: returns once the fault is reverted, with reason and who in the journal', async () => {
    const tq = uniqueId('dur-abort');
    const backend = stack.containers.backends[2]!;
    await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseOne(backend, '5m'), { taskQueue: tq });
    await waitForPhase(workflowId, 'observing');
    expect(await containerState(backend)).toBe('paused');
    const j = await abortExperiment(fc, workflowId, 'customer traffic spike', 'oncall-alice');
    expect(await containerState(backend)).toBe('running'); // reverted by the time the update returns
    expect(j.faults[0]?.status).toBe('reverted');
    const final = await waitForResult(fc, workflowId);
    expect(final.verdict).toBe('aborted');
    expect(final.abort).toMatchObject({ by: 'operator', reason: 'customer traffic spike', who: 'oncall-alice' });
    await expect(abortExperiment(fc, workflowId, '')).rejects.toThrow(/reason/);
  });

  it('cancelling the workflow from Temporal (UI or CLI) also reverts, and the verdict says aborted', async () => {
    const tq = uniqueId('dur-cancel');
    const backend = stack.containers.backends[0]!;
    await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseOne(backend, '5m', 'cancel me'), { taskQueue: tq });
    await waitForPhase(workflowId, 'observing');
    expect(await containerState(backend)).toBe('paused');
    await fc.client.workflow.getHandle(workflowId).cancel();
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict).toBe('aborted');
    expect(j.abort?.by).toBe('cancel');
    expect(j.faults[0]?.status).toBe('reverted');
    expect(await containerState(backend)).toBe('running');
  });

  it('revert --all (the CLI emergency stop) reverts every running experiment', async () => {
    const tq = uniqueId('dur-all');
    await startWorker(tq);
    const [b1, b2] = stack.containers.backends as [string, string];
    const a = await startExperiment(fc, pauseOne(b1, '5m', 'all-a'), { taskQueue: tq });
    const b = await startExperiment(fc, pauseOne(b2, '5m', 'all-b'), { taskQueue: tq });
    await waitForPhase(a.workflowId, 'observing');
    await waitForPhase(b.workflowId, 'observing');
    expect([await containerState(b1), await containerState(b2)]).toEqual(['paused', 'paused']);
    const cli = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), 'revert', '--all', '--reason', 'game day over', '--json'],
      {
        env: { ...process.env },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const results = JSON.parse(cli.stdout) as { workflowId: string; ok: boolean }[];
    expect(results.map((r) => r.workflowId)).toEqual(expect.arrayContaining([a.workflowId, b.workflowId]));
    expect(results.every((r) => r.ok)).toBe(true);
    expect([await containerState(b1), await containerState(b2)]).toEqual(['running', 'running']);
    for (const id of [a.workflowId, b.workflowId]) {
      const j = await waitForResult(fc, id);
      expect(j.verdict).toBe('aborted');
      expect(j.abort?.by).toBe('emergency-stop');
    }
  });
});
