// The embedded default: a local Temporal dev server under the state directory, started on demand
// and left running for later commands (the UI link must keep working). Not used with TEMPORAL_ADDRESS.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EMBEDDED_PORT, EMBEDDED_UI_PORT, STATE_DIR, temporalTarget, type TemporalTarget } from '../config.ts';
import { portOpen, startDevServer } from './dev-server.ts';

const pidFile = () => path.join(STATE_DIR, 'temporal.pid');

/** Starts the embedded server when Faultline manages Temporal and nothing answers yet. */
export async function ensureTemporal(
  target: TemporalTarget = temporalTarget(),
): Promise<{ target: TemporalTarget; started: boolean }> {
  if (!target.embedded || (await portOpen(EMBEDDED_PORT))) return { target, started: false };
  mkdirSync(STATE_DIR, { recursive: true });
  const server = await startDevServer({
    dbFile: path.join(STATE_DIR, 'temporal.db'),
    port: EMBEDDED_PORT,
    uiPort: EMBEDDED_UI_PORT,
    logFile: path.join(STATE_DIR, 'temporal.log'),
    detached: true,
  });
  writeFileSync(pidFile(), String(server.process.pid));
  return { target, started: true };
}

export async function stopEmbeddedTemporal(): Promise<boolean> {
  if (!existsSync(pidFile())) return false;
  const pid = Number(readFileSync(pidFile(), 'utf8'));
  rmSync(pidFile(), { force: true });
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false; // no such process (ESRCH): the server had stopped already, its stale pid file is gone now
  }
  for (let i = 0; i < 100 && (await portOpen(EMBEDDED_PORT)); i++) await new Promise((r) => setTimeout(r, 100));
  return true;
}
