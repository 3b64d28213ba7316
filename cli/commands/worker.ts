// faultline worker [--task-queue Q] [--metrics ADDR]: a worker in the foreground, on the embedded server or
// TEMPORAL_ADDRESS; --metrics (or FAULTLINE_METRICS) serves its Prometheus metrics.
import { DEFAULT_TASK_QUEUE, temporalTarget } from '../../config.ts';
import { metricsSetting, parseMetricsAddress } from '../../activities/metrics.ts';
import { ensureTemporal } from '../embedded.ts';
import type { Io } from '../io.ts';

export async function workerCommand(opts: { taskQueue?: string; metrics?: string }, io: Io): Promise<number> {
  const ms = metricsSetting(opts.metrics);
  parseMetricsAddress(ms.text, ms.source); // a bad setting is refused before anything loads
  const { runWorker, openMetricsEndpoint } = await import('../../worker/worker.ts'); // lazily: only where a worker starts
  // Bound first: a port in use is refused (exit 2) before a server is started or anything connects.
  const metrics = await openMetricsEndpoint(ms.text, ms.source);
  await ensureTemporal();
  const t = temporalTarget();
  await runWorker({
    taskQueue: opts.taskQueue,
    metrics,
    onReady: ({ host }) =>
      io.err(
        `faultline worker ready on ${t.address} (namespace ${t.namespace}, task queue ${opts.taskQueue ?? DEFAULT_TASK_QUEUE}); ${host ? `agent of host ${host.host} (daemon ${host.daemonName}) on ${host.fleetQueue}@${host.host}` : 'no Docker daemon answered: no host agent, container faults will be not-started'}${metrics ? `; metrics ${metrics.url}` : ''}; Ctrl-C to stop`,
      ),
  });
  return 0;
}
