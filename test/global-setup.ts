// One Temporal dev server for the whole test run (or the user's cluster when TEMPORAL_ADDRESS is set),
// and a check that the Docker daemon answers. Server facts go to a JSON file so the server-kill suite
// can SIGKILL it and restart it on the same database; teardown stops whichever process is current.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { removeWarden } from '../activities/adapters/warden-container.ts';
import { WARDEN_DIR } from '../config.ts';

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

export async function setup(): Promise<void> {
  await new Dockerode().ping().catch((e: unknown) => {
    throw new Error(`the Docker daemon does not answer (${String(e)}): run bash scripts/setup.sh`);
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-test-'));
  factsFile = path.join(dir, 'server.json');
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
  // Tests never touch what a user has running: their own state directory (demo.json, bundles, screenshots),
  // demo name and ports, and the embedded-server ports pointed at this run's server.
  process.env.FAULTLINE_STATE_DIR = path.join(dir, 'state');
  mkdirSync(process.env.FAULTLINE_STATE_DIR);
  process.env.FAULTLINE_DEMO_PREFIX = `fl-test-${process.pid}`;
  process.env.FAULTLINE_DEMO_PORT = String(await freePort());
  process.env.FAULTLINE_DEMO_PROXY_PORT = String(await freePort());
  if (facts.managed) {
    process.env.FAULTLINE_TEMPORAL_PORT = String(facts.port);
    process.env.FAULTLINE_TEMPORAL_UI_PORT = String(facts.uiPort);
  }
  writeFileSync(factsFile, JSON.stringify(facts));
  process.env.FAULTLINE_TEST_SERVER_FACTS = factsFile;
}

export async function teardown(): Promise<void> {
  // Workers of this run started the warden of the run's ledger (under the state directory set above, which
  // config.ts's WARDEN_DIR, read before setup, does not know); it has a restart policy, so remove it.
  const stateDir = process.env.FAULTLINE_STATE_DIR;
  await removeWarden({
    dir: process.env.FAULTLINE_WARDEN_DIR ?? (stateDir ? path.join(stateDir, 'warden') : WARDEN_DIR),
  });
  try {
    const facts = JSON.parse(readFileSync(factsFile, 'utf8')) as ServerFacts;
    if (facts.managed && facts.pid) {
      try {
        process.kill(facts.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(facts.pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        process.kill(facts.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
