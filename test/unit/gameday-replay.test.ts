// Game days open at an upgrade still replay: histories recorded with the game-day workflow from before
// approvals named their step and the verdict was computed over the steps (test/fixtures/gameday-histories/,
// recorded by test/unit/gameday-record.ts from commit e5fa4a4, the messages an old client sends) replay
// against today's code. No server: Worker.runReplayHistories.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect, it } from 'vitest';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { PROJECT_ROOT } from '../../config.ts';

type History = temporal.api.history.v1.IHistory;

/** The JSON history as a History (the SDK's historyFromJSON trips over two protobufjs copies here). */
function historyFromJson(json: unknown): History {
  const req = createRequire(import.meta.url);
  const protoDir = path.dirname(req.resolve('@temporalio/proto/package.json'));
  const proto = req('@temporalio/proto') as object;
  const { patchProtobufRoot } = req('@temporalio/proto/lib/patch-protobuf-root') as {
    patchProtobufRoot: (p: object) => { lookupType: (n: string) => unknown };
  };
  const { fromJson } = req(req.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as {
    fromJson: (type: unknown, json: unknown, opts: object) => History;
  };
  const type = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');
  return fromJson(type, json, { ignoreUnknownFields: true });
}

Runtime.install({ logger: new DefaultLogger('WARN') });

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
