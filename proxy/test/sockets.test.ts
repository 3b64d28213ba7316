// Through real sockets: an echo server and an HTTP server behind the proxy. Assertions are on
// behaviour (bytes, order, closes, resets, statuses), never on how fast something was.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pool, request } from 'undici';
import { startProxyServer, type ProxyServer } from '../server.ts';
import { Client, echoServer, sleep } from './support.ts';

let srv: ProxyServer;
let echo: Awaited<ReturnType<typeof echoServer>>;

beforeAll(async () => {
  echo = await echoServer();
  srv = await startProxyServer({ port: 0 });
});
afterAll(async () => {
  await srv.close();
  await echo.close();
});
afterEach(() => srv.proxies.close());

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(srv.url + path, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function proxyTo(port: number, name = 'p'): Promise<number> {
  const r = await api('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` });
  expect(r.status).toBe(201);
  return Number(String(r.json.listen).split(':')[1]);
}

async function roundTrip(c: Client, msg: string): Promise<number> {
  const t = performance.now();
  c.write(msg);
  expect(await c.read(msg.length)).toBe(msg);
  return performance.now() - t;
}

describe('tcp', () => {
  it('relays bytes both ways unchanged, including 8 MB in bulk, and passes a half-close', async () => {
    const port = await proxyTo(echo.port);
    const c = new Client(port);
    await roundTrip(c, 'hello');
    const bulk = Buffer.alloc(8 << 20);
    for (let i = 0; i < bulk.length; i++) bulk[i] = (i * 7) & 0xff;
    c.write(bulk);
    await c.until(() => c.received.length >= bulk.length);
    expect(c.received.equals(bulk)).toBe(true);
    c.socket.end(); // the echo server ends when we do; the proxy must carry both FINs
    await c.until(() => c.ended);
    c.destroy();
  });

  it('adds latency to a connection that was already open, and removal releases held bytes at once', async () => {
    const port = await proxyTo(echo.port);
    const c = new Client(port);
    await roundTrip(c, 'warm');
    await api('POST', '/proxies/p/toxics', { type: 'latency', attributes: { latency: 150 } });
    expect(await roundTrip(c, 'slow')).toBeGreaterThanOrEqual(149);
    await api('PATCH', '/proxies/p/toxics/latency_downstream', { attributes: { latency: 60_000 } });
    c.write('held');
    await sleep(50);
    expect(c.received.length).toBe(0);
    expect((await api('DELETE', '/proxies/p/toxics/latency_downstream')).status).toBe(204);
    expect(await c.read(4)).toBe('held'); // not dropped, and not after 60 s (the test would time out)
    await roundTrip(c, 'after');
    c.destroy();
  });

  it('timeout holds everything (a partition); removing it closes held connections, new ones work', async () => {
    const port = await proxyTo(echo.port);
    const c = new Client(port);
    await roundTrip(c, 'ok');
    await api('POST', '/proxies/p/toxics', { type: 'timeout', attributes: { timeout: 0 } });
    c.write('into the void');
    await sleep(100);
    expect(c.received.length).toBe(0);
    await api('DELETE', '/proxies/p/toxics/timeout_downstream');
    await c.until(() => c.closed);
    const d = new Client(port);
    await roundTrip(d, 'fresh');
    d.destroy();
  });

  it('timeout with a value closes the connection after it', async () => {
    const port = await proxyTo(echo.port);
    await api('POST', '/proxies/p/toxics', { type: 'timeout', stream: 'upstream', attributes: { timeout: 100 } });
    const c = new Client(port);
    c.write('x');
    await c.until(() => c.closed);
    expect(c.received.length).toBe(0);
  });

  it('reset_peer resets the client connection (ECONNRESET)', async () => {
    const port = await proxyTo(echo.port);
    await api('POST', '/proxies/p/toxics', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } });
    const c = new Client(port);
    c.write('boom');
    await c.until(() => c.closed);
    expect(c.error?.code).toBe('ECONNRESET');
  });

  it('limit_data closes after N bytes; bandwidth and slicer deliver every byte in order', async () => {
    let port = await proxyTo(echo.port);
    await api('POST', '/proxies/p/toxics', { type: 'limit_data', attributes: { bytes: 10 } });
    const c = new Client(port);
    c.write('0123456789abcdef');
    await c.until(() => c.closed);
    expect(c.received.toString()).toBe('0123456789');
    srv.proxies.close();
    port = await proxyTo(echo.port);
    await api('POST', '/proxies/p/toxics', { type: 'bandwidth', attributes: { rate: 500 } });
    await api('POST', '/proxies/p/toxics', {
      type: 'slicer',
      attributes: { average_size: 100, size_variation: 20, delay: 10 },
    });
    const d = new Client(port);
    const data = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));
    d.write(data);
    await d.until(() => d.received.length >= data.length);
    expect(d.received.equals(data)).toBe(true);
    d.destroy();
  });

  it('down (enabled:false) refuses connections and closes open ones; re-enabling restores it', async () => {
    const port = await proxyTo(echo.port);
    const c = new Client(port);
    await roundTrip(c, 'x');
    await api('PATCH', '/proxies/p', { enabled: false });
    await c.until(() => c.closed);
    const refused = new Client(port);
    await refused.until(() => refused.closed);
    expect(refused.error?.code).toBe('ECONNREFUSED');
    await api('PATCH', '/proxies/p', { enabled: true });
    const d = new Client(port);
    await roundTrip(d, 'back');
    d.destroy();
  });

  it('an unreachable upstream closes the client instead of hanging or crashing', async () => {
    const dead = await echoServer();
    const port = await proxyTo(dead.port);
    await dead.close();
    const c = new Client(port);
    await c.until(() => c.closed);
    expect((await api('GET', '/version')).status).toBe(200);
  });

  it('toxicity 0 never applies, toxicity 1 always does (rolled per connection)', async () => {
    const port = await proxyTo(echo.port);
    await api('POST', '/proxies/p/toxics', { type: 'limit_data', toxicity: 0, attributes: { bytes: 1 } });
    const c = new Client(port);
    await roundTrip(c, 'all of it');
    c.destroy();
  });
});

describe('http', () => {
  let server: http.Server;
  let hits: string[];
  let conns: number;
  beforeAll(async () => {
    hits = [];
    conns = 0;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hits.push(`${req.method} ${req.url} ${body}`);
        res.end(`ok ${req.url}`);
      });
    });
    server.on('connection', () => conns++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('http_abort answers matching requests only, per request on one keep-alive connection', async () => {
    const port = await proxyTo((server.address() as net.AddressInfo).port);
    await api('POST', '/proxies/p/toxics', {
      type: 'http_abort',
      attributes: { status: 503, headers: { 'x-faultline-test': '1' } },
    });
    hits = [];
    conns = 0;
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1, pipelining: 1 });
    const results: string[] = [];
    for (const test of [true, false, true, false]) {
      const r = await pool.request({
        path: `/r${results.length}`,
        method: 'GET',
        headers: test ? { 'x-faultline-test': '1' } : {},
      });
      results.push(`${r.statusCode} ${await r.body.text()}`.trim());
    }
    expect(results).toEqual([
      '503 fault injected by faultline',
      '200 ok /r1',
      '503 fault injected by faultline',
      '200 ok /r3',
    ]);
    expect(hits).toEqual(['GET /r1 ', 'GET /r3 ']); // aborted requests never reached the service
    expect(conns).toBe(1); // one keep-alive connection throughout
    // a POST body on an aborted request does not leak into the next request
    const post = await pool.request({
      path: '/post',
      method: 'POST',
      body: 'x'.repeat(100_000),
      headers: { 'x-faultline-test': '1' },
    });
    expect(post.statusCode).toBe(503);
    await post.body.text();
    const next = await pool.request({ path: '/next', method: 'POST', body: 'payload' });
    expect(await next.body.text()).toBe('ok /next');
    expect(hits.at(-1)).toBe('POST /next payload');
    await pool.close();
  });

  it('http_delay holds matching requests; removal releases one that is held', async () => {
    const port = await proxyTo((server.address() as net.AddressInfo).port);
    await api('POST', '/proxies/p/toxics', { type: 'http_delay', attributes: { delay: 200, path_prefix: '/slow' } });
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    const t = performance.now();
    const slow = await pool.request({ path: '/slow/1', method: 'GET' });
    expect(await slow.body.text()).toBe('ok /slow/1');
    expect(performance.now() - t).toBeGreaterThanOrEqual(199);
    await api('PATCH', '/proxies/p/toxics/http_delay_upstream', { attributes: { delay: 60_000 } });
    hits = [];
    const pending = pool.request({ path: '/slow/2', method: 'GET' });
    await sleep(100);
    expect(hits).toEqual([]);
    await api('DELETE', '/proxies/p/toxics/http_delay_upstream');
    const r = await pending;
    expect(await r.body.text()).toBe('ok /slow/2');
    await pool.close();
  });
});
