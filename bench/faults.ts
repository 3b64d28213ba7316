// Benchmark of the fault kinds themselves: per kind, inject and revert time (p50/p95 over REPS repetitions)
// and how exactly the effect matches what was asked, measured from inside or beside the target. Not a test:
// it prints a table with the asked value beside the measured one and writes bench/results/faults.json.
//   npm run bench:faults            (BENCH_REPS=5 by default; BENCH_ONLY=network.loss,stress.cpu for some kinds)
// Every kind runs through the code the agent runs: its `prepare`, `inject` and `revert` from faults/registry.ts
// with the real adapters (dockerode container port, the kernel port with the demo's node image for the DNS
// resolver, the ProxyClient against Faultline's own proxy). The warden lease the activity grants around them
// (one ledger write) is not in these times. Targets are containers of the locally built images (never
// pulled) on a network of this bench's own, removed at the end.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { faultKind, faultKinds } from '../faults/registry.ts';
import type { Ports } from '../faults/ports.ts';
import type { FaultTarget } from '../faults/types.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { PROJECT_ROOT } from '../config.ts';
import {
  createNetwork,
  hostLoss,
  hostThroughput,
  ipOf,
  removeContainers,
  removeNetwork,
  startIdle,
  peerLoss,
  startTarget,
  type KernelTarget,
} from '../test/support/kernel-targets.ts';
import { accuracy, spread, toleranceText, type Accuracy, type Spread, type Tolerance } from './fault-stats.ts';
import { runBench, writeResults } from './results-file.ts';
import { ensureToxiproxy, TOXIPROXY_VERSION } from './toxiproxy.ts';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const docker = new Dockerode();
const id = `fl-bench-faults-${randomBytes(3).toString('hex')}`;
const netName = `${id}-net`;
const TOKEN = randomBytes(8).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.now();

/** The effect a kind is judged by: its name, the value asked, the unit, and how far it may be from it. */
interface Effect {
  metric: string;
  asked: number;
  unit: string;
  tol: Tolerance;
  /** Shown in the table instead of the asked number, when that says more ("30 %"). */
  askedText?: string;
  /** Measured while the fault is in place; NaN when it could not be. */
  measure(handle: Record<string, unknown>, on: FaultTarget): Promise<number>;
  /**
   * The same measurement without the fault, taken right before each repetition's prepare and subtracted from
   * that repetition's (a route's own round trip, which the machine's load moves from one minute to the next).
   */
  baseline?(): Promise<number>;
  /**
   * The most of the effect the target could get just now, taken before each repetition's prepare and after its revert (the
   * CPU share a process that never sleeps gets in the target: on a loaded machine the scheduler gives the
   * container less than a core); the median measured is judged against the smaller of it and what was asked.
   */
  attainable?(): Promise<number>;
  /** How a measured value is printed. */
  show?(v: number): string;
}

interface Bench {
  kind: string;
  entry: Record<string, unknown>;
  target(): FaultTarget;
  /** Waits until the target can take the fault again (a killed worker respawned). */
  ready?(): Promise<void>;
  effect?: Effect;
}

interface Row {
  kind: string;
  reps: number;
  injectMs: Spread;
  revertMs: Spread;
  metric?: string;
  unit?: string;
  asked?: string;
  measured?: string;
  measuredValues?: number[];
  accuracy?: Accuracy;
  /** The effect's measurement without the fault, per repetition, when it is subtracted. */
  baselines?: number[];
  /** The most the target could get of the effect, per repetition, when it is measured (Effect.attainable). */
  attainableValues?: number[];
  /** What the median was judged against: the smaller of the asked value and the median attainable. */
  judgedAgainst?: number;
  tolerance?: string;
  error?: string;
}

// ---- targets --------------------------------------------------------------------------------------------
const CG = '/sys/fs/cgroup';
const cgroupRead = (ctrl: string, file: string, cid: string): number =>
  Number(readFileSync(path.join(CG, ctrl, 'docker', cid, file), 'utf8'));

/** CPUs the container's cgroup used over `ms` (cpuacct.usage is in nanoseconds). */
async function coresUsed(cid: string, ms: number): Promise<number> {
  const a = cgroupRead('cpuacct', 'cpuacct.usage', cid);
  const t = process.hrtime.bigint();
  await sleep(ms);
  return (cgroupRead('cpuacct', 'cpuacct.usage', cid) - a) / Number(process.hrtime.bigint() - t);
}

/** Runs a node script inside the container and returns what it printed. */
async function execNode(cid: string, script: string, ...args: string[]): Promise<string> {
  const ex = await docker
    .getContainer(cid)
    .exec({ Cmd: ['/usr/bin/node', '-e', script, ...args], AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => stream.on('end', r));
  return out;
}

/** A target whose PID 1 keeps a worker child named fl-worker (respawned 100 ms after it dies). */
const PROC_MAIN = `const { spawn } = require('child_process'); const w = () => spawn('/usr/bin/node', ['-e', 'setInterval(() => {}, 1000)', 'fl-worker'], { stdio: 'ignore' }).on('exit', () => setTimeout(w, 100)); w(); setInterval(() => {}, 1000); console.log('ready');`;
/** Whether the worker is there and in state S or R, from inside the target's own /proc. */
const WORKER_STATE = `const fs = require('fs'); for (const d of fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d))) { try { const c = fs.readFileSync('/proc/' + d + '/cmdline', 'utf8'); if (c.endsWith('fl-worker\\0') && !c.includes('readdirSync')) { const st = fs.readFileSync('/proc/' + d + '/stat', 'utf8'); console.log('STATE=' + st.slice(st.lastIndexOf(') ') + 2).split(' ')[0]); } } catch {} }`;

async function startProcTarget(name: string): Promise<KernelTarget> {
  const c = await docker.createContainer({
    name,
    Image: await ensureDemoImage(docker),
    Cmd: ['/usr/bin/node', '-e', PROC_MAIN],
    Labels: { 'faultline.test': name },
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
  for (const end = Date.now() + 60_000; !(await c.logs({ stdout: true })).toString().includes('ready');)
    if (Date.now() > end) throw new Error('process target did not start');
    else await sleep(100);
  return { id: c.id, name, ip: '' };
}

async function workerStates(cid: string): Promise<string[]> {
  return [...(await execNode(cid, WORKER_STATE)).matchAll(/STATE=(\w)/g)].map((m) => m[1] as string);
}

// ---- proxy routes ---------------------------------------------------------------------------------------
interface Upstreams {
  echo: number;
  source: number;
  web: number;
  close(): void;
}

async function upstreams(): Promise<Upstreams> {
  const listen = async (s: net.Server | http.Server): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };
  const echo = net.createServer((c) => (c.setNoDelay(true), c.on('error', () => undefined), c.pipe(c)));
  const chunk = Buffer.alloc(16_384, 120);
  const source = net.createServer((c) => {
    c.on('error', () => undefined);
    const w = (): void => {
      while (!c.destroyed && c.write(chunk));
    };
    c.on('drain', w);
    w();
  });
  const web = http.createServer((req, res) => res.end(`ok ${req.url}`));
  const ports = { echo: await listen(echo), source: await listen(source), web: await listen(web) };
  return {
    ...ports,
    close: () => {
      for (const s of [echo, source, web]) s.close();
      web.closeAllConnections();
    },
  };
}

/** Median round trip of 64-byte messages on one connection, in ms. */
async function echoRttMs(port: number, rounds = 15): Promise<number> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((r, j) => (s.once('connect', r), s.once('error', j)));
  const msg = Buffer.alloc(64, 97);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const on = (d: Buffer): void => {
        got += d.length;
        if (got < msg.length) return;
        s.off('data', on);
        resolve();
      };
      s.on('data', on);
      s.write(msg);
    });
    times.push(now() - t);
  }
  s.destroy();
  return spread(times).p50;
}

/** Bytes per second arriving from `port` over `ms`, after `warmMs` (the first burst left out). */
async function sourceRate(port: number, ms = 2_000, warmMs = 500): Promise<number> {
  const s = net.connect({ port, host: '127.0.0.1' });
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let from = 0;
    const t0 = now();
    s.on('data', (d: Buffer) => {
      const t = now();
      if (t - t0 < warmMs) return;
      if (!from) return void (from = t);
      bytes += d.length;
      if (t - from < ms) return;
      s.destroy();
      resolve((bytes * 1000) / (t - from));
    });
    s.on('error', reject);
  });
}

/** Median time of GET requests through the route (a new connection each), in ms, and their statuses. */
async function httpTimes(port: number, rounds = 10): Promise<{ ms: number; statuses: number[] }> {
  const times: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = now();
    const r = await fetch(`http://127.0.0.1:${port}/bench/${i}`, { headers: { connection: 'close' } });
    await r.text();
    times.push(now() - t);
    statuses.push(r.status);
  }
  return { ms: spread(times).p50, statuses };
}

// ---- the kinds ------------------------------------------------------------------------------------------
const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
const mib = (v: number): string => `${(v / 2 ** 20).toFixed(1)} MiB`;

function benches(
  kt: KernelTarget,
  ct: () => KernelTarget,
  pt: KernelTarget,
  sp: KernelTarget,
  route: Record<string, number>,
): Bench[] {
  const on = (t: KernelTarget) => (): FaultTarget => ({ container: { id: t.id, name: t.name }, run: id });
  const onKt = on(kt);
  const onCt = (): FaultTarget => on(ct())();
  const onPt = on(pt);
  const workerIs = (states: string[]) => async (): Promise<void> => {
    for (const end = Date.now() + 20_000; ; await sleep(200)) {
      const s = await workerStates(pt.id);
      if (s.length === 1 && states.includes(s[0] as string)) return;
      if (Date.now() > end) throw new Error(`the worker is not back in ${states.join('/')}: ${s.join(',') || 'none'}`);
    }
  };
  let memBefore = 0;
  return [
    { kind: 'container.pause', entry: {}, target: onCt },
    { kind: 'container.stop', entry: { gracePeriod: 1 }, target: onCt },
    { kind: 'container.kill', entry: { signal: 'SIGKILL' }, target: onCt },
    { kind: 'container.restart', entry: { gracePeriod: 1 }, target: onCt },
    {
      kind: 'network.partition',
      entry: { network: netName },
      target: onCt,
      effect: {
        metric: 'datagrams lost, host → target',
        asked: 1,
        askedText: '100 %',
        unit: '',
        tol: { abs: 0 },
        show: pct,
        measure: async () => hostLoss(ct().ip, 9001, 60),
      },
    },
    {
      // Planning makes one fault per member of either group; this is the target's (group from), on its own.
      kind: 'network.split',
      entry: { from: { names: [kt.name] }, to: { names: [sp.name] } },
      target: onKt,
      effect: {
        metric: "datagrams lost, group to → group from (200, from inside to's member)",
        asked: 1,
        askedText: '100 %',
        unit: '',
        tol: { abs: 0 },
        show: pct,
        measure: async () => peerLoss(sp.name, kt.ip, 9001, 200),
      },
    },
    {
      kind: 'network.loss',
      entry: { share: '30%', direction: 'ingress' },
      target: onKt,
      effect: {
        metric: 'datagrams lost (600, host → target UDP echo)',
        asked: 0.3,
        askedText: '30 %',
        unit: '',
        tol: { abs: 0.07 }, // about 3.5 standard deviations of 600 datagrams at 30 %
        show: pct,
        measure: async () => hostLoss(kt.ip, 9001, 600),
      },
    },
    {
      kind: 'network.bandwidth',
      entry: { rate: '8mbit', network: netName },
      target: onKt,
      effect: {
        metric: 'TCP throughput, target → host',
        asked: 8e6,
        askedText: '8 Mbit/s',
        unit: ' bit/s',
        tol: { rel: 0.1 },
        show: (v) => `${(v / 1e6).toFixed(2)} Mbit/s`,
        measure: async () => hostThroughput(kt.ip, 9101, 2_000, 1_000),
      },
    },
    {
      kind: 'stress.cpu',
      entry: { cores: 0.5 },
      target: onKt,
      effect: {
        metric: "target cgroup's CPU (cpuacct.usage, 3 s)",
        asked: 0.5,
        askedText: '0.50 cores',
        unit: ' cores',
        tol: { rel: 0.2 },
        show: (v) => `${v.toFixed(2)} cores`,
        measure: async () => (await sleep(1_000), coresUsed(kt.id, 3_000)),
        // A node loop that never sleeps, run in the target for 3.5 s, measured as the stressor is.
        attainable: async () => {
          const loop = execNode(kt.id, 'const end = Date.now() + 3500; while (Date.now() < end);');
          await sleep(300);
          const got = await coresUsed(kt.id, 3_000);
          await loop;
          return got;
        },
      },
    },
    {
      kind: 'stress.memory',
      entry: { size: '64MiB' },
      target: onKt,
      ready: async () => void (memBefore = cgroupRead('memory', 'memory.usage_in_bytes', kt.id)),
      effect: {
        metric: "target cgroup's memory growth (memory.usage_in_bytes)",
        asked: 64 * 2 ** 20,
        askedText: '64.0 MiB',
        unit: ' B',
        tol: { rel: 0.1 },
        show: mib,
        // The largest growth seen within 6 s of the inject (stress-ng touches its pages after it starts).
        measure: async () => {
          let most = 0;
          for (const end = Date.now() + 6_000; Date.now() < end; await sleep(250))
            most = Math.max(most, cgroupRead('memory', 'memory.usage_in_bytes', kt.id) - memBefore);
          return most;
        },
      },
    },
    { kind: 'stress.io', entry: { workers: 1 }, target: onKt },
    {
      kind: 'disk.fill',
      entry: { path: '/tmp', size: '64MiB' },
      target: onKt,
      effect: {
        metric: 'file size, seen from inside the target',
        asked: 64 * 2 ** 20,
        askedText: '64.0 MiB',
        unit: ' B',
        tol: { abs: 0 },
        show: mib,
        measure: async (h) => {
          const out = await execNode(
            kt.id,
            `console.log('SIZE=' + require('fs').statSync(process.argv[1]).size)`,
            `${String(h.dir)}/${String(h.file)}`,
          );
          return Number(/SIZE=(\d+)/.exec(out)?.[1] ?? NaN);
        },
      },
    },
    {
      kind: 'process.kill',
      entry: { pattern: 'fl-worker$' },
      target: onPt,
      ready: workerIs(['S', 'R']),
    },
    {
      kind: 'process.stop',
      entry: { pattern: 'fl-worker$' },
      target: onPt,
      ready: workerIs(['S', 'R']),
    },
    ...(['dns.error', 'dns.spoof'] as const).map((kind): Bench => ({
      kind,
      entry:
        kind === 'dns.error'
          ? { names: ['bench.faultline.test'], rcode: 'NXDOMAIN' }
          : { names: ['bench.faultline.test'], address: '10.9.8.7' },
      target: onKt,
      effect: {
        metric: 'lookups inside the target answered as told',
        asked: 1,
        askedText: '100 %',
        unit: '',
        tol: { abs: 0 },
        show: pct,
        measure: async () => {
          const script = `require('dns').lookup('bench.faultline.test', { family: 4 }, (e, a) => console.log('ANSWER=' + (e ? e.code : a)))`;
          const answer = /ANSWER=(\S+)/.exec(await execNode(kt.id, script))?.[1];
          return answer === (kind === 'dns.error' ? 'ENOTFOUND' : '10.9.8.7') ? 1 : 0;
        },
      },
    })),
    {
      kind: 'proxy.latency',
      entry: { proxy: 'bench-echo', latency: '100ms' },
      target: () => ({}),
      effect: {
        metric: 'added round trip (p50 of 15, minus the route without the fault)',
        asked: 100,
        askedText: '100 ms',
        unit: ' ms',
        tol: { abs: 5 },
        show: (v) => `${v.toFixed(1)} ms`,
        baseline: async () => echoRttMs(route['bench-echo']!),
        measure: async () => echoRttMs(route['bench-echo']!),
      },
    },
    {
      kind: 'proxy.bandwidth',
      entry: { proxy: 'bench-source', rate: 500 },
      target: () => ({}),
      effect: {
        metric: 'bytes/s through the route (2 s)',
        asked: 500_000,
        askedText: '500 KB/s',
        unit: ' B/s',
        tol: { rel: 0.1 },
        show: (v) => `${(v / 1000).toFixed(0)} KB/s`,
        measure: async () => sourceRate(route['bench-source']!),
      },
    },
    { kind: 'proxy.partition', entry: { proxy: 'bench-echo' }, target: () => ({}) },
    { kind: 'proxy.reset', entry: { proxy: 'bench-echo' }, target: () => ({}) },
    {
      kind: 'http.delay',
      entry: { proxy: 'bench-web', delay: '100ms' },
      target: () => ({}),
      effect: {
        metric: 'added request time (p50 of 10, minus the route without the fault)',
        asked: 100,
        askedText: '100 ms',
        unit: ' ms',
        tol: { abs: 5 },
        show: (v) => `${v.toFixed(1)} ms`,
        baseline: async () => (await httpTimes(route['bench-web']!)).ms,
        measure: async () => (await httpTimes(route['bench-web']!)).ms,
      },
    },
    {
      kind: 'http.abort',
      entry: { proxy: 'bench-web', status: 503 },
      target: () => ({}),
      effect: {
        metric: 'requests answered 503',
        asked: 1,
        askedText: '100 %',
        unit: '',
        tol: { abs: 0 },
        show: pct,
        measure: async () => {
          const { statuses } = await httpTimes(route['bench-web']!);
          return statuses.filter((s) => s === 503).length / statuses.length;
        },
      },
    },
  ];
}

/** One repetition's steps: prepare (untimed) returns what inject, the effect and revert need. */
interface Steps {
  ready?(): Promise<void>;
  prepare?(): Promise<{ handle: Record<string, unknown>; on: FaultTarget }>;
  inject(h: Record<string, unknown>): Promise<void>;
  /** false when the revert found nothing to undo. */
  revert(h: Record<string, unknown>): Promise<boolean | void>;
}

/** REPS repetitions of prepare, inject (timed), the effect, revert (timed); the first failure ends the row. */
async function repeat(name: string, effect: Effect | undefined, steps: Steps, undoes = true): Promise<Row> {
  const inject: number[] = [];
  const revert: number[] = [];
  const measured: number[] = [];
  const baselines: number[] = [];
  const attainable: number[] = [];
  const row: Row = { kind: name, reps: 0, injectMs: spread([]), revertMs: spread([]) };
  try {
    for (let i = 0; i < REPS; i++) {
      await steps.ready?.();
      const b0 = effect?.baseline ? await effect.baseline() : 0;
      if (effect?.baseline) baselines.push(b0);
      if (effect?.attainable) attainable.push(await effect.attainable());
      const { handle, on } = (await steps.prepare?.()) ?? { handle: {}, on: {} };
      let t = now();
      let changed: boolean | void;
      try {
        await steps.inject(handle);
        inject.push(now() - t);
        if (effect) measured.push((await effect.measure(handle, on)) - b0);
      } finally {
        t = now();
        changed = await steps.revert(handle);
        revert.push(now() - t);
      }
      // Measured again once the fault is gone: the mean of before and after, as the load moves meanwhile.
      if (effect?.attainable) attainable.push((attainable.pop()! + (await effect.attainable())) / 2);
      if (undoes && changed === false) throw new Error('its revert found nothing to undo');
      row.reps++;
    }
  } catch (e) {
    row.error = (e as Error).message.split('\n')[0];
  }
  row.injectMs = spread(inject);
  row.revertMs = spread(revert);
  if (effect) {
    const show = effect.show ?? String;
    const med = spread(measured).p50;
    const against = attainable.length ? Math.min(effect.asked, spread(attainable).p50) : effect.asked;
    Object.assign(row, {
      metric: effect.metric,
      unit: effect.unit.trim(),
      asked: effect.askedText ?? String(effect.asked),
      measured: measured.length ? `${show(med)} (${measured.map(show).join(', ')})` : '-',
      measuredValues: measured,
      ...(baselines.length ? { baselines } : {}),
      ...(attainable.length ? { attainableValues: attainable, judgedAgainst: against } : {}),
      accuracy: accuracy(med, against, effect.tol),
      tolerance: toleranceText(effect.tol, effect.unit),
    });
  }
  return row;
}

/** A kind through its registry entry: parse, prepare, inject, revert, with the agent's ports. */
async function benchKind(ports: Ports, b: Bench): Promise<Row> {
  const kind = faultKind(b.kind);
  if (!kind) throw new Error(`no kind ${b.kind} in the registry`);
  const spec = kind.spec.parse({ kind: b.kind, duration: '60s', ...b.entry });
  // Kill and restart leave nothing to undo by design; any other kind's revert must have undone its fault.
  const undoes = !['process.kill', 'container.restart'].includes(b.kind);
  return repeat(
    b.kind,
    b.effect,
    {
      ready: b.ready,
      prepare: async () => {
        const on = b.target();
        return { handle: (await kind.prepare(ports, spec, on)) as Record<string, unknown>, on };
      },
      inject: (h) => kind.inject(ports, spec, h),
      revert: async (h) => (await kind.revert(ports, h)).changed,
    },
    undoes,
  );
}

/**
 * The peer: Toxiproxy (built from the Go module proxy into .tools/bin, never committed) in front of the same
 * upstreams, its latency and bandwidth toxics put and removed through its own HTTP API, measured as
 * Faultline's proxy kinds are. Its inject and revert are one API call each; Faultline's kinds also read the
 * route back to check the effect and the revert.
 */
async function peerRows(up: Upstreams, all: Bench[]): Promise<Row[]> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(ensureToxiproxy(), ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  const api = `http://127.0.0.1:${port}`;
  const call = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(api + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`toxiproxy ${method} ${p}: ${r.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  try {
    for (let i = 0; ; i++) {
      if (
        await fetch(`${api}/version`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 100) throw new Error('toxiproxy did not come up');
      await sleep(50);
    }
    const route: Record<string, number> = {};
    for (const [name, upstream] of [
      ['bench-echo', up.echo],
      ['bench-source', up.source],
    ] as const) {
      const r = await call('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstream}` });
      route[name] = Number(String(r.listen).split(':').pop());
    }
    await echoRttMs(route['bench-echo']!); // warm-up, as for Faultline's proxy
    const toxics: Record<string, { proxy: string; toxic: Record<string, unknown> }> = {
      'proxy.latency': { proxy: 'bench-echo', toxic: { type: 'latency', attributes: { latency: 100, jitter: 0 } } },
      'proxy.bandwidth': { proxy: 'bench-source', toxic: { type: 'bandwidth', attributes: { rate: 500 } } },
    };
    const rows: Row[] = [];
    for (const [kind, t] of Object.entries(toxics)) {
      if (ONLY && !ONLY.includes(kind)) continue;
      const mine = all.find((b) => b.kind === kind)!.effect!;
      const effect: Effect = {
        ...mine,
        baseline: kind === 'proxy.latency' ? async () => echoRttMs(route['bench-echo']!) : undefined,
        measure: async () =>
          kind === 'proxy.latency' ? echoRttMs(route['bench-echo']!) : sourceRate(route['bench-source']!),
      };
      process.stdout.write(`toxiproxy ${kind} x${REPS}... `);
      const row = await repeat(`toxiproxy ${TOXIPROXY_VERSION}: ${kind}`, effect, {
        inject: async () =>
          void (await call('POST', `/proxies/${t.proxy}/toxics`, { name: 'bench', stream: 'downstream', ...t.toxic })),
        revert: async () => void (await call('DELETE', `/proxies/${t.proxy}/toxics/bench`)),
      });
      console.log(row.error ? `FAILED: ${row.error}` : 'done');
      rows.push(row);
    }
    return rows;
  } finally {
    child.kill('SIGTERM');
  }
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'faults', 'activities', 'proxy', 'bench'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const load0 = os.loadavg();
  const commit = gitCommit();
  let srv: ProxyServer | undefined;
  let up: Upstreams | undefined;
  try {
    await createNetwork(netName);
    const kt = await startTarget(`${id}-k`, netName, { nanoCpus: 1e9, memory: 256 * 2 ** 20 });
    let ctState = await startTarget(`${id}-c`, netName);
    const pt = await startProcTarget(`${id}-p`);
    const sp = await startTarget(`${id}-s`, netName); // network.split's other group
    await startIdle(`${id}-idle`, netName); // the network keeps a member while the container target is off it
    up = await upstreams();
    srv = await startProxyServer({ port: 0, token: TOKEN });
    const route: Record<string, number> = {};
    for (const [name, port] of [
      ['bench-echo', up.echo],
      ['bench-source', up.source],
      ['bench-web', up.web],
    ] as const) {
      const p = await srv.proxies.create({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` });
      route[name] = Number(p.listen.split(':')[1]);
    }
    // Warm-up: a process's first connections and requests are slower than the rest (JIT, undici's setup).
    await echoRttMs(route['bench-echo']!);
    await httpTimes(route['bench-web']!);
    const ports: Ports = {
      containers: createDockerContainerPort(docker),
      proxy: new ProxyClient(srv.url, TOKEN),
      kernel: createDockerKernelPort(docker, { nodeImage: ensureDemoImage }),
    };
    const ct = (): KernelTarget => ctState;
    const all = benches(kt, ct, pt, sp, route);
    const rows: Row[] = [];
    for (const b of all) {
      if (ONLY && !ONLY.includes(b.kind)) continue;
      process.stdout.write(`${b.kind} x${REPS}... `);
      // The container target may have a new address after a reconnect or a restart: read it each time.
      const row = await benchKind(ports, {
        ...b,
        ready: async () => {
          ctState = { ...ctState, ip: await ipOf(ctState.name, netName).catch(() => ctState.ip) };
          await b.ready?.();
        },
      });
      rows.push(row);
      console.log(row.error ? `FAILED: ${row.error}` : 'done');
    }
    let peer: Row[] = [];
    let peerNote: string | undefined;
    try {
      peer = await peerRows(up, all);
    } catch (e) {
      peerNote = `no peer run: ${(e as Error).message.split('\n')[0]}`;
      console.log(peerNote);
    }
    rows.push(...peer);
    const notMeasured = faultKinds
      .map((k) => k.name as string)
      .filter((k) => !all.some((b) => b.kind === k))
      .map((k) => ({ kind: k, why: 'no bench for it' }));
    print(rows, notMeasured);
    const load1 = os.loadavg();
    if (ONLY && process.env.BENCH_REPLACE !== '1') return; // a partial run is for development: keep the last full results
    if (ONLY) {
      // BENCH_REPLACE=1: these kinds' rows replace theirs in the last full results, each saying its own commit.
      const file = path.join(PROJECT_ROOT, 'bench', 'results', 'faults.json');
      const last = JSON.parse(readFileSync(file, 'utf8')) as { kinds: Row[] } & Record<string, unknown>;
      const date = new Date().toISOString();
      const fresh = rows.map((r) => ({ ...r, rerun: { commit, date, loadavg: { before: load0, after: load1 } } }));
      const { date: lastDate, ...rest } = last;
      writeResults('faults', {
        ...rest,
        fullRunDate: rest.fullRunDate ?? lastDate,
        kinds: last.kinds.map((r) => fresh.find((f) => f.kind === r.kind) ?? r),
      });
      return;
    }
    writeResults('faults', {
      commit,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      loadavg: { before: load0, after: load1 },
      reps: REPS,
      kinds: rows,
      notMeasured,
      peer:
        peerNote ??
        `Toxiproxy ${TOXIPROXY_VERSION} for proxy.latency and proxy.bandwidth; no peer here for the other kinds`,
    });
  } finally {
    await srv?.close();
    up?.close();
    await removeContainers(id);
    for (const c of await docker.listContainers({ all: true, filters: { label: ['faultline.stress.target'] } }))
      if ((c.Names[0] ?? '').includes(id))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    await removeNetwork(netName);
  }
}

const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '-');

function print(rows: Row[], notMeasured: { kind: string; why: string }[]): void {
  const head = [
    'kind',
    'inject p50/p95 ms',
    'revert p50/p95 ms',
    'effect',
    'asked',
    'measured (median)',
    'ratio',
    'within',
    'met',
  ];
  const table = [
    head,
    ...rows.map((r) => [
      r.kind,
      `${f0(r.injectMs.p50)} / ${f0(r.injectMs.p95)}`,
      `${f0(r.revertMs.p50)} / ${f0(r.revertMs.p95)}`,
      r.metric ?? 'times only',
      r.judgedAgainst !== undefined ? `${r.asked ?? '-'} (attainable ${r.judgedAgainst.toFixed(2)})` : (r.asked ?? '-'),
      r.error ? `FAILED after ${r.reps}: ${r.error}` : (r.measured?.split(' (')[0] ?? '-'),
      r.accuracy && Number.isFinite(r.accuracy.ratio) ? r.accuracy.ratio.toFixed(2) : '-',
      r.tolerance ?? '-',
      r.accuracy ? (r.accuracy.within ? 'yes' : 'NO') : r.error ? 'NO' : '',
    ]),
  ];
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
  console.log('');
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const n of notMeasured) console.log(`not measured: ${n.kind} (${n.why})`);
}

runBench(main);
