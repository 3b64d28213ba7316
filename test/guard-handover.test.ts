// Issue 16 item 4, more workers: two real worker processes on one task queue, the run's own Temporal dev
// server, the real fault proxy (its admin API, in this process) and a real HTTP service the guards watch
// through each run's own route. RUNS experiments at once each put a latency rule on their own route for one
// window with a 500 ms guard; half keep the default guard.maxGap (3 cadences: 1.5 s), half allow 8 s (and
// a window watched for 80 %: the handover's few seconds are more than 5 % of a 30 s window). Once
// every rule is applied, the worker that holds more guards is SIGKILLed. Then: every run's guard ended on the
// survivor (the moved ones on a later attempt after the heartbeat timeout) and came back within the window
// (the handover's length, about the guard's 3 s heartbeat timeout, is measured and printed, not asserted:
// no timed assertions), a run whose longest unwatched gap exceeded its maxGap is
// `aborted` naming the gap (never `passed`), a run within its maxGap is `passed`, and every rule is gone
// from the proxy with each fault reverted in its journal.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { parseExperiment } from '../experiments/parse.ts';
import type { Journal } from '../experiments/journal.ts';
import { killProcess, ownDevServer, uniqueId, workerProcess } from './helpers.ts';
import { guardAttempts, handoverFigures } from './support/handover.ts';

/**
 * The runs at once. Issue 16 item 4 asks for 50: `npm run bench:workers` runs 50 and 100. Here 10 by default
 * (FAULTLINE_HANDOVER_RUNS for more): on this 2-core machine shared with other suites (load average 20-35),
 * 50 runs took 90 s to 5 min from their start to the last inject (admission, then each run's workflow tasks),
 * far beyond the e2e budget, and the handover is the same per guard whether 10 or 50 move.
 */
const RUNS = Number(process.env.FAULTLINE_HANDOVER_RUNS ?? 10);
const LONG_MAX_GAP_MS = 8_000;

let server: Awaited<ReturnType<typeof ownDevServer>> | undefined;
let proxy: ProxyServer;
let service: http.Server;
let client: Client;
const workers: Awaited<ReturnType<typeof workerProcess>>[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

beforeAll(async () => {
  server = await ownDevServer('guard-handover'); // its own: this file SIGKILLs a worker with 50 runs open
  service = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  proxy = await startProxyServer({ port: 0 });
  client = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS as string }) });
});

afterAll(async () => {
  for (const w of workers) await killProcess(w, 'SIGTERM');
  await client?.connection.close();
  await proxy?.close();
  await new Promise<void>((r) => (service ? service.close(() => r()) : r()));
  await server?.stop();
});

/** RUNS routes on the proxy, each to the service; returns each one's listening address. */
async function routes(prefix: string): Promise<string[]> {
  const upstream = `127.0.0.1:${(service.address() as AddressInfo).port}`;
  const body = Array.from({ length: RUNS }, (_, i) => ({ name: `${prefix}-${i}`, listen: '127.0.0.1:0', upstream }));
  const res = await fetch(`${proxy.url}/populate`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  const made = ((await res.json()) as { proxies: { name: string; listen: string }[] }).proxies;
  return body.map((b) => made.find((p) => p.name === b.name)!.listen);
}

const yaml = (prefix: string, i: number, listen: string) => `
title: handover ${i}
hypothesis: { statement: the route answers, probes: [ { name: h, type: http, url: "http://${listen}/h", requests: 1, timeout: 5s } ] }
method: [ { kind: proxy.latency, proxy: ${prefix}-${i}, latency: 10ms, duration: 30s } ]
admission: { wait: 5m }
afterCheck: { recoveryTimeout: 5s }
guard:
  interval: 500ms
  ${i % 2 ? `maxGap: ${LONG_MAX_GAP_MS}ms\n  minCoverage: 0.8` : '# maxGap: the default, 1.5 s'}
  probes: [ { name: g, type: http, url: "http://${listen}/g", requests: 1, timeout: 5s } ]
`;

/** The toxics on the routes, by route. */
async function toxics(prefix: string): Promise<Map<string, number>> {
  const all = (await (await fetch(`${proxy.url}/proxies`)).json()) as Record<string, { toxics: unknown[] }>;
  return new Map(
    Object.entries(all)
      .filter(([n]) => n.startsWith(`${prefix}-`))
      .map(([n, p]) => [n, p.toxics.length]),
  );
}

describe('two workers, one SIGKILLed while every run is in its fault window', () => {
  it(`${RUNS} runs: every guard resumes on the survivor, each back within its window, a gap longer than maxGap aborts`, async () => {
    const tq = uniqueId('handover');
    const prefix = uniqueId('ho');
    const listens = await routes(prefix);
    const env = { FAULTLINE_PROXY_URL: proxy.url, FAULTLINE_WORKER_AGENT: 'off' };
    workers.push(...(await Promise.all([workerProcess(tq, env), workerProcess(tq, env)])));
    const handles = await Promise.all(
      listens.map((listen, i) => {
        const r = parseExperiment(yaml(prefix, i, listen), `handover-${i}.yaml`);
        if (!r.ok) throw new Error(JSON.stringify(r.problems));
        return client.workflow.start('runExperiment', {
          taskQueue: tq,
          workflowId: `${tq}-${i}`,
          args: [{ experiment: r.experiment, searchAttributes: true }],
        });
      }),
    );
    // Every rule applied: every run is in its window.
    for (const t = Date.now(); [...(await toxics(prefix)).values()].filter((n) => n > 0).length < RUNS;) {
      if (Date.now() - t > 90_000) throw new Error('the runs were not all in their windows within 90 s');
      await sleep(200);
    }
    // The worker that holds more guards is killed (each guard's worker, from its pending activity).
    const holders = await Promise.all(
      handles.map(async (h) => {
        const d = await h.describe();
        return d.raw.pendingActivities?.find((a) => a.activityType?.name === 'observe')?.lastWorkerIdentity ?? '';
      }),
    );
    const byPid = (w: (typeof workers)[number]) => holders.filter((x) => x.startsWith(`${w.pid}@`)).length;
    const [victim, survivor] = byPid(workers[0]!) >= byPid(workers[1]!) ? workers : [workers[1]!, workers[0]!];
    expect(byPid(victim!), `guards per worker: ${byPid(workers[0]!)} and ${byPid(workers[1]!)}`).toBeGreaterThan(0);
    const killedAt = Date.now();
    await killProcess(victim!, 'SIGKILL');

    const journals = (await Promise.all(handles.map((h) => h.result()))) as Journal[];
    const attempts = await guardAttempts(handles);
    const f = handoverFigures(journals, attempts, killedAt);
    console.log(JSON.stringify({ guardsOnVictim: byPid(victim!), ...f.summary }));
    console.log(f.runs.map((r, i) => `${i}: ${r.verdict} gap ${r.gapMs} ms moved ${r.moved}`).join('\n'));

    for (const [i, j] of journals.entries()) {
      const c = j.guardSamples.coverage!;
      const a = attempts[i]!;
      const what = `run ${i}: ${j.verdict} ${j.reason ?? ''} gap ${JSON.stringify(c.longestGap)} attempts ${a.attempt} on ${a.identity}`;
      // Its window was open at the kill, and its guard ended on the survivor.
      expect(Date.parse(j.faults[0]!.endsAt!), what).toBeGreaterThan(killedAt);
      expect(a.identity.startsWith(`${survivor!.pid}@`), what).toBe(true);
      if (holders[i]!.startsWith(`${victim!.pid}@`)) {
        expect(a.attempt, what).toBeGreaterThan(1);
        expect(a.lastFailure, what).toMatch(/heartbeat/i);
      }
      // The guard came back within the window. How long the handover takes (the heartbeat timeout, 3 s, plus
      // the last look before the kill and the retry's pick-up) is measured above and in bench:workers, not
      // asserted: under CI's load one gap was 4.54 s against maxGap + heartbeat timeout = 4.5 s.
      expect(Date.parse(c.longestGap.to), what).toBeLessThanOrEqual(Date.parse(j.faults[0]!.endsAt!));
      // Longer than its maxGap: never passed (aborted when the guard came back within the window and reverted
      // for it, else inconclusive), the reason naming the gap.
      if (c.longestGap.ms > c.maxGapMs) {
        expect(['aborted', 'inconclusive'], what).toContain(j.verdict);
        expect(j.reason, what).toMatch(/the guard saw nothing for .* longer than guard\.maxGap/);
      } else expect(j.verdict, what).toBe('passed');
      expect(
        j.faults.map((x) => x.status),
        what,
      ).toEqual(['reverted']);
    }
    expect(f.moved).toBeGreaterThanOrEqual(byPid(victim!));
    expect([...(await toxics(prefix)).values()].every((n) => n === 0)).toBe(true);
  });
});
