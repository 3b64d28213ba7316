// Process entry for a worker: `tsx worker/main.ts` (or `faultline worker`). Tests spawn it as a child
// so they can SIGKILL it mid-fault. FAULTLINE_METRICS=ADDR serves its Prometheus metrics.
import { FaultlineError } from '../errors.ts';
import { openMetricsEndpoint } from './metrics-server.ts';
import { runWorker } from './worker.ts';

const taskQueue = process.env.FAULTLINE_TASK_QUEUE;
openMetricsEndpoint(process.env.FAULTLINE_METRICS, 'FAULTLINE_METRICS')
  .then((metrics) =>
    runWorker({
      taskQueue,
      metrics,
      // FAULTLINE_WORKER_AGENT=off: orchestration only, container faults on separate `faultline agent`s.
      host: process.env.FAULTLINE_WORKER_AGENT === 'off' ? false : undefined,
      onReady: () =>
        console.log(
          `faultline worker ready (pid ${process.pid}, task queue ${taskQueue ?? 'faultline'}${metrics ? `, metrics ${metrics.url}` : ''})`,
        ),
    }),
  )
  .then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`faultline worker: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(err instanceof FaultlineError ? err.exitCode : 3);
    },
  );
