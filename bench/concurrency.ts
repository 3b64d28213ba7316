// npm run bench:concurrency [-- N1,N2,...]: N experiments at once on ONE worker (the real experiment and
// admission workflows on a real Temporal dev server; in-memory container ports, so no Docker), each
// pausing its own container for a window with a guard every 250 ms against a local HTTP service.
// Figures: guard-sample lateness (gap between a run's consecutive guard samples minus the interval,
// p50/p99), admission latency (the admitRun activity, scheduled to completed, from history) and this
// process's CPU and peak RSS (worker, bench client and the local service share it). JSON in bench/results/.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';

const SIZES = (process.argv[2] ?? '10,50,100,200').split(',').map(Number);
const INTERVAL_MS = 250;
const WINDOW = '6s';

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-conc-'));
const server = await startDevServer({
  dbFile: path.join(dir, 'temporal.db'),
  port: await freePort(),
  uiPort: await freePort(),
  logFile: path.join(dir, 'temporal.log'),
  detached: false,
});
process.env.TEMPORAL_ADDRESS = server.address;
const { harness, experiment } = await import('../test/support/workflow-harness.ts');

const results: Record<string, unknown>[] = [];
function save(): void {
  mkdirSync(path.join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(PROJECT_ROOT, 'bench', 'results', 'concurrency.json'),
    `${JSON.stringify({ at: new Date().toISOString(), intervalMs: INTERVAL_MS, window: WINDOW, machine: `${os.cpus().length} cores, shared`, results }, null, 2)}\n`,
  );
}
try {
  for (const n of SIZES) {
    const h = await harness(`conc${n}`);
    const seen = new Map<string, number[]>();
    h.setHealth((p) => {
      if (p.startsWith('/g-')) (seen.get(p) ?? seen.set(p, []).get(p)!).push(Date.now());
      return 'ok';
    });
    for (let i = 0; i < n; i++) h.world.addContainer(`c${i}`);
    await h.startWorker('w1');
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.start(
          experiment(
            `
title: conc ${i}
hypothesis: { statement: s, probes: [ { name: h, type: http, url: "\${URL}h-${i}", requests: 1, timeout: 1s } ] }
targets: { names: [ c${i} ] }
method: [ { kind: container.pause, duration: ${WINDOW} } ]
admission: { wait: 2m }
afterCheck: { recoveryTimeout: 1s }
guard: { interval: ${INTERVAL_MS}ms, probes: [ { name: g, type: http, url: "\${URL}g-${i}", requests: 1, timeout: 200ms } ] }
`,
            h.url,
          ),
        ),
      ),
    );
    const journals = await Promise.all(handles.map((x) => h.result(x)));
    const wallMs = Date.now() - t0;
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const lateness: number[] = [];
    for (const times of seen.values())
      for (let k = 1; k < times.length; k++)
        lateness.push(Math.max(0, (times[k] as number) - (times[k - 1] as number) - INTERVAL_MS));
    const admission: number[] = [];
    await Promise.all(
      handles.map(async (x) => {
        const hist = await x.fetchHistory();
        const scheduled = new Map<string, number>();
        for (const ev of hist.events ?? []) {
          const at = Number(ev.eventTime?.seconds ?? 0) * 1000 + Math.round((ev.eventTime?.nanos ?? 0) / 1e6);
          if (ev.activityTaskScheduledEventAttributes?.activityType?.name === 'admitRun')
            scheduled.set(String(ev.eventId), at);
          const done = ev.activityTaskCompletedEventAttributes;
          if (done && scheduled.has(String(done.scheduledEventId)))
            admission.push(at - (scheduled.get(String(done.scheduledEventId)) as number));
        }
      }),
    );
    const verdicts: Record<string, number> = {};
    for (const j of journals) verdicts[j.verdict ?? '?'] = (verdicts[j.verdict ?? '?'] ?? 0) + 1;
    const row = {
      n,
      verdicts,
      guardSamples: lateness.length + seen.size,
      latenessP50Ms: pct(lateness, 50),
      latenessP99Ms: pct(lateness, 99),
      admissionP50Ms: pct(admission, 50),
      admissionP99Ms: pct(admission, 99),
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      wallMs,
      leftovers: h.world.leftovers().length,
    };
    results.push(row);
    console.log(JSON.stringify(row));
    save(); // after each N: a run stopped at a large N keeps the smaller ones
    await h.close();
  }
} finally {
  await server.stop();
}

console.log(
  '\n| N | verdicts | guard lateness p50 / p99 | admission p50 / p99 | CPU (% of one core) | peak RSS | p99 vs 50 ms target |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.n} | ${JSON.stringify(r.verdicts)} | ${r.latenessP50Ms} / ${r.latenessP99Ms} ms | ${r.admissionP50Ms} / ${r.admissionP99Ms} ms | ${r.cpuPercentOfOneCore} % | ${r.peakRssMiB} MiB | ${((r.latenessP99Ms as number) / 50).toFixed(2)}x |`,
  );
