// faultline quickstart: the main job (what `npm start` runs) on the embedded default: server, demo target,
// an in-process worker and one example experiment, followed live.
import path from 'node:path';
import { PROJECT_ROOT, temporalTarget } from '../../config.ts';
import { ensureTemporal } from '../embedded.ts';
import { demoCommand } from './demo.ts';
import { runCommand } from './run.ts';
import type { Io } from '../io.ts';

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
