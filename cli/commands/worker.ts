// faultline worker [--task-queue Q]: a worker in the foreground, on the embedded server or TEMPORAL_ADDRESS.
import { DEFAULT_TASK_QUEUE, temporalTarget } from '../../config.ts';
import { ensureTemporal } from '../embedded.ts';
import type { Io } from '../io.ts';

export async function workerCommand(opts: { taskQueue?: string }, io: Io): Promise<number> {
  await ensureTemporal();
  const t = temporalTarget();
  const { runWorker } = await import('../../worker/worker.ts'); // lazily: only where a worker starts
  await runWorker({
    taskQueue: opts.taskQueue,
    onReady: ({ host }) =>
      io.err(
        `faultline worker ready on ${t.address} (namespace ${t.namespace}, task queue ${opts.taskQueue ?? DEFAULT_TASK_QUEUE}); ${host ? `agent of host ${host.host} (daemon ${host.daemonName}) on ${host.fleetQueue}@${host.host}` : 'no Docker daemon answered: no host agent, container faults will be not-started'}; Ctrl-C to stop`,
      ),
  });
  return 0;
}
