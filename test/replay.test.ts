// Runs open at an upgrade still replay: a history recorded with the workflow code from before the fleet
// (container faults on the run's own task queue, no registry; test/fixtures/histories/pre-fleet-run.json,
// a container.pause and a proxy.latency with a guard that passed, exported with `temporal workflow show
// --output json`) replays with today's code, which keeps the old path for it because its history has no
// 'fleet-routing' patch marker. No server needed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { PROJECT_ROOT } from '../config.ts';
import { workflowBundle } from './helpers.ts';

type History = temporal.api.history.v1.IHistory;

/**
 * The JSON history as a History. The SDK's own historyFromJSON fails in this install ("type must be a
 * Type"): @temporalio/common and @temporalio/proto each carry a protobufjs copy, so the proto root's types
 * are parsed here with the protobufjs that created them.
 */
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

describe('replay across the fleet upgrade', () => {
  it('a run recorded before the fleet replays with the current workflow code', async () => {
    const file = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories', 'pre-fleet-run.json');
    const history = historyFromJson(JSON.parse(readFileSync(file, 'utf8')));
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'pre-fleet-run'),
    ).resolves.toBeUndefined();
  });
});
