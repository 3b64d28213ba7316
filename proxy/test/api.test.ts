// The admin API: Toxiproxy's routes, shapes and status codes, every error case, the lease extension,
// auth, and the exact calls the Go and Ruby Toxiproxy clients make.
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../cli/dev-server.ts';
import { request } from 'undici';
import { startProxyServer, type ProxyServer } from '../server.ts';
import { echoServer, sleep } from './support.ts';

let srv: ProxyServer;
let echo: Awaited<ReturnType<typeof echoServer>>;
let upstream: string;

beforeAll(async () => {
  echo = await echoServer();
  upstream = `127.0.0.1:${echo.port}`;
  srv = await startProxyServer({ port: 0 });
});
afterAll(async () => {
  await srv.close();
  await echo.close();
});
beforeEach(async () => {
  for (const name of Object.keys((await call('GET', '/proxies')).json as object))
    await call('DELETE', `/proxies/${name}`);
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  base = srv.url,
) {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: { 'user-agent': 'toxiproxy-cli', 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json: json as Record<string, unknown> & unknown[], text };
}

async function mkProxy(name = 'redis', extra: Record<string, unknown> = {}) {
  const r = await call('POST', '/proxies', { name, upstream, listen: '127.0.0.1:0', ...extra });
  expect(r.status).toBe(201);
  return r.json as unknown as { name: string; listen: string; upstream: string; enabled: boolean; toxics: unknown[] };
}

describe('proxies', () => {
  it('creates (201) with the exact shape, lists as a map, shows, deletes (204)', async () => {
    const p = await mkProxy();
    expect(Object.keys(p)).toEqual(['name', 'listen', 'upstream', 'enabled', 'toxics']);
    expect(p).toMatchObject({ name: 'redis', upstream, enabled: true, toxics: [] });
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await call('GET', '/proxies')).json).toEqual({ redis: p });
    expect((await call('GET', '/proxies/redis')).json).toEqual(p);
    const del = await call('DELETE', '/proxies/redis');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await call('GET', '/proxies/redis')).json).toEqual({ error: 'proxy not found', status: 404 });
  });

  it('rejects bad input with Toxiproxy error bodies', async () => {
    await mkProxy();
    const cases: [unknown, number, RegExp][] = [
      ['{"name": ', 400, /^bad request body: /],
      ['', 400, /^bad request body/],
      [{ upstream }, 400, /^missing required field: name$/],
      [{ name: 'x' }, 400, /^missing required field: upstream$/],
      [{ name: 'redis', upstream }, 409, /^proxy already exists$/],
      [{ name: 'x', upstream: 'nohost' }, 400, /upstream must be host:port/],
      [{ name: 'x', upstream, listen: 'nonsense' }, 400, /listen must be host:port/],
      [{ name: 'x', upstream, enabled: 'yes' }, 400, /enabled must be true or false/],
      [[1, 2], 400, /expected a JSON object/],
    ];
    for (const [body, status, message] of cases) {
      const r = await call('POST', '/proxies', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.status).toBe(status);
      expect(r.json.error).toMatch(message);
    }
  });

  it("answers a port already in use as Toxiproxy does (500, Go's text), and the server keeps serving", async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await call('POST', '/proxies', { name: 'x', upstream, listen: `127.0.0.1:${port}` });
    expect(r.json).toEqual({ error: `listen tcp 127.0.0.1:${port}: bind: address already in use`, status: 500 });
    expect((await call('GET', '/proxies/x')).status).toBe(404);
    blocker.close();
    expect((await call('GET', '/version')).status).toBe(200);
  });

  it('disables and enables (PATCH and the deprecated POST), changing listen restarts it', async () => {
    const p = await mkProxy();
    const port = Number(p.listen.split(':')[1]);
    const off = await call('PATCH', '/proxies/redis', { enabled: false });
    expect(off.json).toMatchObject({ enabled: false, listen: p.listen });
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    const on = await call('POST', '/proxies/redis', { enabled: true });
    expect(on.json).toMatchObject({ enabled: true });
    await connect(port).then((s) => s.destroy());
    const newPort = await freePort();
    const moved = await call('PATCH', '/proxies/redis', { listen: `127.0.0.1:${newPort}` });
    expect(moved.json).toMatchObject({ listen: `127.0.0.1:${newPort}`, enabled: true });
    await connect(newPort).then((s) => s.destroy());
    expect((await call('PATCH', '/proxies/nope', { enabled: true })).status).toBe(404);
    expect((await call('PATCH', '/proxies/redis', '{')).status).toBe(400);
  });

  it('a leased disable comes back by itself and reports expires_at', async () => {
    const p = await mkProxy();
    const port = Number(p.listen.split(':')[1]);
    const off = await call('PATCH', '/proxies/redis', { enabled: false, lease_ms: 1_000 });
    expect(off.json.enabled).toBe(false);
    expect(Date.parse(off.json.expires_at as string)).toBeGreaterThan(Date.now());
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    await sleep(1_300);
    const now = await call('GET', '/proxies/redis');
    expect(now.json.enabled).toBe(true);
    expect(now.json.expires_at).toBeUndefined();
    await connect(port).then((s) => s.destroy());
  });
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('toxics', () => {
  it('adds with Toxiproxy defaults (downstream, toxicity 1, <type>_<stream>, every attribute) and 200', async () => {
    await mkProxy();
    const r = await call('POST', '/proxies/redis/toxics', { type: 'latency', attributes: { latency: 10 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      attributes: { latency: 10, jitter: 0 },
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
    });
    const up = await call('POST', '/proxies/redis/toxics', { type: 'timeout', stream: 'upstream', toxicity: 0.5 });
    expect(up.json).toMatchObject({
      name: 'timeout_upstream',
      stream: 'upstream',
      toxicity: 0.5,
      attributes: { timeout: 0 },
    });
    // index lists upstream first, as Toxiproxy's chains do; the proxy carries the same list
    const list = await call('GET', '/proxies/redis/toxics');
    expect((list.json as unknown as { name: string }[]).map((t) => t.name)).toEqual([
      'timeout_upstream',
      'latency_downstream',
    ]);
    expect((await call('GET', '/proxies/redis')).json.toxics).toEqual(list.json);
    expect((await call('GET', '/proxies/redis/toxics/latency_downstream')).json).toEqual(r.json);
  });

  it('rejects every kind of bad toxic with a clear 4xx', async () => {
    await mkProxy();
    await call('POST', '/proxies/redis/toxics', { type: 'latency', name: 'lat' });
    const cases: [unknown, number, RegExp][] = [
      ['{oops', 400, /^bad request body: /],
      [{ type: 'nope' }, 400, /^invalid toxic type: "nope"/],
      [{}, 400, /^invalid toxic type/],
      [{ type: 'latency', stream: 'sideways' }, 400, /^stream was invalid, can be either upstream or downstream$/],
      [{ type: 'latency', name: 'lat' }, 409, /^toxic already exists$/],
      [{ type: 'latency', attributes: { latency: -1 } }, 400, /attributes\.latency: /],
      [{ type: 'latency', attributes: { latency: 'slow' } }, 400, /attributes\.latency: /],
      [{ type: 'latency', attributes: { latency: 1.5 } }, 400, /attributes\.latency: /],
      [{ type: 'bandwidth', attributes: { rate: -5 } }, 400, /attributes\.rate/],
      [{ type: 'latency', toxicity: 2 }, 400, /toxicity must be between 0 and 1/],
      [{ type: 'latency', toxicity: 'all' }, 400, /toxicity must be a number/],
      [{ type: 'latency', attributes: [1] }, 400, /attributes must be an object/],
      [{ type: 'latency', lease_ms: 0 }, 400, /lease_ms must be/],
      [{ type: 'latency', lease_ms: 'soon' }, 400, /lease_ms must be/],
      [{ type: 'http_delay', stream: 'downstream' }, 400, /http_delay works on the upstream stream only/],
      [{ type: 'http_abort', attributes: { status: 99 } }, 400, /attributes\.status/],
    ];
    for (const [body, status, message] of cases) {
      const r = await call('POST', '/proxies/redis/toxics', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json).toEqual({ error: expect.stringMatching(message) as unknown, status });
    }
    expect((await call('POST', '/proxies/nope/toxics', { type: 'latency' })).status).toBe(404);
    expect((await call('GET', '/proxies/redis/toxics/nope')).json).toEqual({ error: 'toxic not found', status: 404 });
    expect((await call('PATCH', '/proxies/redis/toxics/nope', {})).status).toBe(404);
    expect((await call('DELETE', '/proxies/redis/toxics/nope')).status).toBe(404);
    expect((await call('PATCH', '/proxies/redis/toxics/lat', { toxicity: -1 })).status).toBe(400);
    // nothing bad stuck: only the one good toxic is there
    expect((await call('GET', '/proxies/redis/toxics')).json).toHaveLength(1);
  });

  it('PATCH merges attributes and toxicity (Toxiproxy semantics); http toxics default to upstream', async () => {
    await mkProxy();
    await call('POST', '/proxies/redis/toxics', {
      type: 'latency',
      name: 'l',
      attributes: { latency: 100, jitter: 5 },
    });
    const r = await call('PATCH', '/proxies/redis/toxics/l', { attributes: { latency: 200 } });
    expect(r.json).toMatchObject({ attributes: { latency: 200, jitter: 5 }, toxicity: 1 });
    const r2 = await call('POST', '/proxies/redis/toxics/l', { toxicity: 0.25 });
    expect(r2.json).toMatchObject({ attributes: { latency: 200, jitter: 5 }, toxicity: 0.25 });
    const h = await call('POST', '/proxies/redis/toxics', { type: 'http_abort' });
    expect(h.json).toMatchObject({
      name: 'http_abort_upstream',
      stream: 'upstream',
      attributes: { status: 503, percentage: 100 },
    });
    expect((await call('DELETE', '/proxies/redis/toxics/l')).status).toBe(204);
  });

  it('leases: expires_at in responses, renewal pushes it, null clears it, expiry removes the toxic', async () => {
    await mkProxy();
    const a = await call('POST', '/proxies/redis/toxics', { type: 'latency', name: 'l', lease_ms: 1_000 });
    const first = Date.parse(a.json.expires_at as string);
    expect(first).toBeGreaterThan(Date.now());
    const renewed = await call('PATCH', '/proxies/redis/toxics/l', { lease_ms: 2_000 });
    expect(Date.parse(renewed.json.expires_at as string)).toBeGreaterThan(first);
    await call('POST', '/proxies/redis/toxics', { type: 'timeout', name: 'forever', lease_ms: 60_000 });
    const cleared = await call('PATCH', '/proxies/redis/toxics/forever', { lease_ms: null });
    expect(cleared.json.expires_at).toBeUndefined();
    await sleep(2_300);
    expect((await call('GET', '/proxies/redis/toxics/l')).status).toBe(404);
    expect((await call('GET', '/proxies/redis/toxics/forever')).status).toBe(200);
  });
});

describe('populate, reset, version, routing', () => {
  it('populate creates (201 {proxies}), keeps identical ones, replaces changed ones, validates first', async () => {
    const port = await freePort();
    const r = await call('POST', '/populate', [
      { name: 'a', listen: `127.0.0.1:${port}`, upstream },
      { name: 'b', listen: '127.0.0.1:0', upstream, enabled: false },
    ]);
    expect(r.status).toBe(201);
    expect(Object.keys(r.json)).toEqual(['proxies']);
    const list = r.json.proxies as unknown as { name: string; enabled: boolean }[];
    expect(list.map((p) => [p.name, p.enabled])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    await call('POST', '/proxies/a/toxics', { type: 'latency' });
    const again = await call('POST', '/populate', [{ name: 'a', listen: `localhost:${port}`, upstream }]);
    expect((again.json.proxies as unknown as { toxics: unknown[] }[])[0]!.toxics).toHaveLength(1); // kept
    const other = await echoServer();
    const changed = await call('POST', '/populate', [
      { name: 'a', listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${other.port}` },
    ]);
    expect((changed.json.proxies as unknown as { toxics: unknown[]; upstream: string }[])[0]).toMatchObject({
      toxics: [],
      upstream: `127.0.0.1:${other.port}`,
    });
    await other.close();
    const bad = await call('POST', '/populate', [
      { name: 'c', upstream },
      { listen: ':0', upstream },
    ]);
    expect(bad.json).toEqual({ error: 'missing required field: name at proxy 2', status: 400 });
    expect((await call('GET', '/proxies/c')).status).toBe(404); // nothing created
    expect((await call('POST', '/populate', { name: 'x' })).status).toBe(400);
  });

  it('populate is all or nothing: a mid-way failure creates nothing and lists no proxies', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await call('POST', '/populate', [
      { name: 'ok', listen: '127.0.0.1:0', upstream },
      { name: 'clash', listen: `127.0.0.1:${port}`, upstream },
    ]);
    blocker.close();
    expect(r.json).toEqual({
      error: `listen tcp 127.0.0.1:${port}: bind: address already in use`,
      status: 500,
      proxies: [],
    });
    expect((await call('GET', '/proxies/ok')).status).toBe(404);
  });

  it('reset removes every toxic and enables every proxy (204)', async () => {
    await mkProxy('a');
    await mkProxy('b');
    await call('POST', '/proxies/a/toxics', { type: 'latency' });
    await call('PATCH', '/proxies/b', { enabled: false, lease_ms: 60_000 });
    const r = await call('POST', '/reset');
    expect(r.status).toBe(204);
    const all = (await call('GET', '/proxies')).json as unknown as Record<
      string,
      { enabled: boolean; toxics: unknown[]; expires_at?: string }
    >;
    expect(Object.values(all).map((p) => [p.enabled, p.toxics.length, p.expires_at])).toEqual([
      [true, 0, undefined],
      [true, 0, undefined],
    ]);
  });

  it('survives garbage on the admin port and oversized bodies', async () => {
    const port = Number(srv.address.split(':')[1]);
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.write('\x00\x01 NOT HTTP AT ALL\r\n\r\n');
    await new Promise((r) => s.once('close', r));
    expect(answer).toMatch(
      /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\n\{"error":"malformed HTTP request: [^"]+","status":400\}\n$/,
    );
    const big = await call('POST', '/proxies', JSON.stringify({ name: 'x', upstream, pad: 'x'.repeat(2 << 20) }));
    expect(big.json).toEqual({ error: 'request body too large', status: 413 });
    expect((await call('GET', '/version')).status).toBe(200);
  });

  it('version, unknown routes, wrong methods, browsers', async () => {
    const v = await call('GET', '/version');
    expect(v.text).toBe('{"version": "2.12.0"}\n');
    expect((await call('GET', '/nope')).json).toEqual({ error: 'not found', status: 404 });
    expect((await call('PUT', '/proxies')).json).toEqual({ error: 'method not allowed', status: 405 });
    expect((await call('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0' })).json).toEqual({
      error: 'User agent not allowed',
      status: 403,
    });
  });
});

describe('auth and binding', () => {
  it('refuses a non-loopback address without a token', async () => {
    await expect(startProxyServer({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/without a token/);
  });

  it('with a token, every route needs the bearer token', async () => {
    const s = await startProxyServer({ port: 0, token: 's3cret' });
    try {
      expect((await call('GET', '/proxies', undefined, {}, s.url)).json).toEqual({
        error: 'missing or invalid bearer token',
        status: 401,
      });
      expect((await call('GET', '/proxies', undefined, { authorization: 'Bearer wrong' }, s.url)).status).toBe(401);
      expect((await call('GET', '/proxies', undefined, { authorization: 'Bearer s3cret' }, s.url)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('Toxiproxy client compatibility (the calls the Go and Ruby clients make)', () => {
  it('Go client: CreateProxy/Save, Disable/Enable via POST with the whole proxy, AddToxic, UpdateToxic, RemoveToxic, Populate, ResetState', async () => {
    // client.CreateProxy -> proxy.Save(): POST /proxies with the whole struct, toxics included
    const created = await call('POST', '/proxies', {
      name: 'go',
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
      toxics: null,
    });
    expect(created.status).toBe(201);
    const p = created.json as unknown as Record<string, unknown>;
    // proxy.Disable(): Enabled=false then POST /proxies/go with the whole struct
    const dis = await call('POST', '/proxies/go', { ...p, enabled: false });
    expect(dis.json.enabled).toBe(false);
    expect((await call('POST', '/proxies/go', { ...p, enabled: true })).json.enabled).toBe(true);
    // proxy.AddToxic(name, type, stream, toxicity, attrs): name is always sent ("" when unset), stream is omitempty
    const t = await call('POST', '/proxies/go/toxics', {
      name: '',
      type: 'latency',
      toxicity: 1,
      attributes: { latency: 5 },
    });
    expect(t.json).toEqual({
      attributes: { latency: 5, jitter: 0 },
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
    });
    const t2 = await call('POST', '/proxies/go/toxics', {
      name: 'lat',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 5 },
    });
    expect(t2.status).toBe(200);
    // proxy.UpdateToxic(name, toxicity, attrs): PATCH {attributes, toxicity}
    expect(
      (await call('PATCH', '/proxies/go/toxics/lat', { attributes: { latency: 7 }, toxicity: 0.5 })).json,
    ).toMatchObject({ attributes: { latency: 7 }, toxicity: 0.5 });
    // client.Proxies(): a map the Go client unmarshals into map[string]*Proxy with ActiveToxics
    const all = await call('GET', '/proxies');
    expect(
      (all.json as unknown as Record<string, { toxics: { name: string }[] }>).go!.toxics.map((x) => x.name),
    ).toContain('lat');
    expect((await call('DELETE', '/proxies/go/toxics/lat')).status).toBe(204);
    // client.Populate(config): {"proxies": [...]} back
    const pop = await call('POST', '/populate', [{ name: 'go2', listen: '127.0.0.1:0', upstream, enabled: true }]);
    expect((pop.json.proxies as unknown as { name: string }[])[0]!.name).toBe('go2');
    // client.ResetState(): POST /reset with an empty body
    expect((await call('POST', '/reset', '')).status).toBe(204);
  });

  it('Ruby client: running? (GET /version), toxic with only type/attributes, POST /proxies/:name enabled', async () => {
    expect((await call('GET', '/version')).status).toBe(200);
    await mkProxy('rb');
    const r = await call('POST', '/proxies/rb/toxics', {
      type: 'slow_close',
      attributes: { delay: 10 },
      stream: 'downstream',
      toxicity: 1.0,
    });
    expect(r.json).toMatchObject({ name: 'slow_close_downstream', attributes: { delay: 10 } });
    expect((await call('POST', '/proxies/rb', { enabled: false })).json.enabled).toBe(false);
  });
});
