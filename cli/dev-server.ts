// The embedded Temporal dev server: the Temporal CLI built from the Go module proxy, started with a
// persistent SQLite file so state survives restarts, with Faultline's search attributes registered.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.ts';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { InfrastructureError } from '../errors.ts';

export function temporalBinary(): string {
  const local = path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');
  if (existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((d) => path.join(d, 'temporal'))
    .find((p) => existsSync(p));
  if (onPath) return onPath;
  throw new InfrastructureError(
    'no temporal binary: run `bash scripts/setup.sh` (builds the Temporal CLI into .tools/bin)',
  );
}

export interface DevServerOptions {
  dbFile: string;
  port: number;
  uiPort: number;
  logFile?: string;
  /** Keep running after this process exits (the CLI's `dev`/`run` leave it up for later commands). */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--log-level',
    'warn',
  ];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(temporalBinary(), args, { stdio: ['ignore', out, out], detached: !!opts.detached });
  if (opts.detached) child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(opts.port))) {
    if (exited)
      throw new InfrastructureError(`temporal dev server exited at start (see ${opts.logFile ?? 'its output'})`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new InfrastructureError('temporal dev server did not open its port within 60s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    process: child,
    stop: async (signal = 'SIGTERM') => {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
