// Game days open at an upgrade still replay: histories recorded with the game-day workflow from before
// approvals named their step and the verdict was computed over the steps (test/fixtures/gameday-histories/,
// recorded by scripts/record-gameday-histories.ts from commit e5fa4a4, the messages an old client sends) replay
// against today's code. No server: Worker.runReplayHistories.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../config.ts';
import { historyFromJson } from '../support/histories.ts';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  /* installed already */
}

const dir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'gameday-histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

it('every recorded game-day history replays with the current code', { timeout: 120_000 }, async () => {
  expect(files.length).toBeGreaterThanOrEqual(7);
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(PROJECT_ROOT, 'test', 'unit', 'gameday-workflows.ts'),
    logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never,
  });
  const histories = files.map((f) => ({
    workflowId: `gd-${f.replace(/\.json$/, '')}`, // the ID it was recorded with
    history: historyFromJson(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))),
  }));
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle }, histories))
    if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
  expect(failures).toEqual([]);
});
