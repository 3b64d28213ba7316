// npm run bench:concurrency [-- 10,50,100,200] [--big] [--modes memory,demo] [--interval 250ms] [--window 10s]
//   [--slots K] [--block MS] [--block-every MS] [--label NAME] [--table]   (bench:concurrency:big: N = 500 and 1,000)
// N experiments at once on ONE worker in its own process (the real Faultline worker: real experiment and
// admission workflows on a real Temporal dev server), each faulting its own target for one window with a
// guard, in two modes: `memory` (in-memory container ports, each run pausing its own container, the guard
// probing a local HTTP service) and `demo` (the real demo stack: each run puts a latency rule on its own
// route of the demo's fault proxy, and the guard sends real HTTP requests to the demo's front, which calls
// the backends through that proxy). --big adds N = 500 and 1,000 (guard every 5 s, 60 s windows).
//
// The truth about the guard is counted against the schedule, not between samples: each run's schedule is
// a slot every interval from its fault's inject (journal: injectedAt) to the window's end (endsAt, or the
// abort); a slot is due when a sample could start on time (50 ms) before that end. The bench sees every
// guard probe request the worker sends (undici's diagnostics channel, in the worker process) and counts
// per run: samples due, taken (due slots with a sample) and on time (the slot's first sample within 50 ms
// of it), and for every due slot its lateness: from the slot to the first sample at or after it (a skipped
// slot is as late as the next sample; a guard that stopped early is late until the window's end). The
// journal's own coverage record (experiments/coverage.ts) is reported beside it and cross-checked.
// Also: admission wait (the run's start to its admission, from history), the worker's CPU seconds and peak
// RSS, and where the guard's time goes (the guard activity's schedule-to-start, activity slots in use,
// heartbeats, event loop delay, probe latency). --slots / --block starve the guard on purpose (few
// activity slots; the worker's event loop blocked for MS every --block-every) to show the metric sees it.
// Results merge into bench/results/concurrency.json by (label, mode, N), each row naming its commit.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import { parseExperiment } from '../experiments/parse.ts';
import type { Journal } from '../experiments/journal.ts';
import { durationMs } from '../faults/duration.ts';
import { demoDown, demoUp, backendName, type DemoStack } from '../demo/index.ts';
import { runBench, writeResults } from './results-file.ts';

const ON_TIME_MS = 50;
const RESULTS = path.join(PROJECT_ROOT, 'bench', 'results', 'concurrency.json');

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    big: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'memory,demo' },
    interval: { type: 'string' },
    window: { type: 'string' },
    slots: { type: 'string' },
    block: { type: 'string' },
    'block-every': { type: 'string', default: '5000' },
    label: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
});
// The default set fits in minutes; --big is N = 500 and 1,000 (added to the sizes given, if any).
const SIZES = [
  ...(positionals[0] ?? (opt.big ? '' : '10,50,100,200')).split(',').filter(Boolean).map(Number),
  ...(opt.big ? [500, 1000] : []),
].filter((x, i, a) => a.indexOf(x) === i);
const MODES = opt.modes.split(',') as ('memory' | 'demo')[];
for (const s of SIZES)
  if (!Number.isInteger(s) || s < 1) throw new Error(`N must be positive integers, got ${positionals[0]}`);
for (const m of MODES) if (m !== 'memory' && m !== 'demo') throw new Error(`--modes: memory or demo, got ${m}`);
/** The big runs guard every 5 s (issue 16: 1,000 runs at 5 s), over 60 s windows. */
const intervalFor = (n: number) => opt.interval ?? (n >= 500 ? '5s' : '250ms');
const windowFor = (n: number) => opt.window ?? (n >= 500 ? '60s' : '10s');
const starve = {
  ...(opt.slots ? { slots: Number(opt.slots) } : {}),
  ...(opt.block ? { blockMs: Number(opt.block), blockEveryMs: Number(opt['block-every']) } : {}),
};
const LABEL =
  opt.label ??
  (starve.slots || starve.blockMs
    ? `starved:${starve.slots ? ` ${starve.slots} activity slots` : ''}${starve.blockMs ? ` event loop blocked ${starve.blockMs} ms every ${starve.blockEveryMs} ms` : ''}`
    : 'baseline');

/** Nearest rank: the smallest value with at least p % of the values at or below it. */
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commit(): { commit: string; dirty: boolean } {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--', '.', ':!bench/results').length > 0;
  return { commit: git('rev-parse', 'HEAD'), dirty };
}

/** The commit this process runs (read once: a commit made while it runs is not what it measured). */
const COMMIT = commit();

interface WorkerReport {
  sent: Record<string, number[]>;
  probeMs: number[];
  probeErrors: number;
  guardStartWaitMs: number[];
  guardStarts: Record<string, { scheduled: number; started: number }>;
  guardAttempts: number;
  heartbeats: number;
  activitySlots?: number;
  maxInFlight: number;
  saturatedMs: number;
  loop: { p50Ms: number; p99Ms: number; maxMs: number };
  cpuSeconds: number;
  peakRssMiB: number;
  leftovers: string[];
}

let current: Awaited<ReturnType<typeof startWorker>> | undefined;

/** The bench's worker process (./concurrency-worker.ts), talked to over IPC. */
async function startWorker(env: Record<string, string>): Promise<{
  child: ChildProcess;
  ask: (cmd: string) => void;
  report: () => Promise<WorkerReport>;
  stop: () => Promise<void>;
}> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'concurrency-worker.ts')],
    {
      cwd: PROJECT_ROOT,
      env: { FAULTLINE_LOG_LEVEL: 'ERROR', ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { ready?: boolean }) => m.ready && resolve());
    void exited.then((code) => reject(new Error(`the bench worker exited (${code}) before it was ready`)));
  });
  return {
    child,
    ask: (cmd) => child.send({ cmd }),
    report: () =>
      new Promise((resolve) => {
        const on = (m: { report?: WorkerReport }) => {
          if (!m.report) return;
          child.off('message', on);
          resolve(m.report);
        };
        child.on('message', on);
        child.send({ cmd: 'report' });
      }),
    stop: async () => {
      child.send({ cmd: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One run's guard against its schedule, as the bench counts it from the requests the worker sent. */
function countRun(j: Journal, sent: number[], cadenceMs: number) {
  const injected = j.faults.filter((f) => f.injectedAt && f.endsAt);
  if (!injected.length) return undefined;
  const anchor = Math.min(...injected.map((f) => Date.parse(f.injectedAt as string)));
  let end = Math.max(...injected.map((f) => Date.parse(f.endsAt as string)));
  if (j.abort) end = Math.min(end, Date.parse(j.abort.at)); // nothing is due after the guard (or anyone) aborted
  const samples = [...sent].sort((a, b) => a - b);
  let due = 0;
  let taken = 0;
  let onTime = 0;
  const lateness: number[] = [];
  for (let k = 0; anchor + k * cadenceMs + ON_TIME_MS < end; k++) {
    const slot = anchor + k * cadenceMs;
    due++;
    const inSlot = samples.find((s) => s >= slot && s < slot + cadenceMs && s < end);
    if (inSlot !== undefined) {
      taken++;
      if (inSlot - slot <= ON_TIME_MS) onTime++;
    }
    // Against the schedule: the first sample at or after the slot (skipped: as late as the next one;
    // none at all before the end: late until the end).
    const next = samples.find((s) => s >= slot);
    lateness.push((next !== undefined && next < end ? next : end) - slot);
  }
  return { anchor, end, due, taken, onTime, lateness };
}

interface Row {
  [k: string]: unknown;
}

async function measure(client: Client, mode: 'memory' | 'demo', n: number, demo: DemoStack | undefined): Promise<Row> {
  const interval = intervalFor(n);
  const window = windowFor(n);
  const cadenceMs = durationMs(interval);
  const taskQueue = `conc-${mode}-${n}-${Date.now().toString(36)}`;
  // memory mode: the system under test is a local HTTP service (always healthy) in this process.
  const service =
    mode === 'memory'
      ? http.createServer((_req, res) => {
          res.statusCode = 200;
          res.end('ok');
        })
      : undefined;
  if (service) await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const url = service ? `http://127.0.0.1:${(service.address() as AddressInfo).port}/` : `${demo?.frontUrl}/`;
  const worker = (current = await startWorker({
    BENCH_MODE: mode,
    BENCH_N: String(n),
    BENCH_QUEUE: taskQueue,
    ...(starve.slots ? { BENCH_SLOTS: String(starve.slots) } : {}),
    ...(starve.blockMs
      ? { BENCH_BLOCK_MS: String(starve.blockMs), BENCH_BLOCK_EVERY_MS: String(starve.blockEveryMs) }
      : {}),
    ...(demo?.proxyAdminUrl
      ? { FAULTLINE_PROXY_URL: demo.proxyAdminUrl, FAULTLINE_PROXY_TOKEN: demo.proxyToken ?? '' }
      : {}),
  }));
  const text = (i: number) =>
    mode === 'memory'
      ? `
title: conc ${i}
hypothesis: { statement: s, probes: [ { name: h, type: http, url: "${url}h", requests: 1, timeout: 1s } ] }
targets: { names: [ c${i} ] }
method: [ { kind: container.pause, duration: ${window} } ]
admission: { wait: 60m }
afterCheck: { recoveryTimeout: 1s }
guard: { interval: ${interval}, probes: [ { name: g, type: http, url: "${url}g?fl-guard=${i}", requests: 1, timeout: 1s } ] }
`
      : `
title: conc demo ${i}
hypothesis: { statement: the front answers, probes: [ { name: h, type: http, url: "${url}", requests: 1, timeout: 2s } ] }
method: [ { kind: proxy.latency, proxy: ${routeName(i)}, latency: 10ms, duration: ${window} } ]
admission: { wait: 60m }
afterCheck: { recoveryTimeout: 5s }
guard: { interval: ${interval}, probes: [ { name: g, type: http, url: "${url}?fl-guard=${i}", requests: 1, timeout: 1s } ] }
`;
  const experiments = Array.from({ length: n }, (_, i) => {
    const r = parseExperiment(text(i), `conc-${i}.yaml`);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.experiment;
  });
  worker.ask('start');
  const load0 = os.loadavg()[0] as number;
  const t0 = Date.now();
  const handles = await Promise.all(
    experiments.map((experiment, i) =>
      client.workflow.start('runExperiment', {
        taskQueue,
        workflowId: `${taskQueue}-${i}`,
        args: [{ experiment, searchAttributes: true }],
      }),
    ),
  );
  const journals = await Promise.all(
    handles.map(async (h): Promise<Journal | undefined> => {
      try {
        return (await h.result()) as Journal;
      } catch (e) {
        if (e instanceof WorkflowFailedError) return undefined;
        throw e;
      }
    }),
  );
  const wallMs = Date.now() - t0;
  const report = await worker.report();
  await worker.stop();
  service?.close();

  // Admission: from the run's start to its admission (the admissionDecision signal that admitted it), from history.
  const admission: number[] = [];
  const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
  /** Guards retried (their worker lost them: a heartbeat timeout under load, say), by why. */
  const guardRetries: Record<string, number> = {};
  // The guard activity (observe on the fleet queue) scheduled, per run, from history.
  const guardScheduled = new Map<string, number>();
  const wft = new Map<
    string,
    { injectCompleted: number; taskScheduled: number; taskStarted: number; taskCompleted: number }
  >();
  for (let k = 0; k < handles.length; k += 25)
    await Promise.all(
      handles.slice(k, k + 25).map(async (h: WorkflowHandle) => {
        const events = (await h.fetchHistory()).events ?? [];
        const guard = events.find(
          (ev) =>
            ev.activityTaskScheduledEventAttributes?.activityType?.name === 'observe' &&
            ev.activityTaskScheduledEventAttributes.taskQueue?.name === taskQueue,
        );
        if (guard) guardScheduled.set(h.workflowId, at(guard));
        // A guard that was retried: its last attempt's start names why the one before it failed.
        const retried = guard
          ? events.find(
              (ev) =>
                String(ev.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(guard.eventId) &&
                (ev.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
            )?.activityTaskStartedEventAttributes
          : undefined;
        if (retried) {
          const why = `${retried.attempt} attempts, the one before: ${(retried.lastFailure?.message ?? '?').replace(/\d+/g, '#').slice(0, 120)}`;
          guardRetries[why] = (guardRetries[why] ?? 0) + 1;
        }
        // The workflow task between the (last) inject's completion and the guard scheduled, split: the
        // inject's completion recorded, the task scheduled, started by the worker, completed.
        const guardIdx = guard ? events.indexOf(guard) : -1;
        const injects = new Set<string>();
        let injectDone: number | undefined;
        for (const [k, ev] of events.entries()) {
          if (guardIdx >= 0 && k >= guardIdx) break;
          if (ev.activityTaskScheduledEventAttributes?.activityType?.name === 'injectFault')
            injects.add(String(ev.eventId));
          const done = ev.activityTaskCompletedEventAttributes;
          if (done && injects.has(String(done.scheduledEventId))) injectDone = k;
        }
        if (guard && injectDone !== undefined) {
          const after = events.slice(injectDone, guardIdx);
          const first = (pick: (ev: (typeof events)[number]) => unknown) => {
            const ev = after.find((e) => pick(e));
            return ev ? at(ev) : NaN;
          };
          wft.set(h.workflowId, {
            injectCompleted: at(events[injectDone] as (typeof events)[number]),
            taskScheduled: first((e) => e.workflowTaskScheduledEventAttributes),
            taskStarted: first((e) => e.workflowTaskStartedEventAttributes),
            taskCompleted: first((e) => e.workflowTaskCompletedEventAttributes),
          });
        }
        const started = events[0] ? at(events[0]) : NaN;
        const admitted = admittedAt(events, at);
        if (admitted !== undefined) admission.push(admitted - started);
      }),
    );

  const verdicts: Record<string, number> = {};
  const perRun: { due: number; taken: number; onTime: number }[] = [];
  const journalCov: { due: number; taken: number; onTime: number; share: number }[] = [];
  const lateness: number[] = [];
  const latenessAfterFirst: number[] = [];
  // Where the guard's start goes: the inject's completion to the guard scheduled (a workflow task), to the
  // guard activity started by the worker (polling, slots), to its first sample.
  const start = {
    injectToScheduled: [] as number[],
    // ...split: the inject's completion reaching history, the workflow task scheduled, waiting for the worker,
    // run by the worker (the guard is scheduled when it completes)
    injectToCompletionRecorded: [] as number[],
    completionToTaskScheduled: [] as number[],
    taskScheduledToStarted: [] as number[],
    taskStartedToCompleted: [] as number[],
    scheduledToStarted: [] as number[],
    startedToFirstSample: [] as number[],
    injectToFirstSample: [] as number[],
    // A guard started with the intents (guard-starts-with-intents): how long it was running before its
    // first fault was applied (negative: it started after, and that span was unwatched).
    startedBeforeInject: [] as number[],
  };
  const windows: [number, number][] = [];
  let dueAgree = 0;
  let dueMaxDiff = 0;
  let takenMaxDiff = 0;
  // Why runs did not pass, by kind (numbers blanked, so like reasons count together).
  const reasons: Record<string, number> = {};
  journals.forEach((j, i) => {
    const v = j?.verdict ?? 'workflow failed';
    verdicts[v] = (verdicts[v] ?? 0) + 1;
    if (!j) return;
    if (v !== 'passed') {
      const why = `${v}: ${(j.reason ?? j.abort?.reason ?? '')
        .replace(/\d+(\.\d+)?/g, '#')
        .replace(/\(#-#-#T[^)]*\)/g, '')
        .slice(0, 140)}`;
      reasons[why] = (reasons[why] ?? 0) + 1;
    }
    const c = countRun(j, report.sent[String(i)] ?? [], cadenceMs);
    const jc = j.guardSamples?.coverage;
    if (c) {
      perRun.push(c);
      lateness.push(...c.lateness);
      latenessAfterFirst.push(...c.lateness.slice(1));
      windows.push([c.anchor, c.end]);
      const id = handles[i]?.workflowId ?? '';
      const scheduled = guardScheduled.get(id);
      const g = report.guardStarts[id];
      const first = (report.sent[String(i)] ?? []).find((t) => t >= c.anchor);
      if (scheduled !== undefined) start.injectToScheduled.push(scheduled - c.anchor);
      const w = wft.get(id);
      if (w && [w.taskScheduled, w.taskStarted, w.taskCompleted].every(Number.isFinite)) {
        start.injectToCompletionRecorded.push(w.injectCompleted - c.anchor);
        start.completionToTaskScheduled.push(w.taskScheduled - w.injectCompleted);
        start.taskScheduledToStarted.push(w.taskStarted - w.taskScheduled);
        start.taskStartedToCompleted.push(w.taskCompleted - w.taskStarted);
      }
      if (g) start.scheduledToStarted.push(g.started - g.scheduled);
      if (g) start.startedBeforeInject.push(c.anchor - g.started);
      if (g && first !== undefined) start.startedToFirstSample.push(first - g.started);
      if (first !== undefined) start.injectToFirstSample.push(first - c.anchor);
    }
    if (jc) journalCov.push({ due: jc.due, taken: jc.taken, onTime: jc.onTime, share: jc.share });
    if (c && jc) {
      if (c.due === jc.due) dueAgree++;
      dueMaxDiff = Math.max(dueMaxDiff, Math.abs(c.due - jc.due));
      takenMaxDiff = Math.max(takenMaxDiff, Math.abs(c.taken - jc.taken));
    }
  });
  // How many windows were open at once at most (admission staggers them).
  const edges = windows.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]) as [number, number][];
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peakWindows = 0;
  for (const [, d] of edges) peakWindows = Math.max(peakWindows, (open += d));

  const ratio = (xs: { due: number }[], f: (x: never) => number) =>
    xs.filter((x) => x.due > 0).map((x) => f(x as never) / x.due);
  const dist = (xs: number[]) => ({ min: r3(Math.min(...xs)), p1: r3(pct(xs, 1)), median: r3(pct(xs, 50)) });
  const takenCov = ratio(perRun, (x: { taken: number }) => x.taken);
  const onTimeCov = ratio(perRun, (x: { onTime: number }) => x.onTime);
  const row: Row = {
    label: LABEL,
    mode,
    n,
    ...COMMIT,
    at: new Date().toISOString(),
    interval,
    window,
    ...(starve.slots || starve.blockMs ? { starve } : {}),
    verdicts,
    reasons,
    guardRetries,
    runsWithWindow: perRun.length,
    peakConcurrentWindows: peakWindows,
    samplesDuePerRunMedian: pct(
      perRun.map((x) => x.due),
      50,
    ),
    coverageTaken: dist(takenCov),
    coverageOnTime: dist(onTimeCov),
    latenessMs: { p50: pct(lateness, 50), p99: pct(lateness, 99), max: Math.max(...lateness) },
    latenessAfterFirstSlotMs: {
      p50: pct(latenessAfterFirst, 50),
      p99: pct(latenessAfterFirst, 99),
      max: Math.max(...latenessAfterFirst),
    },
    journal: {
      runs: journalCov.length,
      coverageOnTime: dist(ratio(journalCov, (x: { onTime: number }) => x.onTime)),
      watchedShare: dist(journalCov.map((x) => x.share)),
    },
    crossCheck: { dueAgreeRuns: dueAgree, dueMaxDiff, takenMaxDiff },
    admissionMs: { p50: pct(admission, 50), p99: pct(admission, 99), max: Math.max(...admission) },
    worker: {
      cpuSeconds: r3(report.cpuSeconds),
      cpuPercentOfOneCore: Math.round((report.cpuSeconds * 1000 * 100) / wallMs),
      peakRssMiB: report.peakRssMiB,
    },
    guardStart: Object.fromEntries(
      Object.entries(start).map(([k, xs]) => [
        `${k}Ms`,
        { runs: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) },
      ]),
    ),
    guardTime: {
      startWaitMs: {
        p50: pct(report.guardStartWaitMs, 50),
        p99: pct(report.guardStartWaitMs, 99),
        max: Math.max(...report.guardStartWaitMs),
      },
      guardAttempts: report.guardAttempts,
      activitySlots: report.activitySlots,
      maxActivitiesInFlight: report.maxInFlight,
      slotsFullMs: report.saturatedMs,
      heartbeatsPerSecond: Math.round((report.heartbeats * 1000) / wallMs),
      eventLoopDelayMs: report.loop,
      probeMs: { p50: pct(report.probeMs, 50), p99: pct(report.probeMs, 99), max: Math.max(...report.probeMs) },
      probeErrors: report.probeErrors,
    },
    wallMs,
    // The machine is shared: its 1-minute load average (2 cores) before and after.
    loadAverage: { before: r3(load0), after: r3(os.loadavg()[0] as number) },
    leftovers: report.leftovers.length,
  };
  return row;
}

/**
 * When the run was admitted, from its history: runs ask by signal (workflows/admission-client.ts
 * 'admission-ask-by-signal'), so the admissionDecision signal that admitted it; a run that asked by update
 * (or through admitRun when admission did not answer) was admitted when its last admitRun completed.
 */
function admittedAt<E extends WorkflowEvent>(events: E[], at: (e: E) => number): number | undefined {
  const signal = events.find((ev) => {
    const s = ev.workflowExecutionSignaledEventAttributes;
    const p = s?.signalName === 'admissionDecision' ? s.input?.payloads?.[0] : undefined;
    return (
      !!p && !!(defaultPayloadConverter.fromPayload(p) as { decision?: { admitted?: boolean } }).decision?.admitted
    );
  });
  if (signal) return at(signal);
  const admits = new Set<string>();
  let admitted: number | undefined;
  for (const ev of events) {
    if (ev.activityTaskScheduledEventAttributes?.activityType?.name === 'admitRun') admits.add(String(ev.eventId));
    const done = ev.activityTaskCompletedEventAttributes;
    if (done && admits.has(String(done.scheduledEventId))) admitted = at(ev);
  }
  return admitted;
}
type WorkflowEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const routeName = (i: number) => `fl-conc-${i}`;

/** Each run's own route on the demo's proxy (to backend 1; nothing sends through it). */
async function addRoutes(demo: DemoStack, count: number): Promise<void> {
  const body = Array.from({ length: count }, (_, i) => ({
    name: routeName(i),
    listen: `0.0.0.0:${30000 + i}`,
    upstream: `${backendName(demo.prefix, 1)}:8080`,
    enabled: true,
  }));
  const res = await fetch(`${demo.proxyAdminUrl}/populate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${demo.proxyToken}` },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`the demo proxy refused ${count} routes: ${res.status} ${await res.text()}`);
}

const HEADER =
  '| mode | N | guard / window | windows open at once | due per run | on time of due: min / p1 / median | taken of due: min / median | lateness vs schedule p50 / p99 | guard start after inject: to scheduled + to started, p50 | admission p50 / p99 | worker CPU / peak RSS | load | verdicts |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|';

function cell(r: Row): string {
  const d = (x: unknown) => x as { min: number; p1: number; median: number };
  const p = (x: number) => `${+(x * 100).toFixed(1)}`;
  const ms = (x: number) => (x >= 10_000 ? `${+(x / 1000).toFixed(1)} s` : `${x} ms`);
  const c = d(r.coverageOnTime);
  const t = d(r.coverageTaken);
  const l = r.latenessMs as { p50: number; p99: number };
  const a = r.admissionMs as { p50: number; p99: number };
  const w = r.worker as { cpuSeconds: number; peakRssMiB: number };
  const g = r.guardStart as Record<string, { p50: number }> | undefined;
  const load = r.loadAverage as { before: number; after: number } | undefined;
  const v = Object.entries(r.verdicts as Record<string, number>)
    .map(([k, x]) => `${x} ${k}`)
    .join(', ');
  const starved = r.starve
    ? ` (${String(r.label).replace(/^starved: /, '')})`
    : r.label !== 'baseline'
      ? ` (${String(r.label)})`
      : '';
  return `| ${r.mode}${starved} | ${r.n} | ${r.interval} / ${r.window} | ${r.peakConcurrentWindows} | ${r.samplesDuePerRunMedian} | ${p(c.min)} / ${p(c.p1)} / ${p(c.median)} % | ${p(t.min)} / ${p(t.median)} % | ${ms(l.p50)} / ${ms(l.p99)} | ${g ? `${ms(g.injectToScheduledMs?.p50 ?? NaN)} + ${ms(g.scheduledToStartedMs?.p50 ?? NaN)}` : '–'} | ${ms(a.p50)} / ${ms(a.p99)} | ${w.cpuSeconds} s / ${w.peakRssMiB} MiB | ${load ? `${load.before}–${load.after}` : '–'} | ${v} |`;
}

/** The table of every row in the results file (for the README): npm run bench:concurrency -- --table */
function printTable(rows: Row[]): void {
  const key = (r: Row) => [durationMs(String(r.interval)), r.mode === 'memory' ? 0 : 1, Number(r.n), r.starve ? 1 : 0];
  const order = (a: Row, b: Row) => {
    const [x, y] = [key(a), key(b)];
    return x.reduce((d, v, i) => d || v - (y[i] as number), 0);
  };
  console.log(`\n${HEADER}`);
  for (const r of [...rows].sort(order)) console.log(cell(r));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-conc-'));
  const server = await startDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
    detached: false,
  });
  process.env.TEMPORAL_ADDRESS = server.address;
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const prefix = `fl-conc-${process.pid}`;
  let demo: DemoStack | undefined;
  // Interrupted: the worker, the demo and the server go too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      current?.child.kill('SIGKILL');
      void (demo ? demoDown({ prefix }) : Promise.resolve())
        .catch(() => undefined)
        .then(() => server.stop())
        .finally(() => process.exit(130));
    });
  const rows: Row[] = [];
  try {
    if (MODES.includes('demo')) {
      demo = await demoUp({ prefix, frontPort: await freePort(), proxyAdminPort: await freePort() });
      if (!demo.proxyAdminUrl) throw new Error('the demo has no fault proxy (demo mode needs it)');
      await addRoutes(demo, Math.max(...SIZES));
    }
    for (const mode of MODES)
      for (const n of SIZES) {
        console.log(`\n${LABEL}: ${mode}, N = ${n} (guard ${intervalFor(n)}, window ${windowFor(n)}) …`);
        const row = await measure(client, mode, n, demo);
        console.log(JSON.stringify(row));
        rows.push(row);
        save(rows); // after each: a run stopped at a large N keeps the smaller ones
        await sleep(2_000);
      }
  } finally {
    if (demo) await demoDown({ prefix });
    await connection.close();
    await server.stop();
  }
  printTable(rows);
  console.log(
    '\nNo peer is measured: no other chaos tool here runs concurrent experiments with a guard on a schedule (Chaos Toolkit runs one experiment per process; Gremlin and AWS FIS publish 10 s health-check periods, not coverage).',
  );
  for (const r of rows.filter((x) => x.n === 100 && x.label === 'baseline')) {
    const c = r.coverageOnTime as { min: number };
    const l = r.latenessMs as { p99: number };
    const a = r.admissionMs as { p99: number };
    console.log(
      `targets at N = 100 (${r.mode}): on-time coverage min ${(c.min * 100).toFixed(1)} % (≥ 99 %: ${c.min >= 0.99 ? 'met' : 'NOT met'}), lateness p99 ${l.p99} ms (< 50 ms: ${l.p99 < 50 ? 'met' : 'NOT met'}), admission p99 ${a.p99} ms (≤ 2 s: ${a.p99 <= 2000 ? 'met' : 'NOT met'})`,
    );
  }
}

/** Merges this run's rows into the results file by (label, mode, N). */
function save(rows: Row[]): void {
  const key = (r: Row) => `${r.label}|${r.mode}|${r.n}`;
  let prev: Row[] = [];
  if (existsSync(RESULTS)) {
    try {
      const old = JSON.parse(readFileSync(RESULTS, 'utf8')) as { rows?: Row[] };
      prev = old.rows ?? [];
    } catch {
      prev = [];
    }
  }
  const mine = new Set(rows.map(key));
  writeResults('concurrency', {
    note: 'each row names the commit it measured; coverage and lateness are counted against each fault window\u2019s schedule (see bench/concurrency.ts)',
    rows: [...prev.filter((r) => !mine.has(key(r))), ...rows],
  });
}

if (opt.table) {
  printTable(existsSync(RESULTS) ? ((JSON.parse(readFileSync(RESULTS, 'utf8')) as { rows?: Row[] }).rows ?? []) : []);
} else runBench(main);
