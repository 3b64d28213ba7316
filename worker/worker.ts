// Worker wiring: Temporal connection, the activities with their ports, and shutdown.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createProxyPort } from './proxy-port.ts';
import { DEFAULT_TASK_QUEUE, PROJECT_ROOT, STATE_DIR, temporalTarget, type TemporalTarget } from '../config.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The workflow bundle, built once per version of the workflow sources and reused from the state
 * directory: a restarted worker (after a crash) is polling again in about half the time.
 */
export async function cachedWorkflowBundle(): Promise<{ codePath: string }> {
  const hash = createHash('sha256');
  for (const dir of ['workflows', 'experiments']) {
    for (const f of readdirSync(path.join(PROJECT_ROOT, dir))
      .filter((n) => n.endsWith('.ts'))
      .sort()) {
      hash.update(`${dir}/${f}\0`).update(readFileSync(path.join(PROJECT_ROOT, dir, f)));
    }
  }
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json')));
  const codePath = path.join(STATE_DIR, 'cache', `workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (!existsSync(codePath)) {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger });
    mkdirSync(path.dirname(codePath), { recursive: true });
    const tmp = `${codePath}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, codePath); // atomic: concurrent workers never read half a bundle
  }
  return { codePath };
}

export function defaultPorts(): Ports {
  return { containers: createDockerContainerPort(), proxy: createProxyPort() };
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
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: createActivities(opts.ports ?? defaultPorts(), opts.activityDeps),
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
