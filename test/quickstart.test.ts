// README command 1, end to end: `faultline quickstart` brings up the demo target, runs a worker and the
// example experiment, and prints the verdict, the summary and the Temporal UI link (here against the
// test run's server, so it starts no second one). The test run's own demo name, ports and state directory
// (test/global-setup.ts) keep a user's demo from `npm start` untouched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeWarden } from '../activities/adapters/warden-container.ts';
import { freePort } from '../cli/dev-server.ts';
import { DEFAULT_DEMO } from '../config.ts';
import { docker, runCli, uniqueId } from './helpers.ts';

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
