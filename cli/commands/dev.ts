// faultline worker | dev | quickstart | server stop: the embedded default and the main job.
import path from 'node:path';
import { EMBEDDED_PORT, EMBEDDED_UI_PORT, PROJECT_ROOT, STATE_DIR, temporalTarget } from '../../worker/config.ts';
import { startDevServer, portOpen } from '../../worker/dev-server.ts';
import { runWorker } from '../../worker/worker.ts';
import { ensureTemporal, stopEmbeddedTemporal } from '../embedded.ts';
import { demoCommand } from './demo.ts';
import { runCommand } from './run.ts';
import type { Io } from '../io.ts';

export async function workerCommand(opts: { taskQueue?: string }, io: Io): Promise<number> {
  await ensureTemporal();
  const t = temporalTarget();
  await runWorker({
    taskQueue: opts.taskQueue,
    onReady: () =>
      io.err(
        `faultline worker ready on ${t.address} (namespace ${t.namespace}, task queue ${opts.taskQueue ?? 'faultline'}); Ctrl-C to stop`,
      ),
  });
  return 0;
}

/** Embedded server and a worker in the foreground; Ctrl-C stops both. */
export async function devCommand(opts: { taskQueue?: string }, io: Io): Promise<number> {
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
    `Temporal: ${t.address} (namespace ${t.namespace})${t.uiUrl ? `\nTemporal UI: ${t.uiUrl}` : ''}\nWorker: task queue ${opts.taskQueue ?? 'faultline'}; Ctrl-C to stop`,
  );
  try {
    await runWorker({ taskQueue: opts.taskQueue });
  } finally {
    await stop?.();
  }
  return 0;
}

/** The main job on the embedded default: server, demo target, worker, one example experiment. */
export async function quickstartCommand(opts: { file?: string; json?: boolean }, io: Io): Promise<number> {
  const { started } = await ensureTemporal();
  const t = temporalTarget();
  if (!opts.json)
    io.out(`Temporal ${started ? 'started' : 'running'} at ${t.address}${t.uiUrl ? ` · UI ${t.uiUrl}` : ''}`);
  await demoCommand('up', { json: false }, opts.json ? { ...io, out: () => undefined } : io);
  const file =
    opts.file ??
    path.relative(process.cwd(), path.join(PROJECT_ROOT, 'experiments', 'examples', 'kill-one-backend.yaml'));
  const code = await runCommand(
    file,
    { wait: true, json: opts.json, worker: true, taskQueue: `faultline-quickstart-${process.pid}` },
    io,
  );
  if (!opts.json) {
    io.out(`\nThe Temporal dev server keeps running for the UI link (stop it with: faultline server stop).`);
    io.out(`Try next: faultline run experiments/examples/pause-all-backends.yaml --wait --worker`);
  }
  return code;
}

export async function serverCommand(action: string, io: Io): Promise<number> {
  if (action === 'start') {
    const { started } = await ensureTemporal();
    io.out(
      started
        ? `started Temporal at ${temporalTarget().address}`
        : `Temporal already answers at ${temporalTarget().address}`,
    );
    return 0;
  }
  if (action === 'stop') {
    io.out(
      (await stopEmbeddedTemporal())
        ? 'stopped the embedded Temporal server'
        : 'no embedded Temporal server was started by faultline',
    );
    return 0;
  }
  io.err(`server takes "start" or "stop", not "${action}"`);
  return 2;
}
