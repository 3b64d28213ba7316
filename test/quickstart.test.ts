// README command 1, end to end: `faultline quickstart` brings up the demo target, runs a worker and the
// example experiment, and prints the verdict, the summary and the Temporal UI link (here against the
// test run's server, so it starts no second one).
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

describe('quickstart (README command 1)', () => {
  it('runs the example experiment on the demo target and prints verdict, summary and UI link', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'fl-qs-'));
    const r = await runCli(['quickstart'], { FAULTLINE_STATE_DIR: state });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/demo up: http:\/\/127\.0\.0\.1:18080 → 3 backends via fault proxy/);
    expect(r.stdout).toMatch(/^PASSED {2}Kill one backend replica/m);
    expect(r.stdout).toMatch(/reverted +kill faultline-demo-backend-\d with SIGKILL/);
    expect(r.stdout).toMatch(
      /history: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/kill-one-backend-replica-/,
    );
    // The worker finds the demo's fault proxy through the state file demo up wrote.
    const demo = JSON.parse(readFileSync(path.join(state, 'demo.json'), 'utf8')) as {
      proxyAdminUrl: string;
      frontUrl: string;
    };
    expect(demo.frontUrl).toBe('http://127.0.0.1:18080');
    expect(demo.proxyAdminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const down = await runCli(['demo', 'down'], { FAULTLINE_STATE_DIR: state });
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/faultline-demo-front/);
  });
});
