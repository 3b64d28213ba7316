// Benchmark of the fault proxy: direct vs Faultline's proxy vs Toxiproxy, side by side in one run, on
// loopback only. Not a test: it prints a table with ratios and writes bench/results/proxy.json.
//   npm run bench:proxy
// Toxiproxy is built from the Go module proxy into .tools/bin/toxiproxy-server (once; never committed).
// Each proxy and the backends run in their own process; this process only generates load. Metrics run
// one at a time with the three paths back to back, so background load hits them alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../proxy/bundle.ts';
import { ensureToxiproxy, TOXIPROXY_VERSION } from './toxiproxy.ts';
import * as hdr from 'hdr-histogram-js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'proxy.json');

const PING_ROUNDS = 4_000;
const RPS_CONNS = 32;
const RPS_MS = 2_000;
const RPS_ROUNDS = 3;
const BULK_BYTES = 256 << 20;
const BULK_RUNS = 3;
const LAT_CONNS = 20;
const LAT_ROUNDS = 50;
const REMOVE_CONNS = 1_000;
const REMOVE_ROUNDS = 25;

type PathName = 'direct' | 'faultline' | 'toxiproxy';
interface Target {
  name: PathName;
  pid?: number;
  echo: number;
  bulk: number;
  admin?: string;
  echoProxy?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const histogram = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

const children: ChildProcess[] = [];
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  c.stdout?.resume();
  c.stderr?.resume();
  children.push(c);
  return c;
}

const BACKENDS = `
const net = require('node:net');
const echo = net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.pipe(s); }).listen(0, '127.0.0.1');
const block = Buffer.alloc(1 << 20, 120);
const bulk = net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', (d) => {
    let left = Number(d.toString().trim());
    const pump = () => { while (left > 0) { const n = Math.min(left, block.length); left -= n; if (!s.write(n === block.length ? block : block.subarray(0, n))) return s.once('drain', pump); } s.end(); };
    pump();
  });
}).listen(0, '127.0.0.1');
setTimeout(() => console.log(JSON.stringify({ echo: echo.address().port, bulk: bulk.address().port })), 200);
`;

async function startBackends(): Promise<{ echo: number; bulk: number }> {
  const c = spawn(process.execPath, ['-e', BACKENDS], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return new Promise((resolve) =>
    c.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { echo: number; bulk: number })),
  );
}

async function admin(
  base: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(base + p, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function waitUp(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(base + '/version')).ok) return;
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  throw new Error(`${base} did not come up`);
}

/** CPU time (user + system) a process has used, in µs (Linux /proc; 0 elsewhere). */
function cpuUs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // clock ticks, USER_HZ 100
  } catch {
    return 0;
  }
}

async function proxyTarget(
  name: PathName,
  base: string,
  backends: { echo: number; bulk: number },
  pid?: number,
): Promise<Target> {
  await waitUp(base);
  const mk = async (n: string, port: number): Promise<number> => {
    const r = await admin(base, 'POST', '/proxies', { name: n, listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` });
    if (r.status !== 201) throw new Error(`${name}: cannot create proxy: ${JSON.stringify(r.json)}`);
    return Number(String(r.json.listen).split(':').pop());
  };
  return {
    name,
    pid,
    admin: base,
    echo: await mk('echo', backends.echo),
    bulk: await mk('bulk', backends.bulk),
    echoProxy: 'echo',
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `msg` and resolves when as many bytes came back. */
function roundTrip(s: net.Socket, msg: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const on = (c: Buffer): void => {
      got += c.length;
      if (got >= msg.length) {
        s.off('data', on);
        resolve();
      }
    };
    s.on('data', on);
    s.write(msg);
  });
}

const MSG = Buffer.alloc(64, 97);

async function pingLatency(port: number): Promise<hdr.Histogram> {
  const s = await connect(port);
  for (let i = 0; i < 300; i++) await roundTrip(s, MSG);
  const h = histogram();
  for (let i = 0; i < PING_ROUNDS; i++) {
    const t = process.hrtime.bigint();
    await roundTrip(s, MSG);
    h.recordValue(Number(process.hrtime.bigint() - t) / 1000);
  }
  s.destroy();
  return h;
}

async function smallRps(port: number): Promise<{ rps: number; h: hdr.Histogram; n: number }> {
  const socks = await Promise.all(Array.from({ length: RPS_CONNS }, () => connect(port)));
  const h = histogram();
  let n = 0;
  const end = performance.now() + RPS_MS;
  const start = performance.now();
  await Promise.all(
    socks.map(async (s) => {
      while (performance.now() < end) {
        const t = process.hrtime.bigint();
        await roundTrip(s, MSG);
        h.recordValue(Number(process.hrtime.bigint() - t) / 1000);
        n++;
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  for (const s of socks) s.destroy();
  return { rps: n / secs, h, n };
}

async function bulkMBps(port: number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < BULK_RUNS; i++) {
    const s = await connect(port);
    const t = performance.now();
    let got = 0;
    await new Promise<void>((resolve) => {
      s.on('data', (c: Buffer) => (got += c.length));
      s.on('end', () => resolve());
      s.write(`${BULK_BYTES}\n`);
    });
    if (got !== BULK_BYTES) throw new Error(`bulk: got ${got} of ${BULK_BYTES} bytes`);
    rates.push(BULK_BYTES / 1e6 / ((performance.now() - t) / 1000));
    s.destroy();
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)] as number;
}

async function latencyAccuracy(t: Target, baselineUs: number): Promise<hdr.Histogram> {
  const r = await admin(t.admin!, 'POST', '/proxies/echo/toxics', {
    name: 'lat',
    type: 'latency',
    stream: 'downstream',
    attributes: { latency: 100, jitter: 0 },
  });
  if (r.status !== 200) throw new Error(`${t.name}: cannot add latency: ${JSON.stringify(r.json)}`);
  const h = histogram();
  const socks = await Promise.all(Array.from({ length: LAT_CONNS }, () => connect(t.echo)));
  await Promise.all(
    socks.map(async (s, i) => {
      await sleep(i * 5); // spread the connections over the timer wheel
      for (let k = 0; k < LAT_ROUNDS; k++) {
        const t0 = process.hrtime.bigint();
        await roundTrip(s, MSG);
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        h.recordValue(Math.max(1, Math.round(Math.abs(us - 100_000 - baselineUs))));
      }
    }),
  );
  for (const s of socks) s.destroy();
  await admin(t.admin!, 'DELETE', '/proxies/echo/toxics/lat');
  return h;
}

async function removalTime(t: Target): Promise<{ h: hdr.Histogram; delivered: hdr.Histogram }> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < REMOVE_CONNS; i += 100)
    socks.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(t.echo)))));
  const h = histogram();
  const delivered = histogram();
  const msg = Buffer.from('12345678');
  for (let round = 0; round < REMOVE_ROUNDS; round++) {
    const add = await admin(t.admin!, 'POST', '/proxies/echo/toxics', {
      name: 'rm',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 30_000 },
    });
    if (add.status !== 200) throw new Error(`${t.name}: cannot add toxic: ${JSON.stringify(add.json)}`);
    const back = socks.map((s) => roundTrip(s, msg)); // bytes now held by the toxic on every connection
    await sleep(100);
    // This process must not be busy reading 1,000 sockets while it times the DELETE: pause them.
    for (const s of socks) s.pause();
    const t0 = process.hrtime.bigint();
    const del = await admin(t.admin!, 'DELETE', '/proxies/echo/toxics/rm');
    h.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
    if (del.status !== 204) throw new Error(`${t.name}: delete failed: ${JSON.stringify(del.json)}`);
    for (const s of socks) s.resume();
    await Promise.all(back); // and every held byte arrives
    delivered.recordValue(Number(process.hrtime.bigint() - t0) / 1000);
  }
  for (const s of socks) s.destroy();
  return { h, delivered };
}

const ms = (us: number): number => Math.round(us) / 1000;
const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  const toxiBin = ensureToxiproxy();
  const backends = await startBackends();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-'));
  const bundle = path.join(dir, 'proxy.mjs');
  await esbuild({
    entryPoints: [path.join(ROOT, 'proxy', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: ESM_REQUIRE_BANNER,
    outfile: bundle,
    logLevel: 'error',
  });
  const flPort = await freePort();
  const fl = run(process.execPath, [bundle, '--host', '127.0.0.1', '--port', String(flPort)]);
  const txPort = await freePort();
  const tx = run(toxiBin, ['-host', '127.0.0.1', '-port', String(txPort)], { LOG_LEVEL: 'error' });
  const targets: Target[] = [
    { name: 'direct', echo: backends.echo, bulk: backends.bulk },
    await proxyTarget('faultline', `http://127.0.0.1:${flPort}`, backends, fl.pid),
    await proxyTarget('toxiproxy', `http://127.0.0.1:${txPort}`, backends, tx.pid),
  ];
  const out: Record<PathName, Record<string, number>> = { direct: {}, faultline: {}, toxiproxy: {} };
  const step = (m: string): void => void process.stdout.write(`${m}\n`);
  const only = process.env.BENCH_ONLY?.split(',');
  const want = (m: string): boolean => !only || only.includes(m);
  if (!want('ping')) throw new Error('BENCH_ONLY must include ping (the baseline of the other figures)');

  step('ping latency (1 connection, 64-byte round trips)...');
  for (const t of targets) {
    const h = await pingLatency(t.echo);
    Object.assign(out[t.name], { pingP50Us: h.getValueAtPercentile(50), pingP99Us: h.getValueAtPercentile(99) });
  }
  if (want('rps'))
    step(
      `small-request round trips (${RPS_CONNS} connections, ${RPS_ROUNDS} interleaved rounds of ${RPS_MS / 1000}s, median)...`,
    );
  const rpsRuns: Record<string, { rps: number[]; h: hdr.Histogram; cpu: number; n: number }> = {};
  for (let round = 0; want('rps') && round < RPS_ROUNDS; round++) {
    for (const t of targets) {
      const acc = (rpsRuns[t.name] ??= { rps: [], h: histogram(), cpu: 0, n: 0 });
      const cpu0 = cpuUs(t.pid);
      const { rps, h, n } = await smallRps(t.echo);
      acc.cpu += cpuUs(t.pid) - cpu0;
      acc.n += n;
      acc.rps.push(rps);
      acc.h.add(h);
    }
  }
  for (const [name, r] of Object.entries(rpsRuns)) {
    const sorted = [...r.rps].sort((a, b) => a - b);
    Object.assign(out[name as PathName], {
      rps: sorted[Math.floor(sorted.length / 2)],
      rpsRuns: r.rps,
      rpsP50Us: r.h.getValueAtPercentile(50),
      rpsP99Us: r.h.getValueAtPercentile(99),
      proxyCpuUsPerRoundTrip: r.cpu / r.n,
    });
  }
  step(`bulk throughput (${BULK_BYTES >> 20} MB, median of ${BULK_RUNS})...`);
  for (const t of want('bulk') ? targets : []) out[t.name].bulkMBps = await bulkMBps(t.bulk);
  step('100 ms latency toxic accuracy...');
  for (const t of want('latency') ? targets.slice(1) : []) {
    const h = await latencyAccuracy(t, out[t.name].pingP50Us as number);
    Object.assign(out[t.name], { latErrP50Us: h.getValueAtPercentile(50), latErrP99Us: h.getValueAtPercentile(99) });
  }
  step(`removing a toxic with ${REMOVE_CONNS} connections open (x${REMOVE_ROUNDS})...`);
  for (const t of want('remove') ? targets.slice(1) : []) {
    const { h, delivered } = await removalTime(t);
    Object.assign(out[t.name], {
      removeP50Us: h.getValueAtPercentile(50),
      removeP99Us: h.getValueAtPercentile(99),
      releasedP50Us: delivered.getValueAtPercentile(50),
      releasedP99Us: delivered.getValueAtPercentile(99),
    });
  }

  const d = out.direct;
  const f = out.faultline;
  const x = out.toxiproxy;
  const addedF = (f.pingP50Us as number) - (d.pingP50Us as number);
  const addedX = (x.pingP50Us as number) - (d.pingP50Us as number);
  const rows: [string, string, string, string, string, string, boolean | null][] = [
    [
      'added p50 latency, no toxic (µs)',
      '0',
      fmt(addedF, 0),
      fmt(addedX, 0),
      fmt(addedF / addedX),
      '≤ 100 µs',
      addedF <= 100,
    ],
    [
      'small round trips (req/s)',
      fmt(d.rps!, 0),
      fmt(f.rps!, 0),
      fmt(x.rps!, 0),
      fmt(f.rps! / x.rps!),
      "≥ Toxiproxy's",
      f.rps! >= x.rps!,
    ],
    [
      'proxy CPU per round trip (µs)',
      '-',
      fmt(f.proxyCpuUsPerRoundTrip!, 1),
      fmt(x.proxyCpuUsPerRoundTrip!, 1),
      fmt(f.proxyCpuUsPerRoundTrip! / x.proxyCpuUsPerRoundTrip!),
      'measured',
      null,
    ],
    [
      'small round trips p50 (ms)',
      fmt(ms(d.rpsP50Us!), 3),
      fmt(ms(f.rpsP50Us!), 3),
      fmt(ms(x.rpsP50Us!), 3),
      fmt(f.rpsP50Us! / x.rpsP50Us!),
      'measured',
      null,
    ],
    [
      'small round trips p99 (ms)',
      fmt(ms(d.rpsP99Us!), 3),
      fmt(ms(f.rpsP99Us!), 3),
      fmt(ms(x.rpsP99Us!), 3),
      fmt(f.rpsP99Us! / x.rpsP99Us!),
      'measured',
      null,
    ],
    [
      'bulk throughput (MB/s)',
      fmt(d.bulkMBps!, 0),
      fmt(f.bulkMBps!, 0),
      fmt(x.bulkMBps!, 0),
      fmt(f.bulkMBps! / x.bulkMBps!),
      '≥ 0.8 × Toxiproxy',
      f.bulkMBps! >= 0.8 * x.bulkMBps!,
    ],
    [
      '100 ms latency error p50 (ms)',
      '-',
      fmt(ms(f.latErrP50Us!), 3),
      fmt(ms(x.latErrP50Us!), 3),
      fmt(f.latErrP50Us! / x.latErrP50Us!),
      'measured',
      null,
    ],
    [
      '100 ms latency error p99 (ms)',
      '-',
      fmt(ms(f.latErrP99Us!), 3),
      fmt(ms(x.latErrP99Us!), 3),
      fmt(f.latErrP99Us! / x.latErrP99Us!),
      'p99 ≤ 1 ms',
      f.latErrP99Us! <= 1000,
    ],
    [
      `remove toxics, ${REMOVE_CONNS} conns, p50 (ms)`,
      '-',
      fmt(ms(f.removeP50Us!), 3),
      fmt(ms(x.removeP50Us!), 3),
      fmt(f.removeP50Us! / x.removeP50Us!),
      'measured',
      null,
    ],
    [
      `remove toxics, ${REMOVE_CONNS} conns, p99 (ms)`,
      '-',
      fmt(ms(f.removeP99Us!), 3),
      fmt(ms(x.removeP99Us!), 3),
      fmt(f.removeP99Us! / x.removeP99Us!),
      'p99 ≤ 10 ms',
      f.removeP99Us! <= 10_000,
    ],
    [
      `  ...until all held bytes are back, p50 (ms)`,
      '-',
      fmt(ms(f.releasedP50Us!), 3),
      fmt(ms(x.releasedP50Us!), 3),
      fmt(f.releasedP50Us! / x.releasedP50Us!),
      'measured',
      null,
    ],
    [
      `  ...until all held bytes are back, p99 (ms)`,
      '-',
      fmt(ms(f.releasedP99Us!), 3),
      fmt(ms(x.releasedP99Us!), 3),
      fmt(f.releasedP99Us! / x.releasedP99Us!),
      'measured',
      null,
    ],
  ];
  const head = ['figure', 'direct', 'faultline', 'toxiproxy', 'ratio F/T', 'target', 'met'];
  const table = [head, ...rows.map((r) => [...r.slice(0, 6), r[6] === null ? '' : r[6] ? 'yes' : 'NO'])] as string[][];
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
  console.log('');
  for (const r of table)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    toxiproxy: TOXIPROXY_VERSION,
    parameters: {
      PING_ROUNDS,
      RPS_CONNS,
      RPS_MS,
      RPS_ROUNDS,
      BULK_BYTES,
      BULK_RUNS,
      LAT_CONNS,
      LAT_ROUNDS,
      REMOVE_CONNS,
      REMOVE_ROUNDS,
    },
    figures: Object.fromEntries(
      rows.map((r) => [r[0], { direct: r[1], faultline: r[2], toxiproxy: r[3], ratio: r[4], target: r[5], met: r[6] }]),
    ),
    raw: out,
  };
  if (only) return; // a partial run is for development: keep the last full results
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(ROOT, RESULTS)}`);
}

main()
  .catch((e: Error) => {
    console.error(`bench:proxy failed: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
  });
