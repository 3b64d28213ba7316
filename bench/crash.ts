// npm run bench:crash — does the fault outlive its runner? Faultline against Chaos Toolkit (PyPI), one run.
// Each tool pauses one demo backend for 60 s, then:
//   1. the runner is SIGKILLed 1 s into the fault (for Faultline a new worker is started at once, as a
//      supervisor would); measured: SIGKILL -> container running again, or "leaked" if still paused
//      after 30 s;
//   2. an operator aborts 1 s into the fault (Faultline: `abort`; Chaos Toolkit: Ctrl-C, i.e. SIGINT,
//      with its default rollback strategy); measured: abort -> container running again.
// Writes bench/results/crash.json and prints a table. Chaos Toolkit is installed into .tools/ctk (never
// committed). Loopback and our own containers only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { demoDown, demoUp } from '../demo/index.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { abortExperiment, connectClient, getStatus, startExperiment, waitForResult } from '../cli/client.ts';
import { freePort, startDevServer, type DevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';

const docker = new Dockerode();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEAK_AFTER_MS = 30_000;
const CTK = path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'chaos');

function ensureChaosToolkit(): void {
  if (existsSync(CTK)) return;
  console.log('installing Chaos Toolkit from PyPI into .tools/ctk …');
  const venv = spawnSync('python3', ['-m', 'venv', path.join(PROJECT_ROOT, '.tools', 'ctk')], { stdio: 'inherit' });
  const pip =
    venv.status === 0 &&
    spawnSync(path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'pip'), ['install', '-q', 'chaostoolkit'], {
      stdio: 'inherit',
    });
  if (!pip || pip.status !== 0) throw new Error('could not install chaostoolkit');
}

async function state(name: string): Promise<string> {
  return (await docker.getContainer(name).inspect()).State.Status;
}

async function waitState(name: string, want: string, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if ((await state(name)) === want) return Date.now() - t0;
    await sleep(20);
  }
  return undefined;
}

function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

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

function ctkExperiment(backend: string, frontUrl: string): object {
  return {
    version: '1.0.0',
    title: 'pause one backend',
    description: "the same fault as Faultline's run",
    'steady-state-hypothesis': {
      title: 'front answers',
      probes: [
        { type: 'probe', name: 'front', tolerance: 200, provider: { type: 'http', url: `${frontUrl}/`, timeout: 2 } },
      ],
    },
    method: [
      {
        type: 'action',
        name: 'pause',
        provider: { type: 'process', path: 'docker', arguments: ['pause', backend] },
        pauses: { after: 60 },
      },
    ],
    rollbacks: [
      {
        type: 'action',
        name: 'unpause',
        provider: { type: 'process', path: 'docker', arguments: ['unpause', backend] },
      },
    ],
  };
}

interface Row {
  tool: string;
  scenario: string;
  revertedAfterMs?: number;
  leaked: boolean;
  note: string;
}

async function chaosToolkit(
  scenario: 'sigkill' | 'abort',
  backend: string,
  frontUrl: string,
  dir: string,
): Promise<Row> {
  const file = path.join(dir, `ctk-${scenario}.json`);
  writeFileSync(file, JSON.stringify(ctkExperiment(backend, frontUrl)));
  const child = spawn(
    CTK,
    [
      '--no-version-check',
      '--log-file',
      path.join(dir, `ctk-${scenario}.log`),
      'run',
      '--journal-path',
      path.join(dir, `journal-${scenario}.json`),
      file,
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  if ((await waitState(backend, 'paused', 60_000)) === undefined)
    throw new Error('chaos toolkit never paused the backend');
  await sleep(1000);
  const t0 = Date.now();
  if (scenario === 'sigkill') await killed(child, 'SIGKILL');
  else child.kill('SIGINT');
  const back = await waitState(backend, 'running', LEAK_AFTER_MS);
  await killed(child, 'SIGKILL');
  if (back === undefined) await docker.getContainer(backend).unpause(); // clean up what the peer leaked
  return {
    tool: 'Chaos Toolkit 1.19 (default rollback strategy)',
    scenario: scenario === 'sigkill' ? 'runner SIGKILLed mid-fault' : 'operator abort (Ctrl-C)',
    revertedAfterMs: back === undefined ? undefined : Date.now() - t0,
    leaked: back === undefined,
    note: back === undefined ? `still paused ${LEAK_AFTER_MS / 1000} s later; rollback never ran` : 'rollback ran',
  };
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
  const out = path.join(PROJECT_ROOT, 'bench', 'results', 'crash.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, leakWindowMs: LEAK_AFTER_MS, rows }, null, 2)}\n`,
  );
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
