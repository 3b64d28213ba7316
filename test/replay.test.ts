// Runs open at an upgrade still replay: a history recorded with the workflow code from before the fleet
// (container faults on the run's own task queue, no registry; test/fixtures/histories/pre-fleet-run.json,
// a container.pause and a proxy.latency with a guard that passed, exported with `temporal workflow show
// --output json`) replays with today's code, which keeps the old path for it because its history has no
// 'fleet-routing' patch marker. No server needed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './helpers.ts';
import { HISTORIES_DIR, loadHistory } from './support/histories.ts';

describe('replay across the fleet upgrade', () => {
  it('a run recorded before the fleet replays with the current workflow code', async () => {
    const history = loadHistory(path.join(HISTORIES_DIR, 'pre-fleet-run.json'));
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'pre-fleet-run'),
    ).resolves.toBeUndefined();
  });
});
