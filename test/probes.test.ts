// HTTP probes against a real local server: error rate, latency percentiles from the HDR histogram,
// request count or duration, concurrency, expected statuses, timeouts, and the tolerance verdict.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeProbeAgents, runProbe } from '../activities/probes.ts';
import { httpProbeSchema, type HttpProbe } from '../experiments/schema.ts';

let server: http.Server;
let base = '';
let hits = 0;
let maxInFlight = 0;
let inFlight = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    const counted = req.url === '/created'; // concurrency is measured on this route only
    if (counted) maxInFlight = Math.max(maxInFlight, ++inFlight);
    const done = (status: number) => {
      if (counted) inFlight--;
      res.writeHead(status).end('x');
    };
    if (req.url === '/slow') setTimeout(() => done(200), 120);
    else if (req.url === '/hang') setTimeout(() => done(200), 3000);
    else if (req.url === '/flaky') done(hits % 2 ? 500 : 200);
    else if (req.url === '/created' && req.method === 'POST') setTimeout(() => done(201), 20);
    else setTimeout(() => done(200), 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await closeProbeAgents();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const probe = (p: Record<string, unknown>): HttpProbe => httpProbeSchema.parse({ name: 'p', type: 'http', ...p });

describe('http probe', () => {
  it('holds for a healthy endpoint and measures latency', async () => {
    const s = await runProbe(probe({ url: `${base}/`, requests: 10, tolerance: { maxErrorRate: 0, p95: '500ms' } }));
    expect(s).toMatchObject({ ok: true, requests: 10, errors: 0, errorRate: 0, violations: [] });
    expect(s.p50Ms).toBeGreaterThanOrEqual(4);
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
  });

  it('counts unexpected statuses as errors and judges the error rate', async () => {
    const s = await runProbe(probe({ url: `${base}/flaky`, requests: 10, tolerance: { maxErrorRate: 0.2 } }));
    expect(s.errors).toBe(5);
    expect(s.errorRate).toBe(0.5);
    expect(s.ok).toBe(false);
    expect(s.violations.join()).toMatch(/error rate 50.0% > 20.0%/);
    expect(s.errorSamples).toContain('status 500');
  });

  it('judges p95 against its tolerance', async () => {
    const s = await runProbe(probe({ url: `${base}/slow`, requests: 4, tolerance: { p95: '50ms' } }));
    expect(s.errors).toBe(0);
    expect(s.p95Ms).toBeGreaterThanOrEqual(120);
    expect(s.violations.join()).toMatch(/p95 .*ms > 50ms/);
  });

  it('counts a request past its timeout as an error', async () => {
    const s = await runProbe(probe({ url: `${base}/hang`, requests: 1, timeout: '200ms' }));
    expect(s.errors).toBe(1);
    expect(s.errorSamples[0]).toMatch(/timeout after 200ms/);
    expect(s.ok).toBe(false);
  });

  it('runs for a duration with the given concurrency, and accepts a list of expected statuses', async () => {
    maxInFlight = 0;
    const s = await runProbe(
      probe({
        url: `${base}/created`,
        method: 'POST',
        body: '{}',
        expectStatus: [200, 201],
        duration: '300ms',
        concurrency: 4,
      }),
    );
    expect(s.ok).toBe(true);
    expect(s.requests).toBeGreaterThan(8);
    expect(maxInFlight).toBe(4);
  });

  it('counts a refused connection as an error', async () => {
    const s = await runProbe(probe({ url: 'http://127.0.0.1:1/', requests: 2, timeout: '500ms' }));
    expect(s.errors).toBe(2);
    expect(s.errorSamples.join()).toMatch(/ECONNREFUSED/);
  });
});
