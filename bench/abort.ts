// npm run bench:abort — how fast Faultline reverts once the system breaks.
// Repeated guard-abort experiments against the demo target at guard intervals of 250 ms and 1 s.
// Each run, Faultline pauses backend 1 (harmless: the front retries the others); then, at a random
// moment in the fault window (so the guard's sampling phase is random too), the bench itself pauses
// backends 2 and 3 and the service breaks. Measured: break -> every fault reverted, detection (first
// failing sample) -> every fault reverted, and workflow history events per run.
// Target: p95 break->reverted <= interval + 300 ms. Writes bench/results/abort.json.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoDown, demoUp } from '../demo/index.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { durationMs } from '../faults/duration.ts';
import Dockerode from 'dockerode';
import { connectClient, getStatus, startExperiment, waitForResult } from '../cli/client.ts';
import { freePort, startDevServer, type DevServer } from '../cli/dev-server.ts';
import { createWorker } from '../worker/worker.ts';
import { runBench, writeResults } from './results-file.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const INTERVALS = ['250ms', '1s'];

function experiment(prefix: string, frontUrl: string, interval: string) {
  const r = parseExperiment(
    `
title: bench abort ${interval}
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "${frontUrl}/", requests: 10, timeout: 2s } ]
targets: { names: [ "${prefix}-backend-1" ], mode: one }
method: [ { kind: container.pause, duration: 60s } ]
guard:
  interval: ${interval}
  failuresToAbort: 1
  probes: [ { name: guard, type: http, url: "${frontUrl}/", requests: 1, timeout: 120ms, tolerance: { maxErrorRate: 0 } } ]
afterCheck: { recoveryTimeout: 30s }
`,
    'bench',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.experiment;
}

const docker = new Dockerode();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

async function main(): Promise<void> {
  let server: DevServer | undefined;
  let dir: string | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-'));
    server = await startDevServer({
      dbFile: path.join(dir, 'temporal.db'),
      port: await freePort(),
      uiPort: await freePort(),
      logFile: path.join(dir, 'temporal.log'),
    });
    process.env.TEMPORAL_ADDRESS = server.address;
  }
  const prefix = `fl-bench-${process.pid}`;
  // The front gives each backend 50 ms, so a paused replica costs 50 ms and a dead service answers
  // 5xx in ~150 ms; the guard's 120 ms timeout then tells broken from slow.
  process.env.FAULTLINE_DEMO_TRY_TIMEOUT_MS = '50';
  const stack = await demoUp({ prefix, frontPort: await freePort(), proxyAdminPort: await freePort() });
  const taskQueue = `bench-abort-${process.pid}`;
  const { worker, connection } = await createWorker({ taskQueue });
  const running = worker.run();
  const fc = await connectClient();
  const results: Record<string, unknown>[] = [];
  try {
    for (const interval of INTERVALS) {
      const ivMs = durationMs(interval);
      const breakToRevert: number[] = [];
      const detectToRevert: number[] = [];
      const events: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { workflowId } = await startExperiment(fc, experiment(prefix, stack.frontUrl, interval), { taskQueue });
        while ((await getStatus(fc, workflowId)).journal?.phase !== 'observing') await sleep(50);
        await sleep(300 + Math.random() * 2 * ivMs);
        const others = stack.containers.backends.slice(1).map((n) => docker.getContainer(n));
        await Promise.all(others.map((c) => c.pause()));
        const broke = Date.now();
        const j = await waitForResult(fc, workflowId);
        await Promise.all(others.map((c) => c.unpause()));
        if (j.verdict !== 'aborted' || j.abort?.by !== 'guard')
          throw new Error(`run ${workflowId}: expected a guard abort, got ${j.verdict}: ${j.reason}`);
        const reverted = Math.max(...j.faults.map((f) => Date.parse(f.revertedAt ?? '')));
        breakToRevert.push(reverted - broke);
        detectToRevert.push(j.detectToRevertMs ?? NaN);
        const history = await fc.client.workflow.getHandle(workflowId).fetchHistory();
        events.push(history.events?.length ?? 0);
        process.stdout.write(`\r${interval}: run ${i + 1}/${RUNS} break→reverted ${reverted - broke} ms   `);
      }
      process.stdout.write('\n');
      results.push({
        guardInterval: interval,
        runs: RUNS,
        breakToRevertMs: {
          p50: pct(breakToRevert, 50),
          p95: pct(breakToRevert, 95),
          max: Math.max(...breakToRevert),
          all: breakToRevert,
        },
        detectToRevertMs: {
          p50: pct(detectToRevert, 50),
          p95: pct(detectToRevert, 95),
          max: Math.max(...detectToRevert),
        },
        historyEventsPerRun: { min: Math.min(...events), max: Math.max(...events) },
        targetP95Ms: ivMs + 300,
        meetsTarget: pct(breakToRevert, 95) <= ivMs + 300,
      });
    }
  } finally {
    await fc.close();
    worker.shutdown();
    await running;
    await connection.close();
    await demoDown({ prefix });
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  const peers = [
    { tool: 'Gremlin', guardCadenceMs: 10_000, source: 'peers.md: 10 s health checks (published, not measured here)' },
    { tool: 'AWS FIS', guardCadenceMs: 10_000, source: 'peers.md: 10 s alarm period (published, not measured here)' },
  ];
  console.log(
    '\nguard interval | runs | break→reverted p50 / p95 / max (ms) | detect→reverted p50 / p95 (ms) | history events/run | target p95 | met | vs 10 s peer cadence',
  );
  for (const r of results as {
    guardInterval: string;
    runs: number;
    breakToRevertMs: { p50: number; p95: number; max: number };
    detectToRevertMs: { p50: number; p95: number };
    historyEventsPerRun: { min: number; max: number };
    targetP95Ms: number;
    meetsTarget: boolean;
  }[]) {
    console.log(
      `${r.guardInterval.padEnd(14)} | ${String(r.runs).padEnd(4)} | ${r.breakToRevertMs.p50} / ${r.breakToRevertMs.p95} / ${r.breakToRevertMs.max}`.padEnd(
        62,
      ) +
        ` | ${r.detectToRevertMs.p50} / ${r.detectToRevertMs.p95}`.padEnd(33) +
        ` | ${r.historyEventsPerRun.min}-${r.historyEventsPerRun.max}`.padEnd(21) +
        ` | ${r.targetP95Ms} ms | ${r.meetsTarget ? 'yes' : 'NO'} | ${(10_000 / r.breakToRevertMs.p95).toFixed(1)}x faster`,
    );
  }
  writeResults('abort', { results, peers });
}

runBench(main);
