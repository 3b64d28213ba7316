// Worker wiring: Temporal connection, the activities with their ports, and shutdown.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { createControlActivities } from '../activities/control.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createLeaseLedger } from '../activities/adapters/lease-ledger.ts';
import { ensureWarden } from '../activities/adapters/warden-container.ts';
import { createProxyPort } from './proxy-port.ts';
import { createSweepActivities } from '../activities/sweep.ts';
import { sweepDeps } from './sweep-deps.ts';
import {
  DEFAULT_TASK_QUEUE,
  PROJECT_ROOT,
  STATE_DIR,
  WARDEN_DIR,
  temporalTarget,
  type TemporalTarget,
} from '../config.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** A project source file inside a workflow bundle, with the text the bundle was built from. */
export interface BundledSource {
  file: string; // relative to PROJECT_ROOT, e.g. "workflows/experiment.ts"
  text: string;
}

/**
 * The project's source files a bundle contains, read from its inline source map: webpack lists every module
 * it bundled with its text, so this is the bundle's actual module graph (type-only imports are not in it).
 */
export function bundledSources(code: string): BundledSource[] {
  const m = /\/\/# sourceMappingURL=data:application\/json;[^,]*,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m?.[1]) throw new Error('the workflow bundle has no inline source map');
  const map = JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')) as {
    sources: string[];
    sourcesContent?: (string | null)[];
  };
  return map.sources
    .flatMap((source, i): BundledSource[] => {
      const file = path.relative(PROJECT_ROOT, source);
      const text = map.sourcesContent?.[i];
      const ours = !file.startsWith('..') && !path.isAbsolute(file) && !file.split(path.sep).includes('node_modules');
      return ours && file.endsWith('.ts') && typeof text === 'string' ? [{ file, text }] : [];
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** Cache key of a bundle: its project files (names and text) and the locked dependency versions. */
export function workflowBundleKey(sources: BundledSource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.file}\0`).update(s.text).update('\0');
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

interface BundleManifest {
  key: string;
  files: string[];
}

/**
 * The workflow bundle, reused from the state directory while the files it contains are unchanged: a
 * restarted worker (after a crash) is polling again in about half the time. The manifest lists the files
 * the last bundle was built from (its source map); the key is their current text, so a change to any
 * bundled file, and only to one, rebuilds it.
 */
export async function cachedWorkflowBundle(): Promise<{ codePath: string }> {
  const dir = path.join(STATE_DIR, 'cache');
  const manifestPath = path.join(dir, 'workflow-bundle.json');
  const bundlePath = (key: string) => path.join(dir, `workflow-bundle-${key}.js`);
  const last = readManifest(manifestPath);
  if (last) {
    const current = last.files.map((file) => {
      const abs = path.join(PROJECT_ROOT, file);
      return existsSync(abs) ? { file, text: readFileSync(abs, 'utf8') } : undefined;
    });
    if (current.every((s) => s !== undefined)) {
      const key = workflowBundleKey(current);
      if (key === last.key && existsSync(bundlePath(key))) return { codePath: bundlePath(key) };
    }
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger });
  const sources = bundledSources(code);
  const key = workflowBundleKey(sources);
  mkdirSync(dir, { recursive: true });
  // Atomic renames: concurrent workers never read half a bundle or half a manifest.
  writeAtomic(bundlePath(key), code);
  writeAtomic(manifestPath, JSON.stringify({ key, files: sources.map((s) => s.file) } satisfies BundleManifest));
  return { codePath: bundlePath(key) };
}

function readManifest(file: string): BundleManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<BundleManifest>;
    return typeof m.key === 'string' && Array.isArray(m.files) ? { key: m.key, files: m.files.map(String) } : undefined;
  } catch {
    return undefined; // none yet, or unreadable: rebuild
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function defaultPorts(): Ports {
  return { containers: createDockerContainerPort(), proxy: createProxyPort(), leases: createLeaseLedger(WARDEN_DIR) };
}

/**
 * The default ports, with the local daemon's warden started (or found) first. Without a warden the worker
 * still runs: proxy faults work, and container faults are refused before anything is injected.
 */
export async function defaultPortsWithWarden(): Promise<Ports> {
  try {
    await ensureWarden({ dir: WARDEN_DIR });
  } catch (e) {
    Runtime.instance().logger.warn(`no warden: container faults will be refused (${(e as Error).message})`);
  }
  return defaultPorts();
}

export interface FaultlineWorkerOptions {
  target?: TemporalTarget;
  taskQueue?: string;
  ports?: Ports;
  /** Extra activity dependencies (tests wrap the guard's link to its run). */
  activityDeps?: ActivityDeps;
  /** Called once the worker polls. */
  onReady?: () => void;
  /** Stops the worker gracefully when aborted (in-process workers of `run --worker` and quickstart). */
  signal?: AbortSignal;
  /** Extra Worker options (e.g. a prebuilt workflowBundle in tests). */
  worker?: Partial<WorkerOptions>;
}

let runtimeReady = false;
/** Quiet SDK logs by default (FAULTLINE_LOG_LEVEL=INFO or DEBUG for more); once per process. */
function installRuntime(): void {
  if (runtimeReady) return;
  runtimeReady = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.FAULTLINE_LOG_LEVEL ?? 'WARN') as LogLevel) });
  } catch {
    /* already installed by the host process */
  }
}

export async function createWorker(
  opts: FaultlineWorkerOptions = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime();
  const target = opts.target ?? temporalTarget();
  const { apiKey, ...rest } = target.connection;
  const connection = await NativeConnection.connect({
    ...rest,
    apiKey: typeof apiKey === 'function' ? apiKey() : apiKey,
  });
  const ports = opts.ports ?? (await defaultPortsWithWarden());
  const client = new Client({ connection, namespace: target.namespace });
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: {
      ...createActivities(ports, opts.activityDeps),
      // A Client on the worker's own connection, for admission and schedules.
      ...createControlActivities(client),
      // The orphan sweep (workflows/sweep.ts): this worker's host, its warden's ledger, the fault proxy.
      ...createSweepActivities(sweepDeps(client, ports)),
    },
    // Flush heartbeats at least every 500 ms, so an abort reaches the guard activity that fast.
    maxHeartbeatThrottleInterval: '500ms',
    // If this worker dies, its runs' next workflow tasks move to a live worker after 2 s, not 10 s.
    stickyQueueScheduleToStartTimeout: '2s',
    workflowBundle: opts.worker?.workflowBundle ?? (await cachedWorkflowBundle()),
    ...opts.worker,
  });
  return { worker, connection };
}

/** Runs until SIGINT/SIGTERM (the SDK's shutdown signals), then drains and closes the connection. */
export async function runWorker(opts: FaultlineWorkerOptions = {}): Promise<void> {
  const { worker, connection } = await createWorker(opts);
  const ready = setInterval(() => {
    if (worker.getState() !== 'RUNNING') return;
    clearInterval(ready);
    opts.onReady?.();
  }, 50);
  try {
    await (opts.signal
      ? worker.runUntil(new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true })))
      : worker.run());
  } finally {
    clearInterval(ready);
    await connection.close();
  }
}
