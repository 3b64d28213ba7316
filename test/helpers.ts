// Shared test fixtures: a Temporal client on the run's dev server, workers in-process or as killable
// child processes, demo experiments built from YAML, and Docker event counting.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { parseExperiment } from '../experiments/parse.ts';
import type { Experiment } from '../experiments/schema.ts';
import { PROJECT_ROOT, temporalTarget } from '../config.ts';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { stopServer, type ServerFacts } from './global-setup.ts';
import { dockerEventLog, parseEvents, type DockerEvent } from './support/docker-events.ts';

export const docker = new Dockerode();

export function serverFacts(): ServerFacts {
  return JSON.parse(readFileSync(process.env.FAULTLINE_TEST_SERVER_FACTS as string, 'utf8')) as ServerFacts;
}

export async function temporalClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(temporalTarget().connection);
  return { client: new Client({ connection, namespace: temporalTarget().namespace }), connection };
}

/**
 * A dev server of this test file's own instead of the run's shared one, for a file that kills its server
 * or acts on every run on it (SIGKILL and restart, `revert --all`), so it can run beside the other files.
 * From here on this process and the processes it spawns use it (TEMPORAL_ADDRESS, the facts file a test
 * may rewrite after a restart); stop() ends whichever process the facts file names. Against a user's own
 * cluster (TEMPORAL_ADDRESS given to the run) nothing is started and stop() does nothing.
 */
export async function ownDevServer(name: string): Promise<{ stop: () => Promise<void> }> {
  if (!serverFacts().managed) return { stop: async () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), `faultline-test-${name}-`));
  const dbFile = path.join(dir, 'temporal.db');
  const logFile = path.join(dir, 'temporal.log');
  // A port freePort found can be taken by another process before the server binds it ("address already in
  // use", the server exits at start): then again on new ports, three times at most.
  let port = 0;
  let uiPort = 0;
  let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
  for (let attempt = 1; !server; attempt++) {
    [port, uiPort] = [await freePort(), await freePort()];
    try {
      server = await startDevServer({ dbFile, port, uiPort, logFile, detached: true });
    } catch (e) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (attempt >= 3 || !log.includes('address already in use')) throw e;
      rmSync(dbFile, { force: true });
    }
  }
  const pid = server.process.pid ?? 0;
  const factsFile = path.join(dir, 'server.json');
  writeFileSync(
    factsFile,
    JSON.stringify({ address: server.address, pid, dbFile, port, uiPort, logFile, managed: true }),
  );
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: server.address,
    FAULTLINE_UI_URL: server.uiUrl,
    FAULTLINE_TEMPORAL_PORT: String(port),
    FAULTLINE_TEMPORAL_UI_PORT: String(uiPort),
    FAULTLINE_TEST_SERVER_FACTS: factsFile,
  });
  return {
    stop: async () => {
      try {
        await stopServer(factsFile);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

let bundle: Promise<{ code: string }> | undefined;
/**
 * The worker's bundle of workflows/ (webpack), built once per test run by test/global-setup.ts into the
 * content-keyed cache every worker process of the run also reads (worker/worker.ts cachedWorkflowBundle).
 */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= import('../worker/worker.ts')
    .then(({ cachedWorkflowBundle }) => cachedWorkflowBundle())
    .then(({ codePath }) => ({ code: readFileSync(codePath, 'utf8') }));
  return bundle;
}

/**
 * A worker inside the test process; stop() shuts it down and waits for it. worker/worker.ts (the SDK's
 * worker, every activity and adapter) is imported here and in workflowBundle(), not at the top: most files
 * that import these helpers never run a worker in their own process (about 0.9 s of CPU each to load).
 */
export async function inProcessWorker(taskQueue: string, env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  const { createWorker } = await import('../worker/worker.ts');
  const { worker, connection } = await createWorker({ taskQueue, worker: { workflowBundle: await workflowBundle() } });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** A worker in its own process, so a test can SIGKILL it. Resolves once it polls. */
export async function workerProcess(
  taskQueue: string,
  env: Record<string, string> = {},
): Promise<ChildProcess & { output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FAULTLINE_TASK_QUEUE: taskQueue, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 120_000;
  while (!out.includes('faultline worker ready')) {
    if (child.exitCode !== null) throw new Error(`worker exited early: ${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return Object.assign(child, { output: () => out });
}

/** Runs the CLI without blocking this process (an in-process worker must keep running meanwhile). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

export function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** The demo experiment text with the demo's prefix and port substituted, parsed and validated. */
export function demoExperiment(yaml: string, vars: { prefix: string; frontUrl: string }): Experiment {
  const text = yaml.replaceAll('${PREFIX}', vars.prefix).replaceAll('${FRONT}', vars.frontUrl);
  const r = parseExperiment(text, 'test.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

/**
 * Docker events of the given kinds for the containers since `sinceMs` (epoch ms), up to now, in order. The
 * daemon replays only its last 256 events, so those of the run are also read from the recording
 * test/global-setup.ts keeps; an event both have is counted once. Matched as the daemon's own filter does:
 * the event's actor ID (or name) starts with one of `ids`, and its action is one of `kinds`.
 */
export async function dockerEvents(
  ids: string[],
  kinds: string[],
  sinceMs: number,
): Promise<{ id: string; action: string }[]> {
  const daemon = await dockerEventLog(docker, { sinceMs, filters: { container: ids, event: kinds } });
  const file = process.env.FAULTLINE_TEST_DOCKER_EVENTS;
  const recorded = parseEvents(file && existsSync(file) ? readFileSync(file, 'utf8') : '');
  const ours = (e: DockerEvent) =>
    ids.some((id) => e.Actor?.ID?.startsWith(id) || e.Actor?.Attributes?.name?.startsWith(id));
  const events = new Map<string, DockerEvent>();
  for (const e of [...daemon, ...recorded])
    if (e.timeNano / 1e6 >= sinceMs && kinds.includes(e.Action) && ours(e))
      events.set(`${e.Actor?.ID}|${e.Action}|${e.timeNano}`, e);
  return [...events.values()]
    .sort((a, b) => a.timeNano - b.timeNano)
    .map((e) => ({ id: e.Actor?.ID ?? '', action: e.Action }));
}

export async function containerState(name: string): Promise<string> {
  const info = await docker.getContainer(name).inspect();
  return info.State.Status;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** `faultline agent ARGS` as a child process; resolves once it says it is ready (its output kept for asserts). */
export async function spawnAgent(args: string[]): Promise<ChildProcess & { output: () => string }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), 'agent', ...args], {
    cwd: PROJECT_ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  for (const end = Date.now() + 120_000; !out.includes('faultline agent ready');) {
    if (child.exitCode !== null) throw new Error(`agent exited early: ${out}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`agent did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return Object.assign(child, { output: () => out });
}
