// Worker wiring: Temporal connection, the activities with their ports, and shutdown.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
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
  /** Extra Worker options (e.g. a prebuilt workflowBundle in tests). */
  worker?: Partial<WorkerOptions>;
}

export async function createWorker(opts: FaultlineWorkerOptions = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const target = opts.target ?? temporalTarget();
  const { apiKey, ...rest } = target.connection;
  const connection = await NativeConnection.connect({ ...rest, apiKey: typeof apiKey === "function" ? apiKey() : apiKey });
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: createActivities(opts.ports ?? defaultPorts()),
    ...(opts.worker?.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
    ...opts.worker,
  });
  return { worker, connection };
}

/** Runs until SIGINT/SIGTERM (the SDK's shutdown signals), then drains and closes the connection. */
export async function runWorker(opts: FaultlineWorkerOptions = {}): Promise<void> {
  const { worker, connection } = await createWorker(opts);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
