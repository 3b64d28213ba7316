// Issue 8, the proxy's part: what the admin API is sent never hurts the proxy. One test per problem the
// issue lists, against a real server on loopback: loops refused, nothing off loopback without a token,
// failed updates change nothing, every request read gets a JSON answer with Toxiproxy's request ID,
// limits answered with 4xx, Toxiproxy's /version, and /metrics that move with traffic.
import net from 'node:net';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../server.ts';
import { MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_PROXIES, MAX_TOXICS_PER_PROXY } from '../../limits.ts';
import { Client, echoServer, portHolder } from '../support.ts';
import { freePort } from '../../../cli/dev-server.ts';
import { exchange, rawRequest, type RawResponse } from '../raw-http.ts';

let srv: ProxyServer;
let adminPort: number;
let echo: Awaited<ReturnType<typeof echoServer>>;
let upstream: string;
const blockers: { close(): void }[] = [];

beforeAll(async () => {
  echo = await echoServer();
  upstream = `127.0.0.1:${echo.port}`;
  srv = await startProxyServer({ port: 0 });
  adminPort = Number(srv.address.split(':')[1]);
});
afterAll(async () => {
  await srv.close();
  await echo.close();
});
afterEach(async () => {
  for (const b of blockers.splice(0)) b.close();
  for (const p of srv.proxies.list()) await srv.proxies.remove(p.name);
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const ex = await exchange(adminPort, rawRequest(method, path, text, headers));
  const r = ex.responses[0];
  if (!r) throw new Error(`no answer to ${method} ${path}`);
  return { ...r, json: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : undefined };
}

async function blocker(port = 0): Promise<number> {
  const b = await portHolder(port);
  blockers.push(b);
  return b.port;
}

async function mkProxy(name: string, extra: Record<string, unknown> = {}) {
  const r = await call('POST', '/proxies', { name, upstream, listen: '127.0.0.1:0', ...extra });
  expect(r.status, r.body).toBe(201);
  return r.json as { name: string; listen: string; upstream: string; enabled: boolean };
}

const portOf = (listen: string): number => Number(listen.slice(listen.lastIndexOf(':') + 1));

/** A round trip through a proxy's listener (the echo server answers). */
async function roundTrip(port: number, text = 'ping'): Promise<string> {
  const c = new Client(port);
  await c.connected();
  c.write(text);
  const got = await c.read(text.length);
  c.destroy();
  return got;
}

function isJsonError(r: RawResponse, status: number): void {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(r.body)).toEqual({ error: expect.any(String) as unknown, status });
}

describe('self-upstream refused', () => {
  it('an upstream that is its own listener, another proxy or the admin API, in any spelling, is a 400', async () => {
    const a = await mkProxy('a');
    const aPort = portOf(a.listen);
    const own = await freePort();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'self', listen: `127.0.0.1:${own}`, upstream: `127.0.0.1:${own}` }, /its own listen address/],
      [{ name: 'self2', listen: `127.0.0.1:${own}`, upstream: `localhost:${own}` }, /its own listen address/],
      [{ name: 'toA', upstream: `127.0.0.1:${aPort}` }, /is proxy a/],
      [{ name: 'toA2', upstream: `127.1:${aPort}` }, /is proxy a/],
      [{ name: 'toA3', upstream: `[::ffff:127.0.0.1]:${aPort}` }, /is proxy a/],
      [{ name: 'toA4', upstream: `0.0.0.0:${aPort}` }, /is proxy a/],
      [{ name: 'toA5', upstream: `2130706433:${aPort}` }, /is proxy a/],
      [{ name: 'admin', upstream: `localhost:${adminPort}` }, /is the admin API/],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/proxies', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json?.error).toMatch(/^would loop into this proxy server: /);
      expect(r.json?.error).toMatch(message);
    }
    expect(Object.keys((await call('GET', '/proxies')).json ?? {})).toEqual(['a']);
  });

  it('a change that would close a loop is refused too: PATCH upstream or listen, populate entries, and the proxy stays as it was', async () => {
    const a = await mkProxy('a');
    const bPort = await freePort();
    // b would listen where a sends
    await call('PATCH', '/proxies/a', { upstream: `127.0.0.1:${bPort}` });
    const b = await call('POST', '/proxies', { name: 'b', listen: `127.0.0.1:${bPort}`, upstream });
    expect(b.json?.error).toMatch(/listen 127\.0\.0\.1:\d+ is where proxy a sends/);
    const self = await call('PATCH', '/proxies/a', { upstream: a.listen });
    expect(self.status).toBe(400);
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ upstream: `127.0.0.1:${bPort}`, enabled: true });
    const [p1, p2] = [await freePort(), await freePort()];
    const pop = await call('POST', '/populate', [
      { name: 'x', listen: `127.0.0.1:${p1}`, upstream: `127.0.0.1:${p2}` },
      { name: 'y', listen: `127.0.0.1:${p2}`, upstream: `127.0.0.1:${p1}` },
    ]);
    expect(pop.status).toBe(400);
    expect((await call('GET', '/proxies/x')).status).toBe(404);
  });

  it('with a token and a 0.0.0.0 listener, an upstream on any local address of that port is refused', async () => {
    const s = await startProxyServer({ port: 0, token: 't' });
    try {
      const p = await s.proxies.create({ name: 'wide', listen: '0.0.0.0:0', upstream });
      const port = portOf(p.listen);
      const local = Object.values(os.networkInterfaces())
        .flat()
        .map((i) => i?.address)
        .filter((x): x is string => Boolean(x) && net.isIPv4(x as string));
      for (const addr of local)
        await expect(s.proxies.create({ name: `to-${addr}`, upstream: `${addr}:${port}` })).rejects.toThrow(
          /would loop into this proxy server/,
        );
    } finally {
      await s.close();
    }
  });
});

describe('listen off loopback refused without a token (every spelling)', () => {
  const spellings = [
    ':0',
    '0.0.0.0:0',
    '[::]:0',
    '[0:0:0:0:0:0:0:0]:0',
    '[::ffff:0.0.0.0]:0',
    '0:0',
    '0.0:0',
    '[0::0]:0',
    `${os.hostname()}:0`,
  ];
  it.each(spellings)('"%s" is refused (403), nothing listens, no proxy is made', async (listen) => {
    const r = await call('POST', '/proxies', { name: 'wide', listen, upstream });
    // a host name that resolves only to loopback is fine; every other spelling here means "every interface"
    if (listen === `${os.hostname()}:0` && r.status === 201) return;
    expect(r.status, r.body).toBe(403);
    expect(r.json?.error).toMatch(/^listen address is not loopback and the admin API has no token: /);
    expect((await call('GET', '/proxies/wide')).status).toBe(404);
  });

  it('bare ports and other non-addresses are a 400; PATCH and populate off loopback change nothing', async () => {
    for (const listen of ['8080', '0', 'localhost', '[::1', '::1:0', '127.0.0.1:65536', '127.0.0.1:-1'])
      expect((await call('POST', '/proxies', { name: 'x', listen, upstream })).status, listen).toBe(400);
    const a = await mkProxy('a');
    expect((await call('PATCH', '/proxies/a', { listen: '0.0.0.0:0' })).status).toBe(403);
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ listen: a.listen, enabled: true });
    const pop = await call('POST', '/populate', [{ name: 'a', listen: '[::]:0', upstream }]);
    expect(pop.status).toBe(403);
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ listen: a.listen, enabled: true });
  });

  it('with a token the same addresses are allowed', async () => {
    const s = await startProxyServer({ port: 0, token: 't' });
    try {
      const p = await s.proxies.create({ name: 'wide', listen: '0.0.0.0:0', upstream });
      expect(p.listen).toMatch(/^0\.0\.0\.0:\d+$/);
    } finally {
      await s.close();
    }
  });
});

describe('PATCH to a port in use keeps the proxy enabled', () => {
  it('answers 500 as Toxiproxy, and the proxy keeps its listener, its toxics and its live connections', async () => {
    const a = await mkProxy('a');
    await call('POST', '/proxies/a/toxics', { type: 'noop', name: 'n' });
    const live = new Client(portOf(a.listen));
    await live.connected();
    const taken = await blocker();
    const r = await call('PATCH', '/proxies/a', { listen: `127.0.0.1:${taken}` });
    expect(r.json).toEqual({ error: `listen tcp 127.0.0.1:${taken}: bind: address already in use`, status: 500 });
    const now = (await call('GET', '/proxies/a')).json as { listen: string; enabled: boolean; toxics: unknown[] };
    expect(now).toMatchObject({ listen: a.listen, enabled: true });
    expect(now.toxics).toHaveLength(1);
    live.write('still here');
    expect(await live.read(10)).toBe('still here');
    live.destroy();
    expect(await roundTrip(portOf(a.listen))).toBe('ping');
  });

  it('changing only the upstream rebinds the same port and keeps serving', async () => {
    const a = await mkProxy('a');
    const live = new Client(portOf(a.listen));
    await live.connected();
    const other = await echoServer();
    try {
      const r = await call('PATCH', '/proxies/a', { upstream: `127.0.0.1:${other.port}` });
      expect(r.json).toMatchObject({ listen: a.listen, enabled: true, upstream: `127.0.0.1:${other.port}` });
      expect(await roundTrip(portOf(a.listen))).toBe('ping');
      // a restart on a new upstream closes the old connections, as Toxiproxy's does
      await live.until(() => live.closed);
      // and a populate that replaces it on the same port, with a connection open, answers too
      const again = new Client(portOf(a.listen));
      await again.connected();
      const pop = await call('POST', '/populate', [{ name: 'a', listen: a.listen, upstream }]);
      expect(pop.status).toBe(201);
      expect(await roundTrip(portOf(a.listen))).toBe('ping');
      again.destroy();
    } finally {
      live.destroy();
      await other.close();
    }
  });

  it('enabling a disabled proxy whose port is taken leaves it disabled', async () => {
    const a = await mkProxy('a');
    await call('PATCH', '/proxies/a', { enabled: false });
    await blocker(portOf(a.listen));
    expect((await call('PATCH', '/proxies/a', { enabled: true })).status).toBe(500);
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ enabled: false, listen: a.listen });
    expect((await call('POST', '/reset')).status).toBe(500); // reset cannot enable it either: nothing changes
    expect((await call('GET', '/proxies/a')).json).toMatchObject({ enabled: false });
  });
});

describe('populate with a port in use keeps existing proxies', () => {
  it('all or nothing: the existing proxy keeps its upstream, toxics, listener and connections', async () => {
    const a = await mkProxy('a');
    await call('POST', '/proxies/a/toxics', { type: 'noop', name: 'n' });
    const live = new Client(portOf(a.listen));
    await live.connected();
    const taken = await blocker();
    const other = await echoServer();
    try {
      const r = await call('POST', '/populate', [
        { name: 'a', listen: a.listen, upstream: `127.0.0.1:${other.port}` }, // replaces a on the same port
        { name: 'b', listen: '127.0.0.1:0', upstream },
        { name: 'c', listen: `127.0.0.1:${taken}`, upstream },
      ]);
      expect(r.json).toEqual({
        error: `listen tcp 127.0.0.1:${taken}: bind: address already in use`,
        status: 500,
        proxies: [],
      });
      const all = (await call('GET', '/proxies')).json as Record<string, { upstream: string; toxics: unknown[] }>;
      expect(Object.keys(all)).toEqual(['a']);
      expect(all.a).toMatchObject({ upstream, enabled: true, listen: a.listen });
      expect(all.a?.toxics).toHaveLength(1);
      live.write('kept');
      expect(await live.read(4)).toBe('kept');
      expect(await roundTrip(portOf(a.listen))).toBe('ping');
    } finally {
      live.destroy();
      await other.close();
    }
  });
});

describe('every request read gets an answer', () => {
  it('garbage after a valid request gets both the answer and a JSON error', async () => {
    const create = rawRequest('POST', '/proxies', JSON.stringify({ name: 'g', upstream, listen: '127.0.0.1:0' }));
    const ex = await exchange(adminPort, create + '\x00\x01GARBAGE \r\n\r\n', { expect: 2 });
    expect(ex.responses.map((r) => r.status)).toEqual([201, 400]);
    expect(JSON.parse(ex.responses[0]!.body)).toMatchObject({ name: 'g', enabled: true });
    isJsonError(ex.responses[1]!, 400);
    expect(ex.responses[1]!.headers.connection).toBe('close');
    expect((await call('GET', '/proxies/g')).status).toBe(200);
    // two valid requests, then garbage: two answers in order, then the error
    const two = rawRequest('GET', '/version') + rawRequest('GET', '/proxies/g') + 'NOT/HTTP\r\n\r\n';
    expect((await exchange(adminPort, two, { expect: 3 })).responses.map((r) => r.status)).toEqual([200, 200, 400]);
  });

  it('malformed requests get a JSON 400 (405 for CONNECT), and the connection closes', async () => {
    const bad = [
      '\x00\x01 NOT HTTP AT ALL\r\n\r\n',
      'GET /version HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /version HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'G E T /version HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'GET /version HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    ];
    for (const text of bad) {
      const ex = await exchange(adminPort, text);
      expect(ex.responses, JSON.stringify(text)).toHaveLength(1);
      isJsonError(ex.responses[0]!, 400);
      expect(ex.responses[0]!.headers.connection).toBe('close');
    }
    const connect = await exchange(adminPort, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    isJsonError(connect.responses[0]!, 405);
  });

  it('no Host gets a JSON 400 (HTTP/1.1); HTTP/1.0 needs none', async () => {
    const ex = await exchange(adminPort, 'GET /version HTTP/1.1\r\nUser-Agent: x\r\n\r\n');
    isJsonError(ex.responses[0]!, 400);
    expect(JSON.parse(ex.responses[0]!.body).error).toBe('missing required Host header');
    const old = await exchange(adminPort, 'GET /version HTTP/1.0\r\n\r\n');
    expect(old.responses[0]?.status).toBe(200);
  });
});

describe('limits enforced with 4xx', () => {
  it('body and header size: 413 and 431, as JSON', async () => {
    const big = await call(
      'POST',
      '/proxies',
      JSON.stringify({ name: 'x', upstream, pad: 'x'.repeat(MAX_BODY_BYTES) }),
    );
    expect(big.json).toEqual({ error: 'request body too large', status: 413 });
    // chunked, so the size is only known while reading
    const chunk = 'x'.repeat(64 * 1024);
    const chunks = Array.from(
      { length: MAX_BODY_BYTES / chunk.length + 1 },
      () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    );
    const ex = await exchange(
      adminPort,
      `POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks.join('')}0\r\n\r\n`,
    );
    isJsonError(ex.responses[0]!, 413);
    const headers = await exchange(
      adminPort,
      rawRequest('GET', '/version', undefined, { 'x-pad': 'x'.repeat(MAX_HEADER_BYTES) }),
    );
    isJsonError(headers.responses[0]!, 431);
  });

  it(`at most ${MAX_PROXIES} proxies and ${MAX_TOXICS_PER_PROXY} toxics per proxy: 409; names and populate bounded`, async () => {
    const many = Array.from({ length: MAX_PROXIES }, (_, i) => ({ name: `p${i}`, upstream, enabled: false }));
    expect((await call('POST', '/populate', many)).status).toBe(201);
    const over = await call('POST', '/proxies', { name: 'one-more', upstream, enabled: false });
    expect(over.json).toEqual({ error: `limit reached: at most ${MAX_PROXIES} proxies`, status: 409 });
    expect((await call('POST', '/populate', [...many, { name: 'extra', upstream }])).status).toBe(409);
    for (let i = 0; i < MAX_TOXICS_PER_PROXY; i++)
      expect((await call('POST', '/proxies/p0/toxics', { type: 'noop', name: `t${i}` })).status).toBe(200);
    const t = await call('POST', '/proxies/p0/toxics', { type: 'noop', name: 'too-many' });
    expect(t.json).toEqual({
      error: `limit reached: at most ${MAX_TOXICS_PER_PROXY} toxics on one proxy`,
      status: 409,
    });
    expect((await call('POST', '/proxies/p1/toxics', { type: 'noop', name: 'x'.repeat(1000) })).status).toBe(400);
    expect((await call('DELETE', '/proxies/p0')).status).toBe(204);
    expect((await call('POST', '/proxies', { name: 'y'.repeat(1000), upstream })).status).toBe(400);
  });
});

describe('Toxiproxy compatibility', () => {
  it('request ID header: every answer carries X-Toxiproxy-Request-Id, an xid, new each time', async () => {
    const answers = [
      (await exchange(adminPort, rawRequest('GET', '/version'))).responses[0],
      (await exchange(adminPort, rawRequest('GET', '/nope'))).responses[0],
      (await exchange(adminPort, rawRequest('PUT', '/proxies'))).responses[0],
      (await exchange(adminPort, rawRequest('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0' })))
        .responses[0],
      (await exchange(adminPort, 'BAD\r\n\r\n')).responses[0],
      (await exchange(adminPort, 'GET / HTTP/1.1\r\n\r\n')).responses[0],
    ];
    const ids = answers.map((r) => r?.headers['x-toxiproxy-request-id']);
    for (const id of ids) expect(id).toMatch(/^[0-9a-v]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("version body: Toxiproxy's bytes and content type", async () => {
    const r = (await exchange(adminPort, rawRequest('GET', '/version'))).responses[0]!;
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=utf-8');
    expect(r.body).toBe('{"version": "2.12.0"}\n');
  });

  it('/metrics counters move with traffic; active rules appear and go', async () => {
    const a = await mkProxy('m');
    const scrape = async (): Promise<string> => {
      const r = (await exchange(adminPort, rawRequest('GET', '/metrics'))).responses[0]!;
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return r.body;
    };
    const value = (text: string, metric: string, labels: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(labels));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
    };
    const labels = (direction: string) => `direction="${direction}",proxy="m",listener="${a.listen}"`;
    const before = await scrape();
    expect(value(before, 'toxiproxy_proxy_received_bytes_total', labels('upstream'))).toBe(0);
    expect(value(before, 'faultline_proxy_connections_total', 'proxy="m"')).toBe(0);
    expect(before).toMatch(/^nodejs_heap_size_total_bytes /m); // the runtime's own, as Toxiproxy serves Go's
    await call('POST', '/proxies/m/toxics', { type: 'latency', name: 'slow', toxicity: 0.5, lease_ms: 60_000 });
    const payload = 'x'.repeat(1000);
    expect(await roundTrip(portOf(a.listen), payload)).toBe(payload);
    const after = await scrape();
    for (const d of ['upstream', 'downstream']) {
      expect(value(after, 'toxiproxy_proxy_received_bytes_total', labels(d))).toBe(1000);
      expect(value(after, 'toxiproxy_proxy_sent_bytes_total', labels(d))).toBe(1000);
    }
    expect(value(after, 'faultline_proxy_connections_total', 'proxy="m"')).toBe(1);
    expect(value(after, 'faultline_proxy_toxic_toxicity', 'toxic="slow",type="latency",stream="downstream"')).toBe(0.5);
    expect(value(after, 'faultline_proxy_toxic_expiry_seconds', 'toxic="slow"')).toBeGreaterThan(0);
    expect(value(after, 'faultline_proxy_enabled', 'proxy="m"')).toBe(1);
    await call('DELETE', '/proxies/m/toxics/slow');
    expect(await scrape()).not.toMatch(/toxic="slow"/);
  });
});
