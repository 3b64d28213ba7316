// The runner's own metrics, end to end: a real worker process (worker/main.ts with FAULTLINE_METRICS) runs a
// real run on the demo (a 3 s pause of one backend, guarded) while a real Prometheus of this test's own (a
// free port, a temporary config and data directory, the shipped rules of demo/prometheus/) scrapes it every
// 500 ms. PromQL then returns the fault that was active during the run (raw and through the recording rule,
// by kind and host), the one revert that undid it after, and the Temporal SDK's runtime metrics on the same
// endpoint; every shipped rule evaluates without error.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { freePort } from '../cli/dev-server.ts';
import { prometheusFor, type PrometheusClient } from '../activities/adapters/prometheus.ts';
import { PROJECT_ROOT } from '../config.ts';
import { demoExperiment, killProcess, uniqueId, workerProcess } from './helpers.ts';

const RULES = path.join(PROJECT_ROOT, 'demo', 'prometheus', 'faultline-rules.yml');

let stack: DemoStack;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof workerProcess>> | undefined;
let prometheus: ChildProcess | undefined;
let prom: PrometheusClient;
let promUrl = '';
let dir = '';
let metricsPort = 0;
const tq = uniqueId('metrics');

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The one value of an instant query, when it has exactly one series. */
async function one(expr: string): Promise<number | undefined> {
  const s = await prom.instant(expr);
  return s.length === 1 ? s[0]?.value : undefined;
}

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-met'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  metricsPort = await freePort();
  worker = await workerProcess(tq, { FAULTLINE_METRICS: `127.0.0.1:${metricsPort}` });
  expect(worker.output()).toContain(`metrics http://127.0.0.1:${metricsPort}/metrics`);
  dir = mkdtempSync(path.join(tmpdir(), 'faultline-prom-'));
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 500ms
  scrape_timeout: 500ms
  evaluation_interval: 500ms
rule_files: [${JSON.stringify(RULES)}]
scrape_configs:
  - job_name: faultline-runner
    static_configs:
      - targets: ['127.0.0.1:${metricsPort}']
`,
  );
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  prom = prometheusFor(promUrl);
  await until('Prometheus scraping the worker', async () => {
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
    return (await one(`up{job="faultline-runner"}`)) === 1 ? true : undefined;
  }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${log}`);
  });
});

afterAll(async () => {
  if (worker) await killProcess(worker, 'SIGTERM');
  if (prometheus) await killProcess(prometheus, 'SIGTERM');
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the runner's own metrics, scraped by a real Prometheus", () => {
  it('returns the fault active during a run on the demo, the revert after it, and the SDK metrics of the same worker', async () => {
    const backend = stack.containers.backends[0]!;
    const e = demoExperiment(
      `
title: metrics pause
hypothesis:
  statement: the front answers while one backend is frozen
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 5, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
targets: { names: [ ${backend} ], mode: one }
method: [ { kind: container.pause, duration: 3s } ]
# A lenient guard: this file proves the metrics, not the guard's timing on a loaded machine (a stalled worker
# here once left it blind for 1.8 s, and the run aborted).
guard:
  interval: 500ms
  maxGap: 10s
  minCoverage: 0.2
  failuresToAbort: 5
  probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 2, timeout: 2s, tolerance: { maxErrorRate: 0.5 } } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    const host = j.faults[0]?.target?.host;
    expect(host).toBeTruthy();

    // During the run: the pause was active on its host (raw gauge, and the shipped recording rule).
    const sel = `kind="container.pause",host="${host}"`;
    expect(await one(`max_over_time(faultline_faults_active{${sel}}[5m])`)).toBe(1);
    await until('the recording rule', async () =>
      (await one(`max_over_time(faultline:faults_active:sum{${sel}}[5m])`)) === 1 ? true : undefined,
    );
    // After it, once a scrape shows every fault-window activity of the run finished (the guard and the host's
    // holder; the run's result can come before the guard's last report reaches a scrape): nothing active, the
    // one revert that undid it (the holder at the window's end; the revert phase's second found it undone).
    await until('a scrape after the fault windows ended', async () =>
      (await one(`sum(faultline_guard_coverage_ratio_count)`)) === 1 &&
      (await one(`sum(faultline_guards_running)`)) === 0
        ? true
        : undefined,
    ).catch(async (e: unknown) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      throw new Error(
        `${(e as Error).message}\n${worker?.output()}\n${text
          .split('\n')
          .filter((l) => /^faultline_/.test(l))
          .join('\n')}`,
      );
    });
    expect(await one(`sum(faultline_faults_active{${sel}})`)).toBe(0);
    expect(await one(`sum(faultline_reverts_total{${sel},result="undone"})`)).toBe(1);
    expect(await one(`sum(faultline_injects_total{${sel},outcome="ok"})`)).toBe(1);
    expect(await one(`sum(faultline_aborts_total)`)).toBeUndefined(); // a passed run aborted nothing
    expect(await one(`sum(faultline_guard_samples_total{result="ok"})`)).toBeGreaterThanOrEqual(2);
    // The Temporal SDK's runtime metrics, on the same endpoint: this worker's pollers of the run's queue.
    expect(await one(`sum(temporal_num_pollers{task_queue="${tq}"})`)).toBeGreaterThan(0);
    // Every shipped rule evaluated without error.
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((r) => r.health !== 'ok')).toEqual([]);
  });
});
