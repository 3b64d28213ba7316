// Notifications end to end: a real worker, the real fault proxy, the dev server, and two real HTTP receivers
// started here (node:http). An aborted run's events reach the healthy receiver in order, as CloudEvents 1.0
// in structured mode, with the Authorization header and the Standard Webhooks signature made from the
// worker's environment (never the file). A receiver that holds the abort's request open delays no revert:
// the proxy rule is gone while that request is still open; once it answers again, the retried delivery
// carries the same event id (so a receiver can drop the duplicate).
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { abortExperiment, connectClient, getStatus, startExperiment, waitForResult } from '../cli/client.ts';
import type { FaultlineClient } from '../cli/client.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { inProcessWorker, uniqueId } from './helpers.ts';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; specversion: string; source: string; data: Record<string, unknown> };
  openedAt: number;
  closedAt?: number;
}

/** A webhook receiver: records each request; `hold(req)` true leaves it unanswered (until the client gives up). */
async function receiver(hold: (d: Delivery) => boolean = () => false) {
  const got: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const d: Delivery = { headers: req.headers, body, event: JSON.parse(body), openedAt: Date.now() };
      got.push(d);
      res.on('close', () => (d.closedAt = Date.now()));
      if (!hold(d)) res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return {
    got,
    url,
    types: () => got.map((d) => d.event.type),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const TQ = uniqueId('notify');
const KEY = 'whsec_' + Buffer.from('a signing key of this test').toString('base64');
const TOKEN = 'Bearer e2e-token-from-the-environment';
let web: http.Server;
let proxy: ProxyServer;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof inProcessWorker>>;

beforeAll(async () => {
  web = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  proxy = await startProxyServer({ port: 0, token: 'notify-token' });
  await proxy.proxies.create({
    name: 'svc',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${(web.address() as { port: number }).port}`,
  });
  fc = await connectClient();
  worker = await inProcessWorker(TQ, {
    FAULTLINE_PROXY_URL: proxy.url,
    FAULTLINE_PROXY_TOKEN: 'notify-token',
    E2E_NOTIFY_TOKEN: TOKEN,
    E2E_NOTIFY_KEY: KEY,
  });
});

afterAll(async () => {
  await worker?.stop();
  await fc?.close();
  await proxy?.close();
  await new Promise<void>((r) => web?.close(() => r()));
});

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
}

describe('notifications', () => {
  it('an aborted run: the receiver gets its events in order, signed; a receiver that hangs delays no revert', async () => {
    let holding = true;
    const good = await receiver();
    // Holds the abort's request open (every attempt) until the test lets it answer.
    const hang = await receiver((d) => holding && d.event.type.endsWith('.aborted'));
    try {
      const r = parseExperiment(
        `title: notified run
hypothesis:
  statement: the service answers
  probes: [ { name: svc, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 2 } ]
method:
  - { kind: proxy.latency, proxy: svc, latency: 5ms, duration: 60s }
notify:
  - name: good
    url: "${good.url}"
    headers: { X-Team: sre, Authorization: { env: E2E_NOTIFY_TOKEN } }
    signingKey: { env: E2E_NOTIFY_KEY }
  - { name: hang, url: "${hang.url}", events: [abort, verdict] }
`,
        'notify.yaml',
      );
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      const { workflowId } = await startExperiment(fc, r.experiment, { taskQueue: TQ });
      await until(() => good.types().includes('dev.faultline.experiment.fault.injected'), 'the inject was told');
      await until(async () => (await getStatus(fc, workflowId)).journal?.phase === 'observing', 'the window');
      const aborted = await abortExperiment(fc, workflowId, 'enough', 'e2e');
      // The abort returns once the proxy rule is gone; the hanging receiver still holds the abort's request.
      const revertedAt = Date.parse(aborted.faults[0]?.revertedAt ?? '');
      expect(aborted.faults.map((f) => f.status)).toEqual(['reverted']);
      expect(proxy.proxies.get('svc').toxics.all()).toEqual([]);
      await until(() => hang.got.length > 0, 'the abort reached the hanging receiver');
      const held = hang.got[0] as Delivery;
      expect(held.event.type).toBe('dev.faultline.experiment.aborted');
      expect(held.openedAt).toBeLessThanOrEqual(Date.now());
      // Ordering, not durations: the revert took effect before the hanging request was closed.
      expect(held.closedAt === undefined || revertedAt < held.closedAt).toBe(true);
      holding = false; // from now on it answers: the abort's retried delivery, then the verdict
      const j = await waitForResult(fc, workflowId);
      expect(j.verdict).toBe('aborted');

      expect(good.types()).toEqual([
        'dev.faultline.experiment.started',
        'dev.faultline.experiment.fault.injected',
        'dev.faultline.experiment.aborted',
        'dev.faultline.experiment.verdict',
      ]);
      for (const d of good.got) {
        expect(d.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
        expect(d.headers.authorization).toBe(TOKEN);
        expect(d.headers['x-team']).toBe('sre');
        expect(d.event).toMatchObject({ specversion: '1.0', source: `/faultline/experiment/${workflowId}` });
        const signed = `${d.headers['webhook-id']}.${d.headers['webhook-timestamp']}.${d.body}`;
        const mac = createHmac('sha256', Buffer.from(KEY.slice(6), 'base64'))
          .update(signed)
          .digest('base64');
        expect(d.headers['webhook-signature']).toBe(`v1,${mac}`);
        expect(d.headers['webhook-id']).toBe(d.event.id);
      }
      expect(good.got.map((d) => d.event.id)).toEqual([1, 2, 3, 4].map((n) => `${j.runId}.${n}`));
      // The hanging receiver: the abort (maybe tried more than once, always the same id), then the verdict.
      const ids = hang.got.map((d) => [d.event.type, d.event.id]);
      expect(ids.at(-1)).toEqual(['dev.faultline.experiment.verdict', `${j.runId}.4`]);
      expect(new Set(ids.slice(0, -1).map((x) => x.join(' ')))).toEqual(
        new Set([`dev.faultline.experiment.aborted ${j.runId}.3`]),
      );
      expect(j.notify?.failed).toEqual([]);
    } finally {
      holding = false;
      await good.close();
      await hang.close();
    }
  });
});
