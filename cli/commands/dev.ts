// faultline dev: the embedded Temporal server and a worker in the foreground; Ctrl-C stops both.
import path from 'node:path';
import { DEFAULT_TASK_QUEUE, EMBEDDED_PORT, EMBEDDED_UI_PORT, STATE_DIR, temporalTarget } from '../../config.ts';
import { startDevServer, portOpen } from '../dev-server.ts';
import type { Io } from '../io.ts';
import { metricsSetting, parseMetricsAddress } from '../../activities/metrics.ts';

export async function devCommand(opts: { taskQueue?: string; metrics?: string }, io: Io): Promise<number> {
  const ms = metricsSetting(opts.metrics);
  parseMetricsAddress(ms.text, ms.source); // a bad setting is refused before anything loads
  const { runWorker, openMetricsEndpoint } = await import('../../worker/worker.ts'); // lazily: only where a worker starts
  // Bound first: a port in use is refused (exit 2) before the server starts.
  const metrics = await openMetricsEndpoint(ms.text, ms.source);
  const t = temporalTarget();
  let stop: (() => Promise<void>) | undefined;
  if (t.embedded && !(await portOpen(EMBEDDED_PORT))) {
    const server = await startDevServer({
      dbFile: path.join(STATE_DIR, 'temporal.db'),
      port: EMBEDDED_PORT,
      uiPort: EMBEDDED_UI_PORT,
      logFile: path.join(STATE_DIR, 'temporal.log'),
    });
    stop = () => server.stop();
  }
  io.out(
    `Temporal: ${t.address} (namespace ${t.namespace})${t.uiUrl ? `\nTemporal UI: ${t.uiUrl}` : ''}\nWorker: task queue ${opts.taskQueue ?? DEFAULT_TASK_QUEUE}; Ctrl-C to stop`,
  );
  try {
    if (metrics) io.out(`Metrics: ${metrics.url}`);
    await runWorker({ taskQueue: opts.taskQueue, metrics });
  } finally {
    await stop?.();
  }
  return 0;
}
