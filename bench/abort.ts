// npm run bench:abort — how fast Faultline reverts once the system breaks.
// Repeated guard-abort experiments against the demo target at guard intervals of 250 ms and 1 s.
// Each run, Faultline pauses backend 1 (harmless: the front retries the others); then, at a random
// moment in the fault window (so the guard's sampling phase is random too), the bench itself pauses
// backends 2 and 3 and the service breaks. Measured: break -> every fault reverted, detection (first
// failing sample) -> every fault reverted, and workflow history events per run.
// Target: p95 break->reverted <= interval + 100 ms, detect->reverted p50 <= 20 ms.
// With `-- --concurrent N` (N > 1): N runs at once on the one worker, each pausing its own container (N idle
// containers of the demo image) with a 250 ms guard on its own path of a target server in a child process;
// once all N are in their windows, half of them (chosen at random) break one by one at random moments over
// 20 s (each while at least N/2 others are still guarded); the rest are then aborted by the operator.
// Writes bench/results/abort.json (N = 1) or abort-concurrent.json (N > 1), with the commit measured.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import { demoDown, demoUp, ensureDemoImage } from '../demo/index.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { durationMs } from '../faults/duration.ts';
import Dockerode from 'dockerode';
import {
  abortExperiment,
  connectClient,
  getStatus,
  startExperiment,
  waitForResult,
  type FaultlineClient,
} from '../cli/client.ts';
import type { Journal } from '../experiments/journal.ts';
import { PHASE_KEY } from '../workflows/search-attributes.ts';
import { freePort } from '../cli/dev-server.ts';
import { createWorker } from '../worker/worker.ts';
import { ownServer } from './own-server.ts';
import { runBench, writeResults } from './results-file.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const INTERVALS = ['250ms', '1s'];
const argN = process.argv.indexOf('--concurrent');
const CONCURRENT = argN > 0 ? Number(process.argv[argN + 1]) : 1;
/** The commit measured (and whether the tree had changes on top of it). */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ':!bench/results'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

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
  const server = await ownServer('abort');
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
      let falseAlarms = 0;
      for (let i = 0; i < RUNS; i++) {
        if (falseAlarms > RUNS) throw new Error(`${falseAlarms} false alarms: the machine is too loaded to measure`);
        const { workflowId } = await startExperiment(fc, experiment(prefix, stack.frontUrl, interval), { taskQueue });
        // (a run that ends before its window, a guard failing on the loaded machine, stops the wait too)
        for (let ph; (ph = (await getStatus(fc, workflowId)).journal?.phase) !== 'observing'; await sleep(50))
          if (ph === 'reverting' || ph === 'steady-state-after' || ph === 'done') break;
        await sleep(300 + Math.random() * 2 * ivMs);
        const others = stack.containers.backends.slice(1).map((n) => docker.getContainer(n));
        await Promise.all(others.map((c) => c.pause()));
        const broke = Date.now();
        const j = await waitForResult(fc, workflowId);
        await Promise.all(others.map((c) => c.unpause()));
        if (j.verdict !== 'aborted' || j.abort?.by !== 'guard')
          throw new Error(`run ${workflowId}: expected a guard abort, got ${j.verdict}: ${j.reason}`);
        const reverted = Math.max(...j.faults.map((f) => Date.parse(f.revertedAt ?? '')));
        // A guard that failed before the break (its probe timed out on the loaded machine) is a false
        // alarm: counted, not measured.
        if (Date.parse(j.abort.at) < broke) {
          falseAlarms++;
          i--;
          continue;
        }
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
        falseAlarmsNotCounted: falseAlarms,
        loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
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
        targetP95Ms: ivMs + 100,
        meetsTarget: pct(breakToRevert, 95) <= ivMs + 100 && pct(detectToRevert, 50) <= 20,
      });
    }
  } finally {
    await fc.close();
    worker.shutdown();
    await running;
    await connection.close();
    await demoDown({ prefix });
    await server.stop();
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
  writeResults('abort', { commit: commit(), concurrent: 1, results, peers });
}

// --- N runs at once ------------------------------------------------------------------------------

/** The system each run guards: GET /r/I answers 200 until POST /break/I (which answers the time it broke). */
const TARGET = `
const http = require('node:http');
const broken = new Set();
const srv = http.createServer((req, res) => {
  const [, what, i] = (req.url || '').split('/');
  if (what === 'break') { broken.add(i); return res.end(String(Date.now())); }
  res.statusCode = what === 'r' && broken.has(i) ? 500 : 200;
  res.end();
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + String.fromCharCode(10)));
`;

async function startTarget(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', TARGET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('the target server exited')));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

function concurrentExperiment(name: string, url: string, i: number) {
  const r = parseExperiment(
    `
title: bench abort concurrent ${i}
hypothesis:
  statement: the service answers
  probes: [ { name: ok, type: http, url: "${url}/ok", requests: 1, timeout: 2s } ]
targets: { names: [ "${name}" ], mode: one }
method: [ { kind: container.pause, duration: 10m } ]
guard:
  interval: 250ms
  failuresToAbort: 1
  maxGap: ${GAP}
  probes: [ { name: guard, type: http, url: "${url}/r/${i}", requests: 1, timeout: 1s, tolerance: { maxErrorRate: 0 } } ]
admission: { wait: 10m }
afterCheck: { recoveryTimeout: 30s }
`,
    'bench',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.experiment;
}

/**
 * The guards' maxGap (BENCH_MAX_GAP, default 60s): on this loaded machine a run's guard started up to 8-20 s
 * after its inject at N = 100 (every run's windows blind that long, aborted for it before any break).
 */
const GAP = process.env.BENCH_MAX_GAP ?? '60s';

async function concurrent(n: number, fc: FaultlineClient, taskQueue: string): Promise<Record<string, unknown>> {
  const prefix = `fl-bench-abortn-${process.pid}`;
  const image = await ensureDemoImage(docker);
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (let k = 0; k < n; k += 10)
    await Promise.all(
      names.slice(k, k + 10).map(async (name) => {
        const c = await docker.createContainer({
          name,
          Image: image,
          Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'],
          Labels: { 'faultline.bench-abort': prefix },
          HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
        });
        await c.start();
      }),
    );
  let target: Awaited<ReturnType<typeof startTarget>> | undefined;
  const ids: string[] = [];
  try {
    target = await startTarget();
    const t0 = Date.now();
    for (let i = 0; i < n; i++)
      ids.push((await startExperiment(fc, concurrentExperiment(names[i]!, target.url, i), { taskQueue })).workflowId);
    const results = ids.map((id) => waitForResult(fc, id));
    results.forEach((p) => p.catch(() => undefined));
    // Every run in its window first (admission lets them in one after the other). A run that ended before
    // (a guard that failed on the loaded machine before any break) is left out of the measurement.
    const ended = new Map<number, Journal>();
    results.forEach((p, i) => void p.then((j) => ended.set(i, j)));
    for (;;) {
      const phases = await Promise.all(
        ids.map((id, i) =>
          ended.has(i)
            ? 'ended'
            : // The phase from the run's search attribute (describe, no query: queries time out under load).
              fc.client.workflow
                .getHandle(id)
                .describe()
                .then(
                  (d) => d.typedSearchAttributes.get(PHASE_KEY),
                  () => undefined,
                ),
        ),
      );
      const observing = phases.filter((p) => p === 'observing').length;
      process.stdout.write(
        `\r${observing}/${n} runs in their window (${ended.size} ended) after ${((Date.now() - t0) / 1000).toFixed(0)} s   `,
      );
      if (observing + ended.size === n && observing > 0) break;
      await sleep(2000);
    }
    const endedEarly = [...ended.values()].map((j) => `${j.verdict}: ${j.reason}`);
    process.stdout.write('\n');
    // Where the guards' time goes meanwhile: this process (the worker) event loop's delay and CPU.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const wall0 = Date.now();
    // Half of them break, one by one at random moments over 20 s; the others stay guarded meanwhile.
    const order = [...ids.keys()].filter((i) => !ended.has(i)).sort(() => Math.random() - 0.5);
    const breaking = order.slice(0, Math.ceil(n / 2));
    const spread = 20_000;
    const at = breaking.map(() => Math.random() * spread).sort((a, b) => a - b);
    const broke = new Map<number, number>();
    const start = Date.now();
    let done = 0;
    const inWindowAtBreak: number[] = [];
    const journals = new Map<number, Journal>();
    for (const i of breaking)
      void results[i]!.then((j) => {
        journals.set(i, j);
        done++;
      });
    for (let k = 0; k < breaking.length; k++) {
      const wait = start + at[k]! - Date.now();
      if (wait > 0) await sleep(wait);
      const i = breaking[k]!;
      inWindowAtBreak.push(n - ended.size);
      const r = await fetch(`${target.url}/break/${i}`);
      broke.set(i, Number(await r.text()));
    }
    while (done < breaking.length) await sleep(100);
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const wallMs = Date.now() - wall0;
    // The rest: the operator ends them.
    const rest = order.slice(breaking.length);
    await Promise.all(rest.map((i) => abortExperiment(fc, ids[i]!, 'bench: end of the measurement', 'bench')));
    await Promise.all(results);
    const breakToRevert: number[] = [];
    const detectToRevert: number[] = [];
    const breakToDetect: number[] = [];
    const verdicts: Record<string, number> = {};
    for (const i of breaking) {
      const j = journals.get(i)!;
      verdicts[`${j.verdict}/${j.abort?.by}`] = (verdicts[`${j.verdict}/${j.abort?.by}`] ?? 0) + 1;
      if (j.verdict !== 'aborted' || j.abort?.by !== 'guard') continue;
      const reverted = Math.max(...j.faults.map((f) => Date.parse(f.revertedAt ?? '')));
      breakToRevert.push(reverted - broke.get(i)!);
      detectToRevert.push(j.detectToRevertMs ?? NaN);
      breakToDetect.push(Date.parse(j.abort.at) - broke.get(i)!);
    }
    const revertedBy: Record<string, number> = {};
    for (const i of breaking)
      for (const f of journals.get(i)!.faults)
        revertedBy[f.revertedBy ?? '-'] = (revertedBy[f.revertedBy ?? '-'] ?? 0) + 1;
    const events: number[] = [];
    for (const i of breaking.slice(0, 10))
      events.push((await fc.client.workflow.getHandle(ids[i]!).fetchHistory()).events?.length ?? 0);
    const stats = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), max: Math.max(...xs) });
    // The guards that were not broken, watched until the operator ended them: their coverage.
    const kept = await Promise.all(rest.map((i) => results[i]!));
    const cov = kept.map((j) => j.guardSamples.coverage).filter((c) => !!c);
    const ratio = (f: (c: NonNullable<(typeof cov)[number]>) => number) => {
      const xs = cov.map(f).sort((a, b) => a - b);
      return { min: xs[0], p50: pct(xs, 50), max: xs.at(-1) };
    };
    const guards = {
      runs: cov.length,
      takenOfDue: ratio((c) => Math.round((1000 * c.taken) / Math.max(1, c.due)) / 1000),
      onTimeOfDue: ratio((c) => Math.round((1000 * c.onTime) / Math.max(1, c.due)) / 1000),
      longestGapMs: ratio((c) => c.longestGap.ms),
      slowestSampleMs: ratio((c) => c.slowestSampleMs ?? 0),
      windowShareWatched: ratio((c) => c.share),
    };
    const eventLoopDelayMs = {
      p50: Math.round(loop.percentile(50) / 1e4) / 100,
      p99: Math.round(loop.percentile(99) / 1e4) / 100,
      max: Math.round(loop.max / 1e4) / 100,
    };
    const cpuPercentOfOneCore = Math.round((100 * (cpu.user + cpu.system)) / 1000 / wallMs);
    return {
      concurrent: n,
      guardInterval: '250ms',
      endedBeforeTheBreaks: endedEarly,
      loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
      broken: breaking.length,
      verdicts,
      revertedBy,
      runsInTheirWindowAtEachBreak: { min: Math.min(...inWindowAtBreak), max: Math.max(...inWindowAtBreak) },
      breakToRevertMs: { ...stats(breakToRevert), all: breakToRevert },
      detectToRevertMs: stats(detectToRevert),
      breakToDetectMs: stats(breakToDetect),
      historyEventsPerRun: { min: Math.min(...events), max: Math.max(...events) },
      whileBreaking: { seconds: Math.round(wallMs / 1000), eventLoopDelayMs, cpuPercentOfOneCore },
      unbrokenGuards: guards,
      targetP95Ms: 350,
      meetsTarget: pct(breakToRevert, 95) <= 350 && pct(detectToRevert, 50) <= 20,
    };
  } catch (e) {
    console.error('bench failed:', e); // before the client closes under calls still in flight
    throw e;
  } finally {
    target?.child.kill();
    await Promise.all(
      names.map((nm) =>
        docker
          .getContainer(nm)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }
}

async function mainConcurrent(): Promise<void> {
  const server = await ownServer('abort');
  const taskQueue = `bench-abortn-${process.pid}`;
  // With the SDK's default 100 activity slots per queue, 100 guards (and admission's retrying admitRun calls)
  // take them all: a later run's guard waits for a slot for seconds and its window is blind (measured: 31 of
  // 100 runs aborted for a 20 s blind gap before any break). The slots are a worker setting (BENCH_SLOTS).
  const slots = Number(process.env.BENCH_SLOTS ?? 400);
  const { worker, connection } = await createWorker({
    taskQueue,
    worker: { maxConcurrentActivityTaskExecutions: slots },
  });
  const running = worker.run();
  const fc = await connectClient();
  let r: Record<string, unknown>;
  try {
    r = await concurrent(CONCURRENT, fc, taskQueue);
  } finally {
    await fc.close();
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
  }
  console.log(JSON.stringify(r, (k, v) => (k === 'all' ? undefined : v), 2));
  writeResults('abort-concurrent', { commit: commit(), activitySlotsPerQueue: slots, guardMaxGap: GAP, ...r });
}

runBench(CONCURRENT > 1 ? mainConcurrent : main);
