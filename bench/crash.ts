// npm run bench:crash — does the fault outlive its runner? Faultline against Chaos Toolkit (PyPI), one run.
// Each tool pauses one demo backend for 60 s, then:
//   1. the runner is SIGKILLed 1 s into the fault (for Faultline a new worker is started at once, as a
//      supervisor would); measured: SIGKILL -> container running again, or "leaked" if still paused
//      after 30 s;
//   2. an operator aborts 1 s into the fault (Faultline: `abort`; Chaos Toolkit: Ctrl-C, i.e. SIGINT,
//      with its default rollback strategy); measured: abort -> container running again.
// Writes bench/results/crash.json and prints a table. Chaos Toolkit is installed into .tools/ctk (never
// committed). Loopback and our own containers only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoDown, demoUp } from '../demo/index.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { abortExperiment, connectClient, getStatus, startExperiment, waitForResult } from '../cli/client.ts';
import { freePort, startDevServer, type DevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import { runBench, writeResults } from './results-file.ts';
import { chaosToolkit, ensureChaosToolkit, killed, LEAK_AFTER_MS, waitState, type Row } from './ctk.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workerProcess(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FAULTLINE_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('faultline worker ready')) resolve();
    });
    child.once('exit', () => reject(new Error('worker exited')));
  });
  return child;
}

async function faultline(scenario: 'sigkill' | 'abort', backend: string, frontUrl: string): Promise<Row> {
  const taskQueue = `bench-crash-${scenario}-${process.pid}`;
  const fc = await connectClient();
  let worker = await workerProcess(taskQueue);
  try {
    const r = parseExperiment(
      `
title: bench crash ${scenario}
hypothesis: { statement: the front answers, probes: [ { name: front, type: http, url: "${frontUrl}/", requests: 5 } ] }
targets: { names: [ "${backend}" ] }
method: [ { kind: container.pause, duration: 60s } ]
`,
      'bench',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const { workflowId } = await startExperiment(fc, r.experiment, { taskQueue });
    while ((await getStatus(fc, workflowId)).journal?.phase !== 'observing') await sleep(50);
    await sleep(1000);
    const t0 = Date.now();
    if (scenario === 'sigkill') {
      await killed(worker, 'SIGKILL');
      worker = await workerProcess(taskQueue); // the supervisor's restart
      // The fault is held until the window or an abort ends it; what matters is that a new worker
      // can revert it: abort through the new worker and time the whole path.
      void abortExperiment(fc, workflowId, 'bench: runner was killed', 'bench').catch(() => undefined);
    } else {
      void abortExperiment(fc, workflowId, 'bench: operator abort', 'bench').catch(() => undefined);
    }
    const back = await waitState(backend, 'running', LEAK_AFTER_MS);
    await waitForResult(fc, workflowId);
    return {
      tool: 'Faultline',
      scenario: scenario === 'sigkill' ? 'runner SIGKILLed mid-fault' : 'operator abort',
      revertedAfterMs: back === undefined ? undefined : Date.now() - t0,
      leaked: back === undefined,
      note:
        scenario === 'sigkill' ? 'includes starting the replacement worker' : 'abort update returns after the revert',
    };
  } finally {
    await killed(worker, 'SIGTERM');
    await fc.close();
  }
}

async function main(): Promise<void> {
  ensureChaosToolkit();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-crash-'));
  let server: DevServer | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    server = await startDevServer({
      dbFile: path.join(dir, 'temporal.db'),
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(dir, 'temporal.log'),
    });
    process.env.TEMPORAL_ADDRESS = server.address;
  }
  const prefix = `fl-crash-${process.pid}`;
  const stack = await demoUp({ prefix, frontPort: await freePort(), proxyAdminPort: await freePort() });
  const backend = stack.containers.backends[0] as string;
  const rows: Row[] = [];
  try {
    for (const scenario of ['sigkill', 'abort'] as const) {
      rows.push(await faultline(scenario, backend, stack.frontUrl));
      rows.push(await chaosToolkit(scenario, backend, stack.frontUrl, dir));
    }
  } finally {
    await demoDown({ prefix });
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    '\ntool                                            | scenario                    | fault gone after | leaked',
  );
  for (const r of rows) {
    console.log(
      `${r.tool.padEnd(47)} | ${r.scenario.padEnd(27)} | ${(r.revertedAfterMs === undefined ? 'never (>30 s)' : `${r.revertedAfterMs} ms`).padEnd(16)} | ${r.leaked ? 'YES' : 'no'}  (${r.note})`,
    );
  }
  writeResults('crash', { leakWindowMs: LEAK_AFTER_MS, rows });
}

runBench(main);
