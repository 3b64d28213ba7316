// The proxy.* and http.* fault kinds against a real fault proxy, through Faultline's ProxyClient:
// inject, see the effect through a socket, revert (twice: idempotent), and the lease lapsing when
// keepAlive stops. Every kind checks its own effect and its own revert on the proxy.
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pool, request } from 'undici';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { faultKind } from '../faults/registry.ts';
import { FAULT_LEASE_MS, type ProxyFaultHandle } from '../faults/proxy-common.ts';
import type { Ports } from '../faults/ports.ts';
import { Client, echoServer, sleep } from '../proxy/test/support.ts';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { freePort } from '../cli/dev-server.ts';
import { demoExperiment, inProcessWorker, uniqueId } from './helpers.ts';

let srv: ProxyServer;
let echo: Awaited<ReturnType<typeof echoServer>>;
let web: http.Server;
let ports: Ports;
const listen: Record<string, number> = {};

beforeAll(async () => {
  echo = await echoServer();
  web = http.createServer((req, res) => res.end(`ok ${req.url}`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  srv = await startProxyServer({ port: 0, token: 'test-token' });
  ports = { containers: {} as Ports['containers'], proxy: new ProxyClient(srv.url, 'test-token') };
});
afterAll(async () => {
  await srv.close();
  await echo.close();
  await new Promise<void>((r) => web.close(() => r()));
});
afterEach(() => srv.proxies.close());

async function route(name: string, upstreamPort: number): Promise<number> {
  const p = await srv.proxies.create({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}` });
  listen[name] = Number(p.listen.split(':')[1]);
  return listen[name];
}

async function toxicsOn(
  proxy: string,
): Promise<{ name: string; type: string; attributes: Record<string, unknown>; expires_at?: string }[]> {
  const r = await request(`${srv.url}/proxies/${proxy}/toxics`, { headers: { authorization: 'Bearer test-token' } });
  return (await r.body.json()) as never;
}

/** Parses the fault entry with its kind's own schema, prepares the handle. */
async function prepared(
  entry: Record<string, unknown>,
): Promise<{ kind: NonNullable<ReturnType<typeof faultKind>>; spec: unknown; h: ProxyFaultHandle }> {
  const kind = faultKind(entry.kind as string);
  if (!kind) throw new Error(`no kind ${String(entry.kind)}`);
  const spec = kind.spec.parse({ duration: '30s', ...entry });
  const h = (await kind.prepare(ports, spec, {})) as ProxyFaultHandle;
  return { kind, spec, h };
}

async function rtt(c: Client, msg: string): Promise<number> {
  const t = performance.now();
  c.write(msg);
  expect(await c.read(msg.length)).toBe(msg);
  return performance.now() - t;
}

describe('specs', () => {
  it('accepts good entries and rejects bad ones with the field named', () => {
    const good = [
      { kind: 'proxy.latency', proxy: 'api', latency: '300ms' },
      { kind: 'proxy.latency', proxy: ['a', 'b'], latency: '1s', jitter: '20ms', stream: 'both', toxicity: 0.5 },
      { kind: 'proxy.partition', proxy: 'db' },
      { kind: 'proxy.partition', proxy: 'db', mode: 'down' },
      { kind: 'proxy.bandwidth', proxy: 'db', rate: 100 },
      { kind: 'proxy.reset', proxy: 'db', after: '100ms' },
      {
        kind: 'http.delay',
        proxy: 'api',
        delay: '2s',
        headers: { 'x-test': '1' },
        pathPrefix: '/orders',
        method: 'post',
      },
      { kind: 'http.abort', proxy: 'api', status: 500, percentage: 25 },
    ];
    for (const g of good)
      expect(faultKind(g.kind)!.spec.safeParse({ duration: '10s', ...g }).success, JSON.stringify(g)).toBe(true);
    const bad: [Record<string, unknown>, string][] = [
      [{ kind: 'proxy.latency', latency: '300ms' }, 'proxy'],
      [{ kind: 'proxy.latency', proxy: 'api', latency: 'slow' }, 'latency'],
      [{ kind: 'proxy.latency', proxy: 'api', latency: '1s', toxicity: 3 }, 'toxicity'],
      [{ kind: 'proxy.partition', proxy: 'db', mode: 'sideways' }, 'mode'],
      [{ kind: 'proxy.bandwidth', proxy: 'db', rate: 0 }, 'rate'],
      [{ kind: 'http.abort', proxy: 'api', status: 42 }, 'status'],
      [{ kind: 'http.delay', proxy: 'api', delay: '1s', pathPrefix: 'orders' }, 'pathPrefix'],
      [{ kind: 'http.delay', proxy: 'api', delay: '1s', extra: true }, 'extra'],
    ];
    for (const [b, field] of bad) {
      const r = faultKind(b.kind as string)!.spec.safeParse({ duration: '10s', ...b });
      expect(r.success, JSON.stringify(b)).toBe(false);
      expect(JSON.stringify(r.error?.issues), JSON.stringify(b)).toContain(field);
    }
  });
});

describe('proxy.latency', () => {
  it('injects with a lease, a retried inject keeps the rule and renews its lease, revert is idempotent', async () => {
    const port = await route('api', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.latency', proxy: 'api', latency: '200ms' });
    expect(JSON.parse(JSON.stringify(h))).toEqual(h); // plain JSON: it travels through workflow history
    expect(h.toxics[0]!.name).toMatch(/^faultline-proxy-latency-[0-9a-f]{8}$/);
    const c = new Client(port);
    await c.connected();
    await kind.inject(ports, spec, h);
    const first = (await toxicsOn('api'))[0]!.expires_at!;
    await sleep(20);
    await kind.inject(ports, spec, h); // retried
    const on = await toxicsOn('api');
    expect(on).toHaveLength(1);
    expect(Date.parse(on[0]!.expires_at!)).toBeGreaterThan(Date.parse(first));
    expect(on[0]!.attributes).toEqual({ latency: 200, jitter: 0 });
    expect(Date.parse(on[0]!.expires_at!)).toBeLessThanOrEqual(Date.now() + FAULT_LEASE_MS);
    expect(await rtt(c, 'ping')).toBeGreaterThanOrEqual(199);
    expect(await kind.revert(ports, h)).toEqual({ changed: true });
    expect(await kind.revert(ports, h)).toEqual({ changed: false }); // gone already: says so
    expect(await toxicsOn('api')).toEqual([]);
    c.destroy();
  });

  it('puts the same rule on every proxy in a list, on both streams', async () => {
    await route('a', echo.port);
    await route('b', echo.port);
    const { kind, spec, h } = await prepared({
      kind: 'proxy.latency',
      proxy: ['a', 'b'],
      latency: '5ms',
      stream: 'both',
    });
    await kind.inject(ports, spec, h);
    for (const p of ['a', 'b'])
      expect((await toxicsOn(p)).map((t) => t.name).sort()).toEqual(h.toxics.map((t) => t.name).sort());
    expect(h.toxics.map((t) => t.stream).sort()).toEqual(['downstream', 'upstream']);
    await kind.revert(ports, h);
    for (const p of ['a', 'b']) expect(await toxicsOn(p)).toEqual([]);
  });

  it('the lease lapses when renewals stop; renew only renews (counts a lost rule), restore puts it back', async () => {
    await route('api', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.latency', proxy: 'api', latency: '1ms' });
    h.leaseMs = 400; // short lease for the test; the kinds use FAULT_LEASE_MS
    await kind.inject(ports, spec, h);
    for (let i = 0; i < 6; i++) {
      await sleep(150);
      expect(await kind.renew!(ports, h)).toBe(0);
    }
    expect(await toxicsOn('api')).toHaveLength(1); // 900 ms > lease, still there thanks to renewals
    await ports.proxy.removeToxic('api', h.toxics[0]!.name); // lost behind our back (e.g. a proxy restart)
    expect(await kind.renew!(ports, h)).toBe(1); // renewal never re-adds (a revert may have removed it)
    expect(await toxicsOn('api')).toEqual([]);
    await kind.restore!(ports, h); // only the guard does this, for a fault it still holds active
    expect(await toxicsOn('api')).toHaveLength(1);
    await sleep(700); // renewals stopped: the runner is gone
    expect(await toxicsOn('api')).toEqual([]);
  });
});

describe('proxy.partition', () => {
  it('timeout mode: traffic stops; revert closes held connections and new ones flow', async () => {
    const port = await route('db', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.partition', proxy: 'db' });
    const c = new Client(port);
    await rtt(c, 'before');
    await kind.inject(ports, spec, h);
    c.write('during');
    await sleep(150);
    expect(c.received.length).toBe(0);
    await kind.revert(ports, h);
    await c.until(() => c.closed);
    const d = new Client(port);
    await rtt(d, 'after');
    d.destroy();
  });

  it('down mode: connections refused while injected (leased), back after revert', async () => {
    const port = await route('db', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.partition', proxy: 'db', mode: 'down' });
    await kind.inject(ports, spec, h);
    const r = await request(`${srv.url}/proxies/db`, { headers: { authorization: 'Bearer test-token' } });
    const p = (await r.body.json()) as { enabled: boolean; expires_at?: string };
    expect(p.enabled).toBe(false);
    expect(p.expires_at).toBeDefined();
    const refused = new Client(port);
    await refused.until(() => refused.closed);
    expect(refused.error?.code).toBe('ECONNREFUSED');
    expect(await kind.renew!(ports, h)).toBe(0);
    await kind.revert(ports, h);
    expect(await kind.renew!(ports, h)).toBe(1); // enabled again: renewing must not disable it
    await kind.revert(ports, h);
    const d = new Client(port);
    await rtt(d, 'up again');
    d.destroy();
  });
});

describe('proxy.bandwidth and proxy.reset', () => {
  it('bandwidth limits the rate without losing bytes', async () => {
    const port = await route('db', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.bandwidth', proxy: 'db', rate: 100 });
    await kind.inject(ports, spec, h);
    const c = new Client(port);
    const data = Buffer.alloc(20_000, 7);
    const t = performance.now();
    c.write(data);
    await c.until(() => c.received.length >= data.length);
    expect(performance.now() - t).toBeGreaterThanOrEqual(150); // 20 KB at 100 KB/s is 200 ms
    expect(c.received.equals(data)).toBe(true);
    await kind.revert(ports, h);
    c.destroy();
  });

  it('reset sends RST once data flows; revert stops it', async () => {
    const port = await route('db', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.reset', proxy: 'db' });
    await kind.inject(ports, spec, h);
    const c = new Client(port);
    c.write('x');
    await c.until(() => c.closed);
    expect(c.error?.code).toBe('ECONNRESET');
    await kind.revert(ports, h);
    const d = new Client(port);
    await rtt(d, 'fine');
    d.destroy();
  });
});

describe('http.abort and http.delay', () => {
  it('abort hits only requests with the test header; delay holds only matching paths', async () => {
    const port = await route('web', (web.address() as net.AddressInfo).port);
    const abort = await prepared({ kind: 'http.abort', proxy: 'web', status: 502, headers: { 'x-synthetic': 'yes' } });
    const delay = await prepared({ kind: 'http.delay', proxy: 'web', delay: '150ms', pathPrefix: '/slow' });
    await abort.kind.inject(ports, abort.spec, abort.h);
    await delay.kind.inject(ports, delay.spec, delay.h);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const r = await pool.request({ path, method: 'GET', headers });
      return `${r.statusCode} ${(await r.body.text()).trim()}`;
    };
    expect(await get('/x', { 'x-synthetic': 'yes' })).toBe('502 fault injected by faultline');
    expect(await get('/x')).toBe('200 ok /x');
    const t = performance.now();
    expect(await get('/slow/1')).toBe('200 ok /slow/1');
    expect(performance.now() - t).toBeGreaterThanOrEqual(149);
    await abort.kind.revert(ports, abort.h);
    await delay.kind.revert(ports, delay.h);
    expect(await get('/x', { 'x-synthetic': 'yes' })).toBe('200 ok /x');
    await pool.close();
  });
});

describe('every proxy kind checks its effect and its revert', () => {
  const entries: Record<string, unknown>[] = [
    { kind: 'proxy.latency', proxy: 'p', latency: '10ms', stream: 'both' },
    { kind: 'proxy.partition', proxy: 'p' },
    { kind: 'proxy.partition', proxy: 'p', mode: 'down' },
    { kind: 'proxy.bandwidth', proxy: 'p', rate: 10 },
    { kind: 'proxy.reset', proxy: 'p' },
    { kind: 'http.delay', proxy: 'p', delay: '10ms' },
    { kind: 'http.abort', proxy: 'p' },
  ];
  for (const entry of entries) {
    it(`${entry.kind as string}${entry.mode ? ` ${entry.mode as string}` : ''}: in effect after inject, the route as before after revert, revert twice is a no-op`, async () => {
      await route('p', echo.port);
      const before = await ports.proxy.inspectProxy('p');
      expect(before).toEqual({ enabled: true, toxics: [], upstream: `127.0.0.1:${echo.port}` });
      const { kind, spec, h } = await prepared(entry);
      await kind.inject(ports, spec, h);
      const during = await ports.proxy.inspectProxy('p');
      expect(during?.toxics.sort()).toEqual(h.toxics.map((t) => t.name).sort());
      expect(during?.enabled).toBe(!h.disable);
      await kind.revert(ports, h);
      expect(await ports.proxy.inspectProxy('p')).toEqual(before);
      await kind.revert(ports, h);
      expect(await ports.proxy.inspectProxy('p')).toEqual(before);
    });
  }

  /** The real client with some calls replaced: a proxy that acknowledges but does not act. */
  const lying = (over: Partial<Ports['proxy']>): Ports => ({
    containers: ports.containers,
    proxy: Object.assign(Object.create(ports.proxy) as Ports['proxy'], over), // the rest: the real client
  });

  it('an inject whose rule is not on the proxy fails, naming the rule', async () => {
    await route('p', echo.port);
    const { kind, spec, h } = await prepared({ kind: 'proxy.latency', proxy: 'p', latency: '10ms' });
    await expect(kind.inject(lying({ addToxic: async () => {} }), spec, h)).rejects.toMatchObject({
      name: 'FaultNotInEffect',
      message: expect.stringContaining(`rule ${h.toxics[0]!.name} missing`),
    });
  });

  it('a revert that leaves the rule, or the route down, fails with what differs; the retry completes it', async () => {
    await route('p', echo.port);
    const lat = await prepared({ kind: 'proxy.latency', proxy: 'p', latency: '10ms' });
    await lat.kind.inject(ports, lat.spec, lat.h);
    await expect(lat.kind.revert(lying({ removeToxic: async () => {} }), lat.h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: `not reverted: proxy p: rule ${lat.h.toxics[0]!.name} still present`,
    });
    await lat.kind.revert(ports, lat.h);
    const down = await prepared({ kind: 'proxy.partition', proxy: 'p', mode: 'down' });
    await down.kind.inject(ports, down.spec, down.h);
    await expect(down.kind.revert(lying({ setEnabled: async () => {} }), down.h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: 'not reverted: proxy p: still disabled',
    });
    await down.kind.revert(ports, down.h);
    expect(await ports.proxy.inspectProxy('p')).toEqual({
      enabled: true,
      toxics: [],
      upstream: `127.0.0.1:${echo.port}`,
    });
  });
});

describe('the client against a missing proxy', () => {
  it('inject on an unknown proxy fails as "target gone" (not retryable); revert on it succeeds', async () => {
    const { kind, spec, h } = await prepared({ kind: 'proxy.latency', proxy: 'nope', latency: '1ms' });
    await expect(kind.inject(ports, spec, h)).rejects.toMatchObject({ name: 'FaultTargetGone' });
    await kind.revert(ports, h);
  });

  it('an unreachable proxy is an infrastructure error', async () => {
    const s = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    const dead = new ProxyClient(`http://127.0.0.1:${port}`);
    await expect(dead.removeToxic('x', 'y')).rejects.toMatchObject({ name: 'InfrastructureError' });
  });
});

// The whole path: the demo stack (front -> fault proxy -> backends), the experiment workflow on a
// worker, a 300 ms proxy.latency fault. The guard sees the latency; the verdict follows the tolerances;
// the rule is gone from the proxy afterwards.
describe('300 ms between the demo services, as an experiment', () => {
  let stack: DemoStack | undefined;
  let fc: FaultlineClient | undefined;
  let worker: { stop(): Promise<void> } | undefined;
  const TQ = `proxy-latency-${process.pid}`;

  beforeAll(async () => {
    stack = await demoUp({
      prefix: uniqueId('fl-proxy'),
      frontPort: await freePort(),
      proxyAdminPort: await freePort(),
    });
    if (!stack.proxyAdminUrl) throw new Error('the demo stack came up without its fault proxy');
    fc = await connectClient();
    worker = await inProcessWorker(TQ, {
      FAULTLINE_PROXY_URL: stack.proxyAdminUrl,
      FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '',
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fc?.close();
    if (stack) await demoDown({ prefix: stack.prefix });
  });

  const experiment = (guardP95: string): string => `
title: 300 ms on backend-1
hypothesis:
  statement: the front answers without errors
  probes:
    - { name: front-ok, type: http, url: "\${FRONT}/", requests: 6, timeout: 3s, tolerance: { maxErrorRate: 0 } }
method:
  - { kind: proxy.latency, proxy: backend-1, latency: 300ms, duration: 4s }
guard:
  interval: 250ms
  failuresToAbort: 2
  probes:
    - { name: front-guard, type: http, url: "\${FRONT}/", requests: 6, timeout: 3s, tolerance: { maxErrorRate: 0, p95: ${guardP95} } }
`;

  async function toxicsLeft(): Promise<number> {
    const r = await request(`${stack!.proxyAdminUrl}/proxies`, {
      headers: { authorization: `Bearer ${stack!.proxyToken}` },
    });
    const all = (await r.body.json()) as Record<string, { toxics: unknown[] }>;
    expect(Object.keys(all)).toContain('backend-1');
    return Object.values(all).reduce((n, p) => n + p.toxics.length, 0);
  }

  it('aborts when the guard tolerates 200 ms at p95, and the rule is gone afterwards', async () => {
    const exp = demoExperiment(experiment('200ms'), stack!);
    const { workflowId } = await startExperiment(fc!, exp, { taskQueue: TQ });
    const j = await waitForResult(fc!, workflowId);
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.abort?.by).toBe('guard');
    // the front's per-try timeout (250 ms) cuts the slow backend short: slow requests take >= 250 ms
    expect(j.abort?.sample?.p95Ms).toBeGreaterThanOrEqual(250);
    expect(j.abort?.sample?.violations.join(' ')).toMatch(/p95/);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted']);
    expect(await toxicsLeft()).toBe(0);
  });

  it('a route typo is not-started with nothing injected (planning checks every route exists)', async () => {
    const exp = demoExperiment(experiment('2s').replace('proxy: backend-1,', 'proxy: backend-9,'), stack!);
    const { workflowId } = await startExperiment(fc!, exp, { taskQueue: TQ });
    const j = await waitForResult(fc!, workflowId);
    expect(j.verdict, j.reason).toBe('not-started');
    expect(j.reason).toMatch(/no fault proxy route "backend-9"/);
    expect(j.faults.filter((f) => f.handle)).toEqual([]);
    expect(await toxicsLeft()).toBe(0);
  });

  it('passes when the guard tolerates 2 s at p95; the guard still saw the latency; the rule is gone afterwards', async () => {
    const exp = demoExperiment(experiment('2s'), stack!);
    const { workflowId } = await startExperiment(fc!, exp, { taskQueue: TQ });
    const j = await waitForResult(fc!, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.guardSamples.count).toBeGreaterThan(0);
    expect(j.guardSamples.worst?.p95Ms).toBeGreaterThanOrEqual(250);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted']);
    expect(await toxicsLeft()).toBe(0);
  });
});
