// Worker wiring: Temporal connection, the activities with their ports, and shutdown.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import type { Ports } from '../activities/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createProxyPort } from './proxy-port.ts';
import { DEFAULT_TASK_QUEUE, temporalTarget, type TemporalTarget } from './config.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export function defaultPorts(): Ports {
  return { containers: createDockerContainerPort(), proxy: createProxyPort() };
}

export interface FaultlineWorkerOptions {
  target?: TemporalTarget;
  taskQueue?: string;
  ports?: Ports;
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
  } catch { /* already installed by the host process */ }
}

export async function createWorker(opts: FaultlineWorkerOptions = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime();
  const target = opts.target ?? temporalTarget();
  const { apiKey, ...rest } = target.connection;
  const connection = await NativeConnection.connect({ ...rest, apiKey: typeof apiKey === "function" ? apiKey() : apiKey });
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: createActivities(opts.ports ?? defaultPorts()),
    // Flush heartbeats at least every 500 ms, so an abort reaches the guard activity that fast.
    maxHeartbeatThrottleInterval: '500ms',
    // If this worker dies, its runs' next workflow tasks move to a live worker after 2 s, not 10 s.
    stickyQueueScheduleToStartTimeout: '2s',
    ...(opts.worker?.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
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
    await (opts.signal ? worker.runUntil(new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }))) : worker.run());
  } finally {
    clearInterval(ready);
    await connection.close();
  }
}
