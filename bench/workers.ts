// npm run bench:workers [-- 50,100] [--interval 500ms] [--window 120s] [--no-kill] [--label NAME]
// Issue 16 item 4, more workers: N experiments at once on TWO real worker processes (worker/main.ts) on one
// task queue, on a dev server the bench starts, against the real fault proxy (its admin API, in this
// process) and a real HTTP service: each run puts a 10 ms latency rule on its own route of the proxy for one
// window, with a guard probing the service through that route. Half the runs keep the default guard.maxGap
// (three cadences: 1.5 s at 500 ms), half allow 8 s (and minCoverage 0.8). Once every rule is applied (every run is in its window),
// the worker holding more guards is SIGKILLed. Measured per run: which attempt of the guard ended the window
// and on which worker (history), the handover of a guard that moved (the kill to the survivor's first look:
// the end of the run's longest unwatched gap in its journal), how stale its last look before the kill was,
// its longest gap, its verdict; and where a run's time went before its window (admission: the run's start to
// the admissionDecision signal that admitted it; intents; injects). Results: bench/results/workers.json,
// rows merged by (label, N), each naming the commit it measured and the machine's load average.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { PROJECT_ROOT } from '../config.ts';
import { parseExperiment } from '../experiments/parse.ts';
import type { Journal } from '../experiments/journal.ts';
import { ownServer } from './own-server.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { guardAttempts, handoverFigures, pct } from '../test/support/handover.ts';
import { runBench, writeResults } from './results-file.ts';

const RESULTS = path.join(PROJECT_ROOT, 'bench', 'results', 'workers.json');
const LONG_MAX_GAP = '8s';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    interval: { type: 'string', default: '500ms' },
    window: { type: 'string' },
    'no-kill': { type: 'boolean', default: false },
    label: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
});
const SIZES = (positionals[0] ?? '50,100').split(',').map(Number);
for (const s of SIZES)
  if (!Number.isInteger(s) || s < 1) throw new Error(`N must be positive integers, got ${positionals[0]}`);
const KILL = !opt['no-kill'];
/**
 * Each run's window: long enough that the first run admitted is still in its window when the last is
 * injected and for the handover after (on this 2-core machine shared with other work, 50 runs took about
 * 90 s from their start to the last inject).
 */
const windowFor = (n: number) => opt.window ?? `${Math.max(60, Math.ceil(n * 2.4))}s`;
const LABEL = opt.label ?? (KILL ? 'kill one of two' : 'two workers, no kill');

function commit(): { commit: string; dirty: boolean } {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--', '.', ':!bench/results').length > 0;
  return { commit: git('rev-parse', 'HEAD'), dirty };
}
const COMMIT = commit();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const dist = (xs: number[]) => ({
  n: xs.length,
  p50: pct(xs, 50),
  p95: pct(xs, 95),
  max: xs.length ? Math.max(...xs) : NaN,
});

/** A worker process of the bench's queue; resolves once it polls. */
async function workerProcess(taskQueue: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
    cwd: PROJECT_ROOT,
    env: { FAULTLINE_LOG_LEVEL: 'ERROR', ...process.env, FAULTLINE_TASK_QUEUE: taskQueue, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  for (const end = Date.now() + 240_000; !out.includes('faultline worker ready');) {
    if (child.exitCode !== null) throw new Error(`worker exited early: ${out}`);
    if (Date.now() > end) throw new Error(`worker did not start: ${out}`);
    await sleep(200);
  }
  return child;
}
const stop = (c: ChildProcess, sig: NodeJS.Signals) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once('exit', () => r());
    c.kill(sig);
  });

type Event = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const at = (e: Event | undefined) =>
  e ? Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6) : NaN;

/** Where a run's time went before its window, from its history (epoch ms). */
function timeline(events: Event[]) {
  const started = at(events[0]);
  // Admitted: the admissionDecision signal that said so (runs ask by signal, workflows/admission-client.ts).
  const admittedBy = events.find((e) => {
    const s = e.workflowExecutionSignaledEventAttributes;
    if (s?.signalName !== 'admissionDecision') return false;
    const p = s.input?.payloads?.[0];
    const m = p ? (defaultPayloadConverter.fromPayload(p) as { decision?: { admitted?: boolean } }) : undefined;
    return !!m?.decision?.admitted;
  });
  const byType = (type: string) => {
    const s = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
    const id = String(s?.eventId ?? '');
    const st = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === id);
    const done = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === id);
    return { scheduled: at(s), started: at(st), completed: at(done) };
  };
  // A run that asked before admission ran (update-with-start through admitRun): its last admitRun completing.
  const admitRun = byType('admitRun');
  const admitted = admittedBy ? at(admittedBy) : admitRun.completed;
  return { started, admitted, prepare: byType('prepareFault'), inject: byType('injectFault') };
}

async function measure(client: Client, proxy: ProxyServer, serviceUrl: string, n: number) {
  const tq = `workers-${n}-${Date.now().toString(36)}`;
  const upstream = serviceUrl.replace(/^http:\/\//, '').replace(/\/$/, '');
  const body = Array.from({ length: n }, (_, i) => ({ name: `${tq}-${i}`, listen: '127.0.0.1:0', upstream }));
  const res = await fetch(`${proxy.url}/populate`, { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`the proxy refused ${n} routes: ${res.status} ${await res.text()}`);
  const made = ((await res.json()) as { proxies: { name: string; listen: string }[] }).proxies;
  const listen = (i: number) => made.find((p) => p.name === `${tq}-${i}`)!.listen;
  const toxics = async () => {
    const all = (await (await fetch(`${proxy.url}/proxies`)).json()) as Record<string, { toxics: unknown[] }>;
    return Object.entries(all).filter(([k, p]) => k.startsWith(`${tq}-`) && p.toxics.length > 0).length;
  };
  const env = { FAULTLINE_PROXY_URL: proxy.url, FAULTLINE_WORKER_AGENT: 'off' };
  const workers = await Promise.all([workerProcess(tq, env), workerProcess(tq, env)]);
  try {
    const load0 = os.loadavg()[0] as number;
    const t0 = Date.now();
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const r = parseExperiment(
          `
title: workers ${i}
hypothesis: { statement: the route answers, probes: [ { name: h, type: http, url: "http://${listen(i)}/h", requests: 1, timeout: 2s } ] }
method: [ { kind: proxy.latency, proxy: ${tq}-${i}, latency: 10ms, duration: ${windowFor(n)} } ]
admission: { wait: 10m }
afterCheck: { recoveryTimeout: 5s }
guard:
  interval: ${opt.interval}
  ${i % 2 ? `maxGap: ${LONG_MAX_GAP}\n  minCoverage: 0.8` : ''}
  probes: [ { name: g, type: http, url: "http://${listen(i)}/g", requests: 1, timeout: 1s } ]
`,
          `workers-${i}.yaml`,
        );
        if (!r.ok) throw new Error(JSON.stringify(r.problems));
        return client.workflow.start('runExperiment', {
          taskQueue: tq,
          workflowId: `${tq}-${i}`,
          args: [{ experiment: r.experiment, searchAttributes: true }],
        });
      }),
    );
    // Every rule applied: every run is in its window (or, given up on, as many as were).
    let inWindows = 0;
    for (const end = Date.now() + 300_000; (inWindows = await toxics()) < n && Date.now() < end;) await sleep(200);
    const allInAt = Date.now();
    let killed: { pid: number; guards: number; other: number; at: number } | undefined;
    if (KILL) {
      const holders = await Promise.all(
        handles.map(async (h) => {
          const d = await h.describe().catch(() => undefined);
          return d?.raw.pendingActivities?.find((a) => a.activityType?.name === 'observe')?.lastWorkerIdentity ?? '';
        }),
      );
      const count = (c: ChildProcess) => holders.filter((x) => x.startsWith(`${c.pid}@`)).length;
      const [victim, other] = count(workers[0]!) >= count(workers[1]!) ? workers : [workers[1]!, workers[0]!];
      const killedAt = Date.now();
      await stop(victim!, 'SIGKILL');
      killed = { pid: victim!.pid ?? 0, guards: count(victim!), other: count(other!), at: killedAt };
      console.log(`SIGKILLed worker ${victim!.pid} holding ${killed.guards} guards (the other: ${killed.other})`);
    }
    const journals = (await Promise.all(handles.map((h) => h.result()))) as Journal[];
    const wallMs = Date.now() - t0;
    const attempts = await guardAttempts(handles);
    const figures = KILL && killed ? handoverFigures(journals, attempts, killed.at) : undefined;
    const lines: ReturnType<typeof timeline>[] = [];
    for (let k = 0; k < handles.length; k += 25)
      lines.push(
        ...(await Promise.all(
          handles.slice(k, k + 25).map(async (h) => timeline((await h.fetchHistory()).events ?? [])),
        )),
      );
    const seg = (f: (l: ReturnType<typeof timeline>) => number) => dist(lines.map(f).filter(Number.isFinite));
    const verdicts: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    for (const j of journals) {
      verdicts[j.verdict ?? 'none'] = (verdicts[j.verdict ?? 'none'] ?? 0) + 1;
      if (j.verdict !== 'passed') {
        const why = `${j.verdict}: ${(j.reason ?? '')
          .replace(/\d+(\.\d+)?/g, '#')
          .replace(/\(#-#-#T[^)]*\)/g, '')
          .slice(0, 140)}`;
        reasons[why] = (reasons[why] ?? 0) + 1;
      }
    }
    const left = await toxics();
    const gapOverBound = journals.filter((j) => {
      const c = j.guardSamples.coverage;
      return !c || c.longestGap.ms > c.maxGapMs + 3_000;
    }).length;
    const passedOverMaxGap = journals.filter((j) => {
      const c = j.guardSamples.coverage;
      return j.verdict === 'passed' && (!c || c.longestGap.ms > c.maxGapMs);
    }).length;
    const byMaxGap = (long: boolean) => {
      const rs = (figures?.runs ?? []).filter((r) => r.maxGapMs > 1_500 === long);
      const v: Record<string, number> = {};
      for (const r of rs)
        v[`${r.moved ? 'moved' : 'stayed'} ${r.verdict}`] =
          (v[`${r.moved ? 'moved' : 'stayed'} ${r.verdict}`] ?? 0) + 1;
      return v;
    };
    return {
      label: LABEL,
      n,
      ...COMMIT,
      at: new Date().toISOString(),
      interval: opt.interval,
      window: windowFor(n),
      maxGap: { even: 'default (3 cadences)', odd: `${LONG_MAX_GAP}, minCoverage 0.8` },
      allInWindowsAfterMs: allInAt - t0,
      inWindowsAtKill: inWindows,
      killed,
      verdicts,
      reasons,
      verdictsByMaxGap: { default: byMaxGap(false), long: byMaxGap(true) },
      ...(figures ? figures.summary : {}),
      gapOverMaxGapPlusHeartbeatTimeout: gapOverBound,
      passedWithGapOverMaxGap: passedOverMaxGap,
      guardsEndedOn: Object.fromEntries(
        workers.map((w) => [String(w.pid), attempts.filter((a) => a.identity.startsWith(`${w.pid}@`)).length]),
      ),
      guardLastFailures: attempts.reduce<Record<string, number>>((m, a) => {
        if (a.lastFailure) m[a.lastFailure] = (m[a.lastFailure] ?? 0) + 1;
        return m;
      }, {}),
      toxicsLeft: left,
      beforeTheWindowMs: {
        startToAdmitted: seg((l) => l.admitted - l.started),
        admittedToIntentScheduled: seg((l) => l.prepare.scheduled - l.admitted),
        intentScheduledToStarted: seg((l) => l.prepare.started - l.prepare.scheduled),
        intentRan: seg((l) => l.prepare.completed - l.prepare.started),
        intentToInjectScheduled: seg((l) => l.inject.scheduled - l.prepare.completed),
        injectScheduledToStarted: seg((l) => l.inject.started - l.inject.scheduled),
        injectRan: seg((l) => l.inject.completed - l.inject.started),
      },
      wallMs,
      loadAverage: { before: r3(load0), after: r3(os.loadavg()[0] as number) },
    };
  } finally {
    for (const w of workers) await stop(w, 'SIGTERM');
  }
}

type Row = Record<string, unknown>;

function save(rows: Row[]): void {
  const key = (r: Row) => `${r.label}|${r.n}`;
  let prev: Row[] = [];
  if (existsSync(RESULTS)) prev = (JSON.parse(readFileSync(RESULTS, 'utf8')) as { rows?: Row[] }).rows ?? [];
  const mine = new Set(rows.map(key));
  writeResults('workers', {
    note: 'two worker processes, one SIGKILLed once every run is in its window; see bench/workers.ts',
    rows: [...prev.filter((r) => !mine.has(key(r))), ...rows],
  });
}

function printTable(rows: Row[]): void {
  console.log(
    '\n| N | guards on the killed worker | handover p50 / p95 / max | last look before the kill p50 / max | longest gap, moved: p50 / max | longest gap, stayed: max | verdicts (maxGap 1.5 s) | verdicts (maxGap 8 s) | gap > maxGap + 3 s | faults left | load |\n|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const h = r.handoverMs as { p50: number; p95: number; max: number } | undefined;
    const lb = r.lastLookBeforeKillMs as { p50: number; max: number } | undefined;
    const g = r.longestGapMs as { moved: { p50: number; max: number }; stayed: { max: number } } | undefined;
    const v = (x: Record<string, number>) =>
      Object.entries(x)
        .map(([k, c]) => `${c} ${k}`)
        .join(', ');
    const byGap = r.verdictsByMaxGap as { default: Record<string, number>; long: Record<string, number> };
    const k = r.killed as { guards: number; other: number } | undefined;
    const load = r.loadAverage as { before: number; after: number };
    console.log(
      `| ${r.n} | ${k ? `${k.guards} of ${k.guards + k.other}` : '–'} | ${h ? `${h.p50} / ${h.p95} / ${h.max} ms` : '–'} | ${lb ? `${lb.p50} / ${lb.max} ms` : '–'} | ${g ? `${g.moved.p50} / ${g.moved.max} ms` : '–'} | ${g ? `${g.stayed.max} ms` : '–'} | ${v(byGap.default)} | ${v(byGap.long)} | ${r.gapOverMaxGapPlusHeartbeatTimeout} | ${r.toxicsLeft} | ${load.before}–${load.after} |`,
    );
  }
}

async function main(): Promise<void> {
  const server = await ownServer('workers');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const service = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const proxy = await startProxyServer({ port: 0 });
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      console.log(`\n${LABEL}: N = ${n} (guard ${opt.interval}, window ${windowFor(n)}) …`);
      const row = await measure(client, proxy, `http://127.0.0.1:${(service.address() as AddressInfo).port}/`, n);
      console.log(JSON.stringify(row, null, 1));
      rows.push(row);
      save(rows);
      await sleep(2_000);
    }
  } finally {
    await proxy.close();
    service.close();
    await connection.close();
    await server.stop();
  }
  printTable(rows);
}

if (opt.table)
  printTable(existsSync(RESULTS) ? ((JSON.parse(readFileSync(RESULTS, 'utf8')) as { rows?: Row[] }).rows ?? []) : []);
else runBench(main);
