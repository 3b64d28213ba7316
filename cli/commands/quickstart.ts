// faultline quickstart: the main job (what `npm start` runs) on the embedded default: server, demo target,
// an in-process worker and one example experiment, followed live.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DEMO, DEMO, PROJECT_ROOT, STATE_DIR, temporalTarget } from '../../config.ts';
import { ensureTemporal } from '../embedded.ts';
import { demoCommand } from './demo.ts';
import { runCommand } from './run.ts';
import type { Io } from '../io.ts';
import { metricsSetting, parseMetricsAddress } from '../../activities/metrics.ts';

export async function quickstartCommand(
  opts: { file?: string; json?: boolean; metrics?: string },
  io: Io,
): Promise<number> {
  const ms = metricsSetting(opts.metrics);
  parseMetricsAddress(ms.text, ms.source); // a bad setting is refused before anything starts
  const { started } = await ensureTemporal();
  const t = temporalTarget();
  if (!opts.json)
    io.out(`Temporal ${started ? 'started' : 'running'} at ${t.address}${t.uiUrl ? ` · UI ${t.uiUrl}` : ''}`);
  await demoCommand('up', { json: false }, opts.json ? { ...io, out: () => undefined } : io);
  const file = opts.file ?? exampleForDemo();
  const code = await runCommand(
    file,
    { wait: true, json: opts.json, worker: true, taskQueue: quickstartTaskQueue(), metrics: opts.metrics },
    io,
  );
  if (!opts.json) {
    io.out(`\nThe Temporal dev server keeps running for the UI link (stop it with: faultline server stop).`);
    io.out(`Try next: faultline run experiments/examples/pause-all-backends.yaml --wait --worker`);
  }
  return code;
}

/**
 * The quickstart's task queue: one per state directory, the same for every `npm start`, so that repeated
 * quickstarts share one admission workflow and one host workflow (both are named after the queue) instead of
 * leaving a new pair running on the user's server each time. It is not the default queue, so a worker the user
 * started elsewhere (another checkout, another state directory, another demo) never takes the quickstart's tasks.
 */
export function quickstartTaskQueue(stateDir: string = STATE_DIR): string {
  const dir = path.resolve(stateDir);
  if (dir === path.join(PROJECT_ROOT, '.state')) return 'faultline-quickstart';
  return `faultline-quickstart-${createHash('sha256').update(dir).digest('hex').slice(0, 10)}`;
}

/**
 * The kill-one-backend example, addressed to the demo quickstart brought up: the file itself names the
 * default demo; another prefix or port (FAULTLINE_DEMO_PREFIX, FAULTLINE_DEMO_PORT) gets a copy under the
 * state directory.
 */
function exampleForDemo(): string {
  const example = path.join(PROJECT_ROOT, 'experiments', 'examples', 'kill-one-backend.yaml');
  if (DEMO.prefix === DEFAULT_DEMO.prefix && DEMO.frontPort === DEFAULT_DEMO.frontPort)
    return path.relative(process.cwd(), example);
  const text = readFileSync(example, 'utf8')
    .replaceAll(`faultline.demo: ${DEFAULT_DEMO.prefix}`, `faultline.demo: ${DEMO.prefix}`)
    .replaceAll(`127.0.0.1:${DEFAULT_DEMO.frontPort}/`, `127.0.0.1:${DEMO.frontPort}/`);
  mkdirSync(STATE_DIR, { recursive: true });
  const copy = path.join(STATE_DIR, 'kill-one-backend.yaml');
  writeFileSync(copy, text);
  return copy;
}
