// The torture run's blind window, with real components: the demo, a worker process, the run's Temporal dev
// server. An experiment pauses every backend for 9 s with a 500 ms guard that needs two failures in a row; the
// front waits on its frozen replicas, so one guard sample takes seconds. 7 s into the window the worker (and,
// in the second case, the Temporal server too) is SIGKILLed, and nothing is back before the window ends. The
// window was not watched to its end, so the run is not `passed`: it is `inconclusive`, naming the span after
// the guard's last look; every backend is unpaused exactly once all the same (Docker's own event log).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { summary } from '../cli/render.ts';
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
import type { Journal } from '../experiments/journal.ts';

let stack: DemoStack;
let fc: FaultlineClient;
let server: Awaited<ReturnType<typeof ownDevServer>> | undefined;
const workers: Awaited<ReturnType<typeof workerProcess>>[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

beforeAll(async () => {
  server = await ownDevServer('guard-coverage-kill'); // its own: this file SIGKILLs it
  stack = await demoUp({ prefix: uniqueId('fl-cov'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
});

afterAll(async () => {
  for (const w of workers) await killProcess(w, 'SIGTERM');
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
  await server?.stop();
});

async function startWorker(tq: string) {
  const w = await workerProcess(tq);
  workers.push(w);
  return w;
}

const pauseEvery = (title: string) =>
  demoExperiment(
    `
title: ${title}
hypothesis:
  statement: the front answers
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 5, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
targets: { labels: { faultline.demo: \${PREFIX}, faultline.role: backend }, mode: all }
method: [ { kind: container.pause, duration: 9s } ]
blastRadius: { maxTargets: 3 }
guard:
  interval: 500ms
  failuresToAbort: 2
  probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 6, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
afterCheck: { recoveryTimeout: 30s }
`,
    stack,
  );

/** The run's journal once its faults are injected (its window has begun). */
async function injected(id: string): Promise<Journal> {
  for (let i = 0; i < 1200; i++) {
    const s = await getStatus(fc, id).catch(() => undefined);
    const j = s?.journal;
    if (j?.phase === 'observing' && j.faults.length && j.faults.every((f) => f.injectedAt)) return j;
    if (s && s.status !== 'RUNNING') throw new Error(`run ended (${s.status}) before its window`);
    await sleep(100);
  }
  throw new Error('the faults were never injected');
}

/** Not passed: inconclusive, naming the span from the guard's last look to the window's end; each backend unpaused once. */
async function expectBlindToTheEnd(workflowId: string, killedAt: number, since: number): Promise<void> {
  const j = await waitForResult(fc, workflowId);
  console.log(summary(j));
  expect(j.verdict, j.reason).toBe('inconclusive');
  expect(j.reason).toMatch(
    /^observing: the fault window was not watched as scheduled: the guard saw nothing for \d+(\.\d)? s \(\S+ to \S+\), longer than guard\.maxGap 1\.5 s/,
  );
  const c = j.guardSamples.coverage!;
  expect(c.blind!.to).toBe(j.windowEndsAt);
  expect(Date.parse(c.blind!.from)).toBeLessThanOrEqual(killedAt);
  expect(c.taken).toBeLessThan(c.due);
  expect(c.share).toBeLessThan(c.minCoverage);
  expect(j.faults.map((f) => f.status)).toEqual(j.faults.map(() => 'reverted'));
  for (const b of stack.containers.backends) expect(await containerState(b)).toBe('running');
  const ids = j.faults.map((f) => f.target!.id);
  const ev = await dockerEvents(ids, ['pause', 'unpause'], since);
  for (const id of ids) expect(ev.filter((e) => e.id === id).map((e) => e.action)).toEqual(['pause', 'unpause']);
}

describe('a guard that is not back before the window ends', () => {
  it('the worker SIGKILLed 7 s into a 9 s window, a new one only after it: inconclusive, not passed', async () => {
    const tq = uniqueId('cov-worker');
    const since = Date.now();
    const first = await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseEvery('blind after a worker kill'), { taskQueue: tq });
    const j0 = await injected(workflowId);
    const start = Math.min(...j0.faults.map((f) => Date.parse(f.injectedAt!)));
    await sleep(start + 7_000 - Date.now());
    const killedAt = Date.now();
    await killProcess(first, 'SIGKILL');
    await sleep(Date.parse(j0.windowEndsAt!) + 500 - Date.now());
    await startWorker(tq);
    await expectBlindToTheEnd(workflowId, killedAt, since);
  });

  it('the worker and the Temporal server SIGKILLed 7 s into a 9 s window, both back only after it: inconclusive', async () => {
    const facts = serverFacts();
    if (!facts.managed) return expect(facts.managed, 'needs the test run to own its dev server').toBe(false);
    const tq = uniqueId('cov-server');
    const since = Date.now();
    const first = await startWorker(tq);
    const { workflowId } = await startExperiment(fc, pauseEvery('blind after a worker and server kill'), {
      taskQueue: tq,
    });
    const j0 = await injected(workflowId);
    const start = Math.min(...j0.faults.map((f) => Date.parse(f.injectedAt!)));
    await sleep(start + 7_000 - Date.now());
    const killedAt = Date.now();
    process.kill(facts.pid, 'SIGKILL');
    await killProcess(first, 'SIGKILL');
    await sleep(Date.parse(j0.windowEndsAt!) + 500 - Date.now());
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
    await startWorker(tq);
    await expectBlindToTheEnd(workflowId, killedAt, since);
  });
});
