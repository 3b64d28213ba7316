// README command 1, end to end: `faultline quickstart` brings up the demo target, runs a worker and the
// example experiment, and prints the verdict, the summary and the Temporal UI link (here against the
// test run's server, so it starts no second one). The test run's own demo name, ports and state directory
// (test/global-setup.ts) keep a user's demo from `npm start` untouched.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeWarden } from '../activities/adapters/warden-container.ts';
import { freePort } from '../cli/dev-server.ts';
import { quickstartTaskQueue } from '../cli/commands/quickstart.ts';
import { DEFAULT_DEMO } from '../config.ts';
import { docker, runCli, temporalClient, uniqueId } from './helpers.ts';

const defaultDemoContainers = async () =>
  (await docker.listContainers({ all: true, filters: { label: [`faultline.demo=${DEFAULT_DEMO.prefix}`] } }))
    .map((c) => `${c.Id} ${c.State}`)
    .sort();

describe('quickstart (README command 1)', () => {
  it('runs the example experiment on the demo target and prints verdict, summary and UI link', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'fl-qs-'));
    const prefix = uniqueId('fl-qs');
    const port = await freePort();
    const env = {
      FAULTLINE_STATE_DIR: state,
      FAULTLINE_DEMO_PREFIX: prefix,
      FAULTLINE_DEMO_PORT: String(port),
      FAULTLINE_DEMO_PROXY_PORT: String(await freePort()),
    };
    const userDemo = await defaultDemoContainers();
    try {
      const r = await runCli(['quickstart'], env);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`demo up: http://127.0.0.1:${port} → 3 backends via fault proxy`);
      expect(r.stdout).toMatch(/^PASSED {2}Kill one backend replica/m);
      expect(r.stdout).toMatch(new RegExp(`reverted +kill ${prefix}-backend-\\d with SIGKILL`));
      expect(r.stdout).toMatch(
        /history: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/kill-one-backend-replica-/,
      );
      // The worker finds the demo's fault proxy through the state file demo up wrote.
      const demo = JSON.parse(readFileSync(path.join(state, 'demo.json'), 'utf8')) as {
        proxyAdminUrl: string;
        frontUrl: string;
      };
      expect(demo.frontUrl).toBe(`http://127.0.0.1:${port}`);
      expect(demo.proxyAdminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // A second quickstart (a short experiment of the user's own) runs on the same task queue, so the user's
      // server holds one admission and one host workflow however often `npm start` runs, not a pair per try.
      const short = path.join(state, 'short.yaml');
      writeFileSync(short, shortExperiment(prefix, port));
      const again = await runCli(['quickstart', '--file', short], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^PASSED {2}Pause one backend for a moment/m);
      expect(await openPlumbing(quickstartTaskQueue(state))).toEqual(['admission', 'hostPresence']);
      const down = await runCli(['demo', 'down'], env);
      expect(down.status, down.stderr).toBe(0);
      expect(down.stdout).toContain(`${prefix}-front`);
      // A demo the user brought up with `npm start` (if any) is exactly as it was.
      expect(await defaultDemoContainers()).toEqual(userDemo);
    } finally {
      // quickstart leaves its warden running on purpose (it outlives workers); this one is the test's own.
      await removeWarden({ dir: path.join(state, 'warden') });
      rmSync(state, { recursive: true, force: true });
    }
  });
});

const shortExperiment = (prefix: string, port: number) => `title: Pause one backend for a moment
description: The second quickstart of the test, kept short.
owner: platform-team
hypothesis:
  statement: The front answers while one backend is paused for a second.
  probes:
    - { name: front-ok, type: http, url: "http://127.0.0.1:${port}/", requests: 4, timeout: 2s, tolerance: { maxErrorRate: 0 } }
targets:
  labels: { faultline.demo: ${prefix}, faultline.role: backend }
  mode: one
method:
  - { kind: container.pause, duration: 1s }
blastRadius: { maxTargets: 1, maxPercent: 34 }
`;

/**
 * The workflow types still open on the quickstart's queue and its hosts' queues (`<queue>@<host>`) once both
 * runs have closed (visibility lags a moment).
 */
async function openPlumbing(taskQueue: string): Promise<string[]> {
  const { client, connection } = await temporalClient();
  try {
    const query = `ExecutionStatus = 'Running' AND (TaskQueue = '${taskQueue}' OR TaskQueue STARTS_WITH '${taskQueue}@')`;
    for (let i = 0; ; i++) {
      const types: string[] = [];
      for await (const w of client.workflow.list({ query })) types.push(w.type);
      types.sort();
      if (i >= 20 || types.length === 2) return types;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await connection.close();
  }
}
