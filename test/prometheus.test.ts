// Prometheus probes against the real demo (prom-client metrics) scraped by the real Prometheus that
// scripts/setup.sh starts: counters differenced, gauges checked, resets handled, bad input named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { prometheusFor } from '../activities/adapters/prometheus.ts';
import { readCounters, runPrometheusProbe } from '../activities/prometheus-probe.ts';
import { counterDelta } from '../judge/counters.ts';
import { judgeSchema, prometheusProbeSchema, type PrometheusProbe } from '../experiments/schema.ts';
import { measureBaseline } from '../activities/judge.ts';
import { docker, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';

let stack: DemoStack;
let stopLoad: () => Promise<void>;
const prom = prometheusFor();

/** Steady traffic to the front, so the counters move. */
function load(url: string, everyMs = 20): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      await request(url, { headersTimeout: 2_000 })
        .then((r) => r.body.dump())
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const probe = (p: Record<string, unknown>): PrometheusProbe =>
  prometheusProbeSchema.parse({ name: 'p', type: 'prometheus', window: '2s', ...p });

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-prom'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  stopLoad = load(`${stack.frontUrl}/`);
  // Prometheus finds the new containers through Docker within a few seconds.
  await until('the demo in Prometheus', async () => {
    const s = await prom.instant(`sum(demo_http_requests_total{demo="${stack.prefix}",role="front"})`);
    return s[0] && s[0].value > 0 ? true : undefined;
  });
});

afterAll(async () => {
  await stopLoad?.();
  if (stack) await demoDown({ prefix: stack.prefix });
});

describe('prometheus probe', () => {
  it('events: differences raw counters over the window (bad and good forms agree)', async () => {
    const front = `demo="${stack.prefix}",role="front"`;
    const bad = await runPrometheusProbe(
      probe({
        events: {
          total: `sum(demo_http_requests_total{${front}})`,
          bad: `sum(demo_http_requests_total{${front},code=~"5.."}) or vector(0)`,
        },
        maxBadRate: 0.01,
      }),
    );
    expect(bad).toMatchObject({ ok: true, errors: 0, errorRate: 0 });
    expect(bad.requests).toBeGreaterThan(10);
    const slow = await runPrometheusProbe(
      probe({
        events: {
          total: `sum(demo_http_request_duration_seconds_count{${front}})`,
          good: `sum(demo_http_request_duration_seconds_bucket{${front},le="0.1"})`,
        },
      }),
    );
    expect(slow.ok).toBe(true);
    expect(slow.requests).toBeGreaterThan(10);
    expect(slow.errorRate).toBeLessThan(0.2);
  });

  it('query: a gauge against min and max', async () => {
    const q = `count(up{demo="${stack.prefix}"} == 1)`;
    const ok = await runPrometheusProbe(probe({ query: q, min: 4, max: 4 }));
    expect(ok).toMatchObject({ ok: true, value: 4 });
    const low = await runPrometheusProbe(probe({ query: q, min: 5 }));
    expect(low).toMatchObject({ ok: false, violations: ['value 4 < min 5'] });
    const none = await runPrometheusProbe(probe({ query: 'absent_metric_for_faultline_tests', min: 1 }));
    expect(none.ok).toBe(false);
    expect(none.violations[0]).toMatch(/no data: query .* returned no series/);
    const allowed = await runPrometheusProbe(probe({ query: 'absent_metric_for_faultline_tests', noData: 'pass' }));
    expect(allowed.ok).toBe(true);
  });

  it('names the probe when the server rejects the PromQL, when several series come back, when unreachable', async () => {
    await expect(runPrometheusProbe(probe({ name: 'broken', query: 'sum(' }))).rejects.toThrow(
      /^probe broken: query: Prometheus rejected "sum\(": bad_data/,
    );
    await expect(
      runPrometheusProbe(probe({ name: 'many', query: `demo_http_requests_total{demo="${stack.prefix}"}` })),
    ).rejects.toMatchObject({
      name: 'MetricQueryError',
      message: expect.stringMatching(/^probe many: query ".*" returned \d+ series .* it must return exactly one/),
    });
    const port = await freePort(); // nothing listens there
    await expect(
      runPrometheusProbe(probe({ name: 'nowhere', url: `http://127.0.0.1:${port}`, query: 'up' })),
    ).rejects.toMatchObject({
      name: 'InfrastructureError',
      message: expect.stringMatching(/^probe nowhere: query: Prometheus at http:\/\/127.0.0.1:\d+ does not answer/),
    });
  });

  it('judge baselines: an expression with no series is refused naming it; absentMeansZero reads it as 0', async () => {
    const front = `demo="${stack.prefix}",role="front"`;
    const judge = (metric: Record<string, unknown>) =>
      judgeSchema.parse({ baseline: { window: '1s' }, metrics: [{ name: 'errors', maxRate: 0.05, ...metric }] });
    const events = {
      total: `sum(demo_http_requests_total{${front}})`,
      bad: `sum(demo_http_requests_total{${front},code=~"5.."})`, // no 5xx yet: no series at all
    };
    // A typo in a label of the total (and no 5xx yet): both expressions empty is no data even with
    // absentMeansZero, refused at once (before the window), naming the metric and the expressions.
    const typo = { ...events, total: `sum(demo_http_requests_total{demo="${stack.prefix}",rol="front"})` };
    await expect(
      measureBaseline(judge({ events: typo, absentMeansZero: true }), () => undefined),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^judged metric errors: events\.total "sum\(demo_http_requests_total\{demo=\\"fl-prom-\S+\\",rol=\\"front\\"\}\)" and events\.bad ".*" returned no series at the start of the baseline, .*absentMeansZero reads one missing expression as 0, not all of them/,
      ),
    });
    // The error counter that does not exist until the first error, without absentMeansZero: refused even with maxRate.
    await expect(measureBaseline(judge({ events }), () => undefined)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^judged metric errors: events\.bad ".*" returned no series .*absentMeansZero: true/,
      ),
    });
    // With absentMeansZero: a baseline of zero bad events over the front's real traffic.
    const { baselines } = await measureBaseline(judge({ events, absentMeansZero: true }), () => undefined);
    expect(baselines.errors).toMatchObject({ x: 0, rate: 0 });
    expect(baselines.errors!.n).toBeGreaterThan(0);
  });

  it('a backend restarted by a kill resets its counter: the difference is never negative', async () => {
    const b1 = `demo="${stack.prefix}",container="${stack.containers.backends[0]}"`;
    const ev = {
      total: `sum(demo_http_requests_total{${b1}})`,
      good: `sum(demo_http_requests_total{${b1},code="200"})`,
    };
    const before = await until('backend-1 traffic', async () => {
      const r = await readCounters(prom, 'b1', ev);
      return r && r.total > 20 ? r : undefined;
    });
    const c = docker.getContainer(stack.containers.backends[0] as string);
    await c.kill({ signal: 'SIGKILL' });
    await c.start();
    const after = await until('the restarted counter', async () => {
      const r = await readCounters(prom, 'b1', ev);
      return r && r.total < before.total ? r : undefined;
    });
    const d = counterDelta(before, after);
    expect(d.reset).toBe(true);
    expect(d.events).toBe(after.total);
    expect(d.bad).toBeLessThanOrEqual(d.events);
    expect(after.total - before.total).toBeLessThan(0); // the raw difference would have been negative
  });
});
