// Admission control end to end: the real dev server, the real Docker daemon, the demo target. Each test
// has its own task queue, hence its own admission workflow. Overlap is judged from Docker's event log.
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { admissionState, applyPolicy, approveRun } from '../cli/admission.ts';
import {
  containerState,
  demoExperiment,
  docker,
  dockerEvents,
  inProcessWorker,
  killProcess,
  ownDevServer,
  runCli,
  uniqueId,
  workerProcess,
} from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';

let stack: DemoStack;
let fc: FaultlineClient;
const stops: (() => Promise<void>)[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-admission-'));

beforeAll(async () => {
  // Its own server: the safety lever aborts every running experiment on it, the other files' too.
  stops.push((await ownDevServer('admission')).stop);
  stack = await demoUp({ prefix: uniqueId('fl-adm'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
});

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

async function worker(tq: string) {
  const w = await inProcessWorker(tq, {
    FAULTLINE_PROXY_URL: stack.proxyAdminUrl ?? '',
    FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '',
  });
  stops.push(w.stop);
  return w;
}

/** Pauses one named backend; waits up to `wait` for admission. */
function pauseOne(backend: string, duration: string, title: string, wait = '0s', environment = 'test') {
  return demoExperiment(
    `
title: ${title}
environment: ${environment}
hypothesis:
  statement: the front answers while one backend is frozen
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 5, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
targets: { names: [ ${backend} ], mode: one }
method: [ { kind: container.pause, duration: ${duration} } ]
admission: { wait: ${wait} }
guard:
  interval: 250ms
  failuresToAbort: 3
  probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 2, timeout: 500ms, tolerance: { maxErrorRate: 0.5 } } ]
`,
    stack,
  );
}

async function waitForPhase(id: string, phase: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const s = await getStatus(fc, id).catch(() => undefined);
    if (s?.journal?.phase === phase) return;
    if (s && s.status !== 'RUNNING') throw new Error(`run ended (${s.status}) before phase ${phase}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`phase ${phase} not reached`);
}

async function holdsOf(tq: string): Promise<string[]> {
  return (await admissionState(fc, tq)).holds.map((h) => h.workflowId);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

describe('admission', () => {
  it('two runs on one target: the second waits for the first to revert; Docker shows the faults never overlapped', async () => {
    const tq = uniqueId('adm-excl');
    await worker(tq);
    // Both runs select the target while it runs; approvals then order them deterministically.
    await applyPolicy(
      fc,
      { exclusiveTargets: true, environments: { gated: { requireApproval: true } }, blackouts: [] },
      tq,
    );
    const backend = stack.containers.backends[0]!;
    const id = (await docker.getContainer(backend).inspect()).Id;
    const since = Date.now();
    const a = await startExperiment(fc, pauseOne(backend, '3s', 'first', '2m', 'gated'), { taskQueue: tq });
    const b = await startExperiment(fc, pauseOne(backend, '1s', 'second', '2m', 'gated'), { taskQueue: tq });
    await waitForPhase(a.workflowId, 'admitting');
    await waitForPhase(b.workflowId, 'admitting');
    const approved = await runCli(['admission', 'approve', a.workflowId, '--who', 'lead', '--task-queue', tq]);
    expect(approved.status, approved.stderr).toBe(0);
    await waitForPhase(a.workflowId, 'observing');
    await approveRun(fc, b.workflowId, 'lead', tq);
    await eventually(
      async () => (await holdsOf(tq)).length === 1 && (await containerState(backend)) === 'paused',
      'a holds',
    );
    expect(await holdsOf(tq)).toEqual([a.workflowId]);
    expect((await getStatus(fc, b.workflowId)).journal?.phase).toBe('admitting'); // approved, but the target is held
    const [ja, jb] = [await waitForResult(fc, a.workflowId), await waitForResult(fc, b.workflowId)];
    expect(ja.verdict, ja.reason).toBe('passed');
    expect(jb.verdict, jb.reason).toBe('passed');
    expect(Date.parse(jb.faults[0]!.injectedAt!)).toBeGreaterThanOrEqual(Date.parse(ja.faults[0]!.revertedAt!));
    // Docker's own log: strictly alternating, so the two pauses never overlapped.
    const ev = await dockerEvents([id], ['pause', 'unpause'], since);
    expect(ev.map((e) => e.action)).toEqual(['pause', 'unpause', 'pause', 'unpause']);
    await eventually(async () => (await holdsOf(tq)).length === 0, 'holds released');
  });

  it('a run on a held proxy route with no wait is not-started, naming the holder', async () => {
    const tq = uniqueId('adm-route');
    await worker(tq);
    const latency = (title: string, duration: string) =>
      demoExperiment(
        `
title: ${title}
hypothesis:
  statement: the front answers
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 2, timeout: 3s, tolerance: { maxErrorRate: 0 } } ]
method: [ { kind: proxy.latency, proxy: backend-2, latency: 50ms, duration: ${duration} } ]
`,
        stack,
      );
    const a = await startExperiment(fc, latency('route holder', '4s'), { taskQueue: tq });
    await waitForPhase(a.workflowId, 'observing');
    const c = await startExperiment(fc, latency('route impatient', '1s'), { taskQueue: tq });
    const jc = await waitForResult(fc, c.workflowId);
    expect(jc.verdict).toBe('not-started');
    expect(jc.reason).toContain('proxy route backend-2 is held by');
    expect(jc.reason).toContain(a.workflowId);
    expect(jc.faults.every((f) => !f.handle)).toBe(true);
    expect((await waitForResult(fc, a.workflowId)).verdict).toBe('passed');
  });

  it('a blackout window refuses a run with a message naming the window; nothing is injected', async () => {
    const tq = uniqueId('adm-blackout');
    await worker(tq);
    const file = path.join(dir, 'freeze.yaml');
    writeFileSync(
      file,
      `kind: Policy
blackouts:
  - name: year-end freeze
    from: 2020-01-01T00:00:00Z
    until: 2099-01-01T00:00:00Z
`,
    );
    const applied = await runCli(['policy', 'apply', file, '--task-queue', tq, '--json']);
    expect(applied.status, applied.stderr).toBe(0);
    const backend = stack.containers.backends[1]!;
    const since = Date.now();
    const r = await startExperiment(fc, pauseOne(backend, '2s', 'in the freeze'), { taskQueue: tq });
    const j = await waitForResult(fc, r.workflowId);
    expect(j.verdict).toBe('not-started');
    expect(j.reason).toContain('blackout window "year-end freeze"');
    const id = (await docker.getContainer(backend).inspect()).Id;
    expect(await dockerEvents([id], ['pause', 'unpause'], since)).toEqual([]);
  });

  it('the safety lever aborts two running experiments (reverted before it returns) and refuses a third', async () => {
    const tq = uniqueId('adm-lever');
    await worker(tq);
    const [b1, b2] = stack.containers.backends as [string, string];
    const x = await startExperiment(fc, pauseOne(b1, '5m', 'lever-x'), { taskQueue: tq });
    const y = await startExperiment(fc, pauseOne(b2, '5m', 'lever-y'), { taskQueue: tq });
    await waitForPhase(x.workflowId, 'observing');
    await waitForPhase(y.workflowId, 'observing');
    expect([await containerState(b1), await containerState(b2)]).toEqual(['paused', 'paused']);
    const pulled = await runCli([
      'lever',
      'pull',
      '--reason',
      'incident 42',
      '--who',
      'oncall',
      '--task-queue',
      tq,
      '--json',
    ]);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect([await containerState(b1), await containerState(b2)]).toEqual(['running', 'running']);
    const out = JSON.parse(pulled.stdout) as { reverted: { workflowId: string; ok: boolean }[] };
    expect(out.reverted.map((r) => r.workflowId)).toEqual(expect.arrayContaining([x.workflowId, y.workflowId]));
    for (const id of [x.workflowId, y.workflowId]) expect((await waitForResult(fc, id)).verdict).toBe('aborted');
    const z = await startExperiment(fc, pauseOne(b1, '2s', 'lever-z', '30s'), { taskQueue: tq });
    const jz = await waitForResult(fc, z.workflowId);
    expect(jz.verdict).toBe('not-started');
    expect(jz.reason).toMatch(/safety lever is pulled by oncall .*incident 42/);
    const released = await runCli(['lever', 'release', '--task-queue', tq, '--json']);
    expect(released.status, released.stderr).toBe(0);
    expect((await admissionState(fc, tq)).lever).toBeUndefined();
  });

  it('SIGKILL the worker while a run waits in admission: both runs finish, one after the other, nothing stays held', async () => {
    const tq = uniqueId('adm-kill');
    const first = await workerProcess(tq);
    stops.push(() => killProcess(first, 'SIGKILL'));
    const backend = stack.containers.backends[2]!;
    const id = (await docker.getContainer(backend).inspect()).Id;
    const since = Date.now();
    await applyPolicy(
      fc,
      { exclusiveTargets: true, environments: { gated: { requireApproval: true } }, blackouts: [] },
      tq,
    );
    const a = await startExperiment(fc, pauseOne(backend, '4s', 'kill-holder', '2m', 'gated'), { taskQueue: tq });
    const b = await startExperiment(fc, pauseOne(backend, '1s', 'kill-waiter', '2m', 'gated'), { taskQueue: tq });
    await waitForPhase(b.workflowId, 'admitting');
    await approveRun(fc, a.workflowId, 'lead', tq);
    await waitForPhase(a.workflowId, 'observing');
    await approveRun(fc, b.workflowId, 'lead', tq);
    await killProcess(first, 'SIGKILL');
    const second = await workerProcess(tq);
    stops.push(() => killProcess(second, 'SIGTERM'));
    const [ja, jb] = [await waitForResult(fc, a.workflowId), await waitForResult(fc, b.workflowId)];
    // The holder's guard died with the worker as its window began: that window went unwatched, never passed.
    expect(['aborted', 'inconclusive'], ja.reason).toContain(ja.verdict);
    expect(ja.reason).toMatch(/the guard saw nothing for /);
    expect(jb.verdict, jb.reason).toBe('passed');
    const ev = await dockerEvents([id], ['pause', 'unpause'], since);
    expect(ev.map((e) => e.action)).toEqual(['pause', 'unpause', 'pause', 'unpause']);
    await eventually(async () => (await holdsOf(tq)).length === 0, 'holds released');
  });

  it('a run that ends without releasing (terminated) holds nothing: the next run on its target is admitted', async () => {
    const tq = uniqueId('adm-term');
    await worker(tq);
    const backend = stack.containers.backends[0]!;
    const a = await startExperiment(fc, pauseOne(backend, '5m', 'terminated holder'), { taskQueue: tq });
    await waitForPhase(a.workflowId, 'observing');
    expect(await holdsOf(tq)).toEqual([a.workflowId]);
    await fc.client.workflow.getHandle(a.workflowId).terminate('simulated crash of the run');
    await docker.getContainer(backend).unpause(); // terminate skips reverts: that is why it is the crash case
    const b = await startExperiment(fc, pauseOne(backend, '1s', 'after the crash'), { taskQueue: tq });
    const jb = await waitForResult(fc, b.workflowId);
    expect(jb.verdict, jb.reason).toBe('passed');
    await eventually(async () => (await holdsOf(tq)).length === 0, 'holds released');
  });
});
