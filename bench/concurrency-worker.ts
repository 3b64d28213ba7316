// The worker of bench:concurrency, in its own process (so its CPU and peak RSS are its own): the real
// Faultline worker (worker/worker.ts createWorker) with in-memory ports (BENCH_MODE=memory: containers
// c0..c{N-1}) or the real ones (BENCH_MODE=demo: Docker and the demo's proxy from FAULTLINE_PROXY_URL).
// Beside it, only observation: every guard probe request as undici publishes it (diagnostics_channel:
// when it was sent, when its answer came), the guard activity's schedule-to-start and heartbeats (an
// activity interceptor), the event loop's delay and the worker's in-flight activities. BENCH_SLOTS caps
// the activity slots and BENCH_BLOCK_MS blocks the event loop every BENCH_BLOCK_EVERY_MS (a starved guard,
// to prove the bench sees it). Talks to the bench over IPC: 'ready', then 'report' answers its stats.
import diagnostics from 'node:diagnostics_channel';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { temporalTarget } from '../config.ts';
import type { Context } from '@temporalio/activity';
import { createWorker } from '../worker/worker.ts';
import { listHosts } from '../activities/hosts.ts';
import { MemoryWorld } from '../test/support/memory-ports.ts';

const mode = process.env.BENCH_MODE === 'demo' ? 'demo' : 'memory';
const n = Number(process.env.BENCH_N ?? 0);
const taskQueue = process.env.BENCH_QUEUE as string;
const slots = process.env.BENCH_SLOTS ? Number(process.env.BENCH_SLOTS) : undefined;
const blockMs = Number(process.env.BENCH_BLOCK_MS ?? 0);
const blockEveryMs = Number(process.env.BENCH_BLOCK_EVERY_MS ?? 5_000);
/** A guard probe's URL carries ?fl-guard=<run index>. */
const GUARD_MARK = /[?&]fl-guard=(\d+)/;

const send = (m: unknown) => process.send?.(m);

// --- what the guard's probes sent, and when their answers came -------------------------------------------
const sent = new Map<number, number[]>(); // run index -> epoch ms of each guard request
const probeMs: number[] = [];
let probeErrors = 0;
const inFlight = new WeakMap<object, number>();
diagnostics.subscribe('undici:request:create', (m) => {
  const { request } = m as { request: { path?: string } };
  const hit = GUARD_MARK.exec(request.path ?? '');
  if (!hit) return;
  const t = Date.now();
  const i = Number(hit[1]);
  (sent.get(i) ?? sent.set(i, []).get(i)!).push(t);
  inFlight.set(request, t);
});
diagnostics.subscribe('undici:request:headers', (m) => {
  const { request } = m as { request: object };
  const t0 = inFlight.get(request);
  if (t0 !== undefined) probeMs.push(Date.now() - t0);
});
diagnostics.subscribe('undici:request:error', (m) => {
  const { request } = m as { request: object };
  if (inFlight.has(request)) probeErrors++;
});

// --- the guard activity: when it started against when it was scheduled, and its heartbeats ----------------
const guardStartWaitMs: number[] = [];
/** Per run (workflow ID): its guard's first attempt, scheduled and started (epoch ms). */
const guardStarts: Record<string, { scheduled: number; started: number }> = {};
let guardAttempts = 0;
let heartbeats = 0;
const interceptors = {
  activity: [
    (ctx: Context) => {
      // The guard is `observe` on the fleet queue; a host's holder of container faults is `observe` on the host's.
      if (ctx.info.activityType !== 'observe' || ctx.info.taskQueue !== taskQueue) return {};
      guardAttempts++;
      const started = Date.now();
      guardStartWaitMs.push(started - ctx.info.currentAttemptScheduledTimestampMs);
      guardStarts[ctx.info.workflowExecution?.workflowId ?? '?'] ??= {
        scheduled: ctx.info.currentAttemptScheduledTimestampMs,
        started,
      };
      const c = ctx as unknown as { heartbeatFn: (d?: unknown) => void };
      const beat = c.heartbeatFn;
      c.heartbeatFn = (d) => {
        heartbeats++;
        beat(d);
      };
      return {};
    },
  ],
};

// --- the worker --------------------------------------------------------------------------------------------
const world = mode === 'memory' ? new MemoryWorld() : undefined;
if (world) for (let i = 0; i < n; i++) world.addContainer(`c${i}`);
const { worker, connection } = await createWorker({
  taskQueue,
  ...(world ? { ports: world.ports('w1') } : {}),
  worker: { interceptors, ...(slots ? { maxConcurrentActivityTaskExecutions: slots } : {}) },
});
const running = worker.run();
if (world) {
  // The registry lists the in-memory host a moment after its agent registered: every run must see it.
  const registry = new Client({
    connection: await Connection.connect({ address: temporalTarget().connection.address }),
  });
  for (let i = 0; (await listHosts(registry, taskQueue)).length < 1; i++) {
    if (i > 200) throw new Error('the registry does not list the in-memory host');
    await new Promise((r) => setTimeout(r, 100));
  }
  await registry.connection.close();
}
const main = worker.workers[0] as (typeof worker.workers)[number];
// The fleet queue's activity slots (the SDK's fixed-size slot supplier: 100 unless set).
const compiled = (main as unknown as { options?: { tuner?: { activityTaskSlotSupplier?: { numSlots?: number } } } })
  .options;
const activitySlots = compiled?.tuner?.activityTaskSlotSupplier?.numSlots ?? slots;

// --- the process: event loop delay, in-flight activities, CPU ------------------------------------------------
const LOOP_RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
let maxInFlight = 0;
let saturatedMs = 0;
let lastTick = Date.now();
const status = setInterval(() => {
  const now = Date.now();
  const inflight = main.getStatus().numInFlightActivities;
  maxInFlight = Math.max(maxInFlight, inflight);
  if (activitySlots !== undefined && inflight >= activitySlots) saturatedMs += now - lastTick;
  lastTick = now;
}, 100);
let blocker: NodeJS.Timeout | undefined;
let cpu0 = process.cpuUsage();

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'start') {
    cpu0 = process.cpuUsage();
    loop.reset();
    if (blockMs > 0)
      blocker = setInterval(() => {
        const until = Date.now() + blockMs;
        while (Date.now() < until); // a starved event loop: nothing else of this worker runs
      }, blockEveryMs);
  } else if (m.cmd === 'report') {
    if (blocker) clearInterval(blocker);
    const cpu = process.cpuUsage(cpu0);
    // The histogram holds the time between its timer's ticks: the delay is what exceeds the resolution.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e6 - LOOP_RESOLUTION_MS));
    send({
      report: {
        sent: Object.fromEntries(sent),
        probeMs,
        probeErrors,
        guardStartWaitMs,
        guardStarts,
        guardAttempts,
        heartbeats,
        activitySlots,
        maxInFlight,
        saturatedMs,
        loop: { p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max) },
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        leftovers: world?.leftovers() ?? [],
      },
    });
  } else if (m.cmd === 'stop') {
    clearInterval(status);
    worker.shutdown();
    void running.then(
      () => connection.close().then(() => process.exit(0)),
      () => process.exit(1),
    );
  }
});
send({ ready: true, pid: process.pid, activitySlots });
