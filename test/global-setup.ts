// One Temporal dev server for the whole test run (or the user's cluster when TEMPORAL_ADDRESS is set),
// and a check that the Docker daemon answers. Server facts go to a JSON file (a file with a server of its
// own, test/helpers.ts ownDevServer, writes its own); teardown stops whichever process the file names.
// What every e2e file would otherwise build for itself is built here once, while the server starts: the
// workflow bundle (webpack, into the cache every worker process of the run reads) and the demo image.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { removeWarden } from '../activities/adapters/warden-container.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { PROJECT_ROOT, STATE_DIR, WARDEN_DIR } from '../config.ts';

export interface ServerFacts {
  address: string;
  pid: number;
  dbFile: string;
  port: number;
  uiPort: number;
  logFile: string;
  managed: boolean;
}

let factsFile = '';
let dir = '';
let stopRecording: (() => void) | undefined;

export async function setup(): Promise<void> {
  // Several projects (e2e, e2e-alone-*) name this file: the first one to start sets the run up, for all.
  if (process.env.FAULTLINE_TEST_SERVER_FACTS) return;
  await new Dockerode().ping().catch((e: unknown) => {
    throw new Error(`the Docker daemon does not answer (${String(e)}): run bash scripts/setup.sh`);
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-test-'));
  factsFile = path.join(dir, 'server.json');
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  process.env.FAULTLINE_TEST_DOCKER_EVENTS = path.join(dir, 'docker-events.jsonl');
  stopRecording = await recordDockerEvents(process.env.FAULTLINE_TEST_DOCKER_EVENTS);
  const built = Promise.all([buildWorkflowBundle(stateDir), ensureDemoImage(new Dockerode())]);
  built.catch(() => undefined); // awaited below, after the server started
  let facts: ServerFacts;
  if (process.env.TEMPORAL_ADDRESS) {
    facts = {
      address: process.env.TEMPORAL_ADDRESS,
      pid: 0,
      dbFile: '',
      port: 0,
      uiPort: 0,
      logFile: '',
      managed: false,
    };
  } else {
    const port = await freePort();
    const uiPort = await freePort();
    const dbFile = path.join(dir, 'temporal.db');
    const logFile = path.join(dir, 'temporal.log');
    const server = await startDevServer({ dbFile, port, uiPort, logFile, detached: true });
    facts = { address: server.address, pid: server.process.pid ?? 0, dbFile, port, uiPort, logFile, managed: true };
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.FAULTLINE_UI_URL = server.uiUrl;
  }
  // Tests never touch what a user has running: their own state directory (demo.json, wardens, screenshots),
  // demo name and ports, and the embedded-server ports pointed at this run's server.
  process.env.FAULTLINE_STATE_DIR = stateDir;
  process.env.FAULTLINE_DEMO_PREFIX = `fl-test-${process.pid}`;
  process.env.FAULTLINE_DEMO_PORT = String(await freePort());
  process.env.FAULTLINE_DEMO_PROXY_PORT = String(await freePort());
  if (facts.managed) {
    process.env.FAULTLINE_TEMPORAL_PORT = String(facts.port);
    process.env.FAULTLINE_TEMPORAL_UI_PORT = String(facts.uiPort);
  }
  writeFileSync(factsFile, JSON.stringify(facts));
  process.env.FAULTLINE_TEST_SERVER_FACTS = factsFile;
  await built;
}

/**
 * Docker keeps only its last 256 events (`docker events --since` replays no more): with files side by side
 * (and anyone else on the daemon) a test reading a fault's events back could miss them. Every container and
 * network event from the run's start goes to a file instead, which test/helpers.ts dockerEvents reads.
 */
async function recordDockerEvents(file: string): Promise<() => void> {
  const stream = (await new Dockerode().getEvents({
    since: Math.floor(Date.now() / 1000) - 1,
    filters: { type: ['container', 'network'] },
  })) as NodeJS.ReadableStream & { destroy: () => void };
  const out = createWriteStream(file, { flags: 'a' });
  stream.pipe(out);
  return () => {
    stream.unpipe(out);
    stream.destroy();
    out.end();
  };
}

/**
 * The run's state directory shares the project's bundle cache (.state/cache: keyed by the text of every
 * bundled file and the lock file, written atomically), so a second run with unchanged workflows builds
 * nothing. Built in a child process: the bundler wants a Temporal runtime, which this (vitest's) process
 * should not carry.
 */
async function buildWorkflowBundle(stateDir: string): Promise<void> {
  const shared = path.join(STATE_DIR, 'cache');
  mkdirSync(shared, { recursive: true });
  symlinkSync(shared, path.join(stateDir, 'cache'));
  const code = `const { cachedWorkflowBundle } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'worker', 'worker.ts'))}); await cachedWorkflowBundle();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FAULTLINE_STATE_DIR: stateDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const status = await new Promise<number | null>((r) => child.once('exit', r));
  if (status !== 0) throw new Error(`bundling workflows/ failed (exit ${status}): ${err}`);
}

/** Stops the dev server a facts file names (SIGTERM, then SIGKILL after 5 s), if the run started it. */
export async function stopServer(file: string): Promise<void> {
  const facts = JSON.parse(readFileSync(file, 'utf8')) as ServerFacts;
  if (!facts.managed || !facts.pid) return;
  try {
    process.kill(facts.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(facts.pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(facts.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export async function teardown(): Promise<void> {
  if (!dir) return; // the other project's setup set the run up
  stopRecording?.();
  // Workers of this run started the warden of the run's ledger (under the state directory set above, which
  // config.ts's WARDEN_DIR, read before setup, does not know); it has a restart policy, so remove it.
  const stateDir = process.env.FAULTLINE_STATE_DIR;
  await removeWarden({
    dir: process.env.FAULTLINE_WARDEN_DIR ?? (stateDir ? path.join(stateDir, 'warden') : WARDEN_DIR),
  });
  try {
    await stopServer(factsFile);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
