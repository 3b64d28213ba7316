// npm run bench:judge:record — records the real streams bench:judge replays (bench/fixtures/judge-streams.json):
// the demo (front + 3 backends through the fault proxy, the front's own load) scraped every second by the
// real Prometheus; every second the raw counters of the front's tries to its upstreams are read
// (sum(demo_upstream_requests_total) and its non-200 part), exactly as the judge reads them. The demo has no
// errors of its own, so a background error rate comes from the fault proxy: an http.abort (503) on every
// backend route on BASE percent of requests; the faults raise it to 2, 5 and 10 times that.
// Needs Docker and Prometheus (scripts/setup.sh); run under the e2e lock:
//   flock /tmp/faultline-e2e.lock npm run bench:judge:record
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoDown, demoUp } from '../demo/index.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { prometheusFor } from '../activities/adapters/prometheus.ts';
import { readCounters } from '../activities/prometheus-probe.ts';
import { freePort } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import { format } from 'prettier';

const BASE = 1; // percent of requests aborted in the baseline
const LOAD_RPS = 50;
const CONDITIONS = [
  { name: 'baseline', mult: 1, seconds: Number(process.env.BASELINE_S ?? 240) },
  { name: '2x', mult: 2, seconds: Number(process.env.FAULT_S ?? 90) },
  { name: '5x', mult: 5, seconds: Number(process.env.FAULT_S ?? 90) },
  { name: '10x', mult: 10, seconds: Number(process.env.FAULT_S ?? 90) },
];
const TICK_MS = 1000;
const LEASE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const prefix = `fl-rec-${process.pid}`;
const stack = await demoUp({
  prefix,
  frontPort: await freePort(),
  proxyAdminPort: await freePort(),
  loadRps: LOAD_RPS,
});
const proxy = new ProxyClient(stack.proxyAdminUrl as string, stack.proxyToken);
const prom = prometheusFor();
const sel = `demo="${prefix}"`;
const events = {
  total: `sum(demo_upstream_requests_total{${sel}})`,
  bad: `sum(demo_upstream_requests_total{${sel},code!="200"}) or vector(0)`,
};
const routes = await proxy.listProxies();
let toxics: string[] = [];

async function setAbortPercent(pct: number): Promise<void> {
  await clear();
  const name = `bench-record-abort-${pct}`;
  for (const r of routes)
    await proxy.addToxic(
      r,
      {
        name,
        type: 'http_abort',
        stream: 'upstream',
        toxicity: 1,
        attributes: { status: 503, percentage: pct, method: '', path_prefix: '', headers: {} },
      },
      LEASE_MS,
    );
  toxics = [name];
}

async function clear(): Promise<void> {
  for (const t of toxics) for (const r of routes) await proxy.removeToxic(r, t);
  toxics = [];
}

try {
  for (let i = 0; ; i++) {
    const r = await readCounters(prom, 'record', events);
    if (r && r.total > 50) break;
    if (i > 200) throw new Error('the demo never showed up in Prometheus');
    await sleep(300);
  }
  const out: { name: string; mult: number; abortPercent: number; ticks: [number, number, number][] }[] = [];
  for (const c of CONDITIONS) {
    await setAbortPercent(BASE * c.mult);
    await sleep(3_000); // two scrapes, so the first tick already sees the new rate
    const ticks: [number, number, number][] = []; // [epoch ms, total, bad]
    const start = Date.now();
    let lastRenew = Date.now();
    for (let k = 0; k < c.seconds; k++) {
      await sleep(start + k * TICK_MS - Date.now());
      const r = await readCounters(prom, 'record', events);
      if (r) ticks.push([Date.now(), r.total, r.part]);
      if (Date.now() - lastRenew > 5_000) {
        for (const t of toxics) for (const rt of routes) await proxy.renewToxic(rt, t, LEASE_MS);
        lastRenew = Date.now();
      }
    }
    const n = ticks.length ? ticks[ticks.length - 1]![1] - ticks[0]![1] : 0;
    const x = ticks.length ? ticks[ticks.length - 1]![2] - ticks[0]![2] : 0;
    console.log(
      `${c.name}: ${ticks.length} ticks, ${n} events, ${x} bad (${((100 * x) / Math.max(1, n)).toFixed(2)}%)`,
    );
    out.push({ name: c.name, mult: c.mult, abortPercent: BASE * c.mult, ticks });
  }
  const file = path.join(PROJECT_ROOT, 'bench', 'fixtures', 'judge-streams.json');
  mkdirSync(path.dirname(file), { recursive: true });
  const text = JSON.stringify({
    recordedAt: new Date().toISOString(),
    how: `demo front (LOAD_RPS ${LOAD_RPS}) -> fault proxy -> 3 backends; http.abort 503 on every route at ${BASE}% x mult; Prometheus scrape 1s; raw counters read every ${TICK_MS} ms`,
    expressions: { total: events.total.replace(prefix, 'DEMO'), bad: events.bad.replace(prefix, 'DEMO') },
    tickMs: TICK_MS,
    tickFields: ['t (epoch ms)', 'total', 'bad'],
    conditions: out,
  });
  writeFileSync(file, await format(text, { parser: 'json' })); // as prettier --check wants it
  console.log(`wrote ${path.relative(PROJECT_ROOT, file)}`);
} finally {
  await clear().catch(() => undefined);
  await demoDown({ prefix });
}
