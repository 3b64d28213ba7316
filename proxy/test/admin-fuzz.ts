// Generated admin API requests and the model they are checked against, shared by the property test
// (admin-property.test.ts) and the fuzz benchmark (bench/fuzz-admin.ts). Requests mix valid and
// invalid routes, methods, bodies and headers, addresses that collide, loop or leave loopback, and
// malformed bytes. Each one must be answered (2xx, a JSON 4xx, or Toxiproxy's own 500 for a port in
// use), carry the request ID, and leave GET /proxies equal to a model that only moves on a 2xx.
import net from 'node:net';
import fc from 'fast-check';
import { exchange, parseResponses, rawRequest, type RawResponse } from './raw-http.ts';
import { canonicalAddress, reaches } from '../addr.ts';

/** Ports the generators use: the admin API, an echo upstream, two free ports, one held by a stranger. */
export interface FuzzPorts {
  admin: number;
  echo: number;
  spare: [number, number];
  blocked: number;
}

export type AdminRequest =
  | { kind: 'api'; method: string; path: string; body?: string; headers: Record<string, string>; trailer?: string }
  | { kind: 'garbage'; bytes: string };

const goodNames = ['a', 'b', 'c', 'x y', 'ü', '%2F', 'a/b'];
const badNames = ['', 'n'.repeat(300)];
const toxicNames = ['t', 'u', 'latency_downstream', 'timeout_upstream', ''];
const toxicTypes = [
  'latency',
  'bandwidth',
  'timeout',
  'reset_peer',
  'slow_close',
  'slicer',
  'limit_data',
  'noop',
  'http_delay',
  'http_abort',
];
const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'TRACE'];

const anyJson = fc.jsonValue({ maxDepth: 2 });
const numberish = fc.oneof(
  fc.integer({ min: -10, max: 1000 }),
  fc.constantFrom(0, 1, 3_600_000, 3_600_001, 86_400_001, 2 ** 31, 2 ** 53, -1, 0.5, 1e308),
  fc.constantFrom('10', null, true, [], {}),
);

/** Mostly values that work, sometimes ones that must be refused: sequences then build real state. */
function mostly<T>(good: readonly T[], bad: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...good) },
    { weight: 1, arbitrary: fc.constantFrom(...bad) },
  );
}

function addressPools(p: FuzzPorts) {
  const listen = mostly(
    ['', '127.0.0.1:0', 'localhost:0', `127.0.0.1:${p.spare[0]}`, `localhost:${p.spare[1]}`],
    [
      `127.0.0.1:${p.blocked}`,
      `127.0.0.1:${p.admin}`,
      '0.0.0.0:0',
      ':0',
      '[::]:0',
      '0:0',
      '8080',
      'bogus',
      '127.0.0.1:99999',
      'nohost.invalid:0',
    ],
  );
  const upstream = mostly(
    [`127.0.0.1:${p.echo}`, `localhost:${p.echo}`, `127.0.0.1:${p.blocked}`, 'db.invalid:5432'],
    [
      `127.0.0.1:${p.admin}`,
      `127.0.0.1:${p.spare[0]}`,
      `127.1:${p.spare[1]}`,
      `0.0.0.0:${p.spare[0]}`,
      'nohost',
      '127.0.0.1:0',
      ':80',
    ],
  );
  return { listen, upstream };
}

function proxyBody(p: FuzzPorts): fc.Arbitrary<Record<string, unknown>> {
  const pools = addressPools(p);
  const fields = (requiredKeys: ('name' | 'upstream')[]) =>
    fc.record(
      {
        name: mostly(goodNames, badNames),
        listen: pools.listen,
        upstream: pools.upstream,
        enabled: mostly<unknown>([true, false], ['yes', null, 1]),
        lease_ms: mostly<unknown>([600_000], [0, -1, 'soon', null, 1e12]),
        toxics: fc.constant(null),
      },
      { requiredKeys },
    );
  return fc.oneof({ weight: 4, arbitrary: fields(['name', 'upstream']) }, { weight: 1, arbitrary: fields([]) });
}

function toxicBody(): fc.Arbitrary<Record<string, unknown>> {
  const attrs = fc.dictionary(
    fc.constantFrom(
      'latency',
      'jitter',
      'rate',
      'timeout',
      'delay',
      'bytes',
      'average_size',
      'status',
      'body',
      'percentage',
      'method',
      'path_prefix',
      'headers',
      'junk',
    ),
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 100 }) },
      { weight: 1, arbitrary: numberish },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'get me', '/api', 'api', '', { 'x-a': 'b' }, { 'x a': 'b' }) },
    ),
    { maxKeys: 3 },
  );
  return fc.record(
    {
      name: fc.constantFrom(...toxicNames),
      type: mostly(toxicTypes, ['nope', '']),
      stream: mostly<unknown>(['upstream', 'downstream', 'UPSTREAM'], ['sideways', '']),
      toxicity: fc.oneof(
        { weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(-0.5, 2, '1', null) },
      ),
      attributes: fc.oneof({ weight: 5, arbitrary: attrs }, { weight: 1, arbitrary: fc.constantFrom(null, [1], 'x') }),
      lease_ms: mostly<unknown>([600_000], [0, 'x', null, 2 ** 40]),
    },
    { requiredKeys: ['type'] },
  );
}

const encoded = (n: string): string => encodeURIComponent(n);

/** Generated admin requests for a server with these ports. */
export function adminRequest(p: FuzzPorts): fc.Arbitrary<AdminRequest> {
  const name = mostly(goodNames, badNames).map(encoded);
  const toxic = fc.constantFrom(...toxicNames).map(encoded);
  const someHeaders = fc.dictionary(
    fc.constantFrom('user-agent', 'content-type', 'connection', 'authorization', 'x-extra', 'accept'),
    fc.constantFrom(
      'Mozilla/5.0',
      'toxiproxy-cli',
      'application/json',
      'text/plain',
      'close',
      'keep-alive',
      'Bearer x',
      'ü',
      '',
    ),
    { maxKeys: 3 },
  );
  const headers = fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: someHeaders });
  const body = (of: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> =>
    fc.oneof(
      { weight: 12, arbitrary: of.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.constantFrom('{', '', 'null', '[]', '{"name":', '\u0000', 'x'.repeat(2000)) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  const api = (method: fc.Arbitrary<string>, path: fc.Arbitrary<string>, b: fc.Arbitrary<string | undefined>) =>
    fc.record({
      kind: fc.constant('api' as const),
      method,
      path,
      body: b,
      headers,
      trailer: fc
        .option(fc.constantFrom('\u0000GARBAGE\r\n\r\n', '{"not":"http"}\r\n\r\n', 'get / http/1.1\r\n\r\n'), {
          freq: 8,
        })
        .map((t) => t ?? undefined),
    });
  const single = fc.array(proxyBody(p), { maxLength: 4 });
  return fc.oneof(
    { weight: 8, arbitrary: api(fc.constant('POST'), fc.constant('/proxies'), body(proxyBody(p))) },
    {
      weight: 4,
      arbitrary: api(
        fc.constantFrom('PATCH', 'POST'),
        name.map((n) => `/proxies/${n}`),
        body(proxyBody(p)),
      ),
    },
    {
      weight: 2,
      arbitrary: api(
        fc.constant('DELETE'),
        name.map((n) => `/proxies/${n}`),
        fc.constant(undefined),
      ),
    },
    {
      weight: 5,
      arbitrary: api(
        fc.constant('POST'),
        name.map((n) => `/proxies/${n}/toxics`),
        body(toxicBody()),
      ),
    },
    {
      weight: 3,
      arbitrary: api(
        fc.constantFrom('PATCH', 'POST', 'DELETE', 'GET'),
        fc.tuple(name, toxic).map(([n, t]) => `/proxies/${n}/toxics/${t}`),
        body(toxicBody()),
      ),
    },
    { weight: 3, arbitrary: api(fc.constant('POST'), fc.constant('/populate'), body(single)) },
    { weight: 1, arbitrary: api(fc.constant('POST'), fc.constant('/reset'), fc.constant(undefined)) },
    {
      weight: 2,
      arbitrary: api(
        fc.constantFrom(...methods),
        fc.constantFrom(
          '/version',
          '/metrics',
          '/proxies',
          '/',
          '/proxies/a/toxics',
          '/populate',
          '/reset',
          '/proxies/%E0%A4%A',
          '//proxies',
          '/version?x=1',
        ),
        body(anyJson),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '\u0000\u0001 NOT HTTP\r\n\r\n',
          'GET /version HTTP/9.9\r\nHost: x\r\n\r\n',
          'GET /version HTTP/1.1\r\n\r\n',
          'GET /version HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
          'POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
          'POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n',
          `GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
        )
        .map((bytes) => ({ kind: 'garbage' as const, bytes })),
    },
  );
}

// --- the model ------------------------------------------------------------------------------------

interface ToxicState {
  name: string;
  [k: string]: unknown;
}
interface ProxyState {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicState[];
  [k: string]: unknown;
}

/** What GET /proxies must show: moved only by 2xx answers, by what they said. */
export class AdminModel {
  proxies = new Map<string, ProxyState>();

  apply(r: Extract<AdminRequest, { kind: 'api' }>, res: RawResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const parts = r.path.split('?')[0]!.split('/').slice(1);
    let segs: string[];
    try {
      segs = parts.map((s) => decodeURIComponent(s));
    } catch {
      return;
    }
    if (r.method === 'GET' || r.method === 'HEAD') return;
    const json = res.body ? (JSON.parse(res.body) as unknown) : undefined;
    const [root, name, sub, toxic] = segs;
    if (r.method === 'POST' && r.path === '/reset') {
      for (const p of this.proxies.values()) {
        // a proxy that was down binds again: the port it had, or any port when it never had one
        if (!p.enabled) p.listen = `?${p.listen.includes(':') ? p.listen.slice(p.listen.lastIndexOf(':') + 1) : '0'}`;
        p.enabled = true;
        p.toxics = [];
        delete p.expires_at;
      }
    } else if (r.path === '/populate') {
      for (const p of (json as { proxies: ProxyState[] }).proxies) this.proxies.set(p.name, p);
    } else if (root === 'proxies' && segs.length === 1 && r.method === 'POST') {
      const p = json as ProxyState;
      this.proxies.set(p.name, p);
    } else if (root === 'proxies' && segs.length === 2 && name !== undefined) {
      if (r.method === 'DELETE') this.proxies.delete(name);
      else if (r.method !== 'GET') this.proxies.set(name, json as ProxyState);
    } else if (root === 'proxies' && sub === 'toxics' && name !== undefined) {
      const p = this.proxies.get(name);
      if (!p) return;
      if (segs.length === 3 && r.method === 'POST') p.toxics.push(json as ToxicState);
      else if (segs.length === 4 && r.method === 'DELETE') p.toxics = p.toxics.filter((t) => t.name !== toxic);
      else if (segs.length === 4 && r.method !== 'GET')
        p.toxics = p.toxics.map((t) => (t.name === toxic ? (json as ToxicState) : t));
    }
  }

  normal(state: Record<string, ProxyState>): string {
    const sorted = Object.values(state)
      .map((p) => ({ ...p, toxics: [...p.toxics].sort((a, b) => (a.name < b.name ? -1 : 1)) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return JSON.stringify(sorted);
  }

  matches(state: Record<string, ProxyState>): boolean {
    // Listen addresses the model could not know ("?port", after a reset) are learned from the state.
    for (const p of this.proxies.values()) {
      if (!p.listen.startsWith('?')) continue;
      const got = state[p.name]?.listen ?? '';
      const port = got.slice(got.lastIndexOf(':') + 1);
      if (!(p.listen === '?0' || p.listen === `?${port}`) || !/^127\.0\.0\.1:\d+$/.test(got)) return false;
      p.listen = got;
    }
    return this.normal(state) === this.normal(Object.fromEntries(this.proxies));
  }
}

// --- one step -------------------------------------------------------------------------------------

export type Outcome = 'ok2xx' | 'rejected4xx' | 'conflict500' | 'server5xx' | 'silent' | 'crashed';

export interface StepResult {
  outcome: Outcome;
  /** What is wrong with the answer: a stray 5xx, no request ID, a non-JSON error, garbage unanswered. */
  problems: string[];
  /** What is wrong with the state afterwards: differs from the model, a listener off loopback or dead, a loop. */
  stateProblems: string[];
  ms: number;
}

const PORT_IN_USE = /^listen tcp \S+: bind: address already in use$/;

function judge(res: RawResponse | undefined, head: boolean, problems: string[]): Outcome {
  if (!res) return 'silent';
  if (!/^[0-9a-v]{20}$/.test(res.headers['x-toxiproxy-request-id'] ?? '')) problems.push('no request ID header');
  if (res.status >= 200 && res.status < 300) return 'ok2xx';
  if (head) return res.status < 500 ? 'rejected4xx' : 'server5xx'; // a HEAD answer has no body to check
  let body: { error?: unknown; status?: unknown } = {};
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    problems.push(`non-JSON ${res.status} body: ${res.body.slice(0, 80)}`);
  }
  if (!(res.headers['content-type'] ?? '').startsWith('application/json'))
    problems.push('error without a JSON content type');
  if (typeof body.error !== 'string' || body.status !== res.status)
    problems.push(`error body ${res.body.slice(0, 120)}`);
  if (res.status >= 400 && res.status < 500) return 'rejected4xx';
  // Toxiproxy answers a listen address in use with 500 and Go's text; so does this proxy, on purpose.
  if (res.status === 500 && typeof body.error === 'string' && PORT_IN_USE.test(body.error)) return 'conflict500';
  problems.push(`${res.status}: ${res.body.slice(0, 120)}`);
  return 'server5xx';
}

async function getState(port: number): Promise<Record<string, ProxyState> | null> {
  const ex = await exchange(port, rawRequest('GET', '/proxies'), { timeoutMs: 5_000 });
  const r = ex.responses[0];
  if (!r || r.status !== 200) return null;
  return JSON.parse(r.body) as Record<string, ProxyState>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Invariants of the state itself: loopback listeners that accept, no upstream into this server. */
async function checkState(state: Record<string, ProxyState>, ports: FuzzPorts, problems: string[]): Promise<void> {
  const listeners = [{ address: '127.0.0.1', port: ports.admin }];
  for (const p of Object.values(state)) {
    const i = p.listen.lastIndexOf(':');
    const host = canonicalAddress(p.listen.slice(0, i));
    const port = Number(p.listen.slice(i + 1));
    if (p.enabled && (host === null || !(host === '::1' || host.startsWith('127.'))))
      problems.push(`proxy ${p.name} listens off loopback: ${p.listen}`);
    if (host && port) listeners.push({ address: host, port });
    if (p.enabled && !(await canConnect(port))) problems.push(`proxy ${p.name} is enabled but ${p.listen} refuses`);
  }
  for (const p of Object.values(state)) {
    const i = p.upstream.lastIndexOf(':');
    let host = p.upstream.slice(0, i);
    if (host === 'localhost') host = '127.0.0.1';
    if (host === '127.1') host = '127.0.0.1';
    const addr = canonicalAddress(host);
    if (!addr) continue;
    const target = { address: addr, port: Number(p.upstream.slice(i + 1)) };
    if (listeners.some((l) => reaches(target, l)))
      problems.push(`proxy ${p.name} sends into this server: ${p.upstream}`);
  }
}

export function toBytes(r: AdminRequest): { bytes: string; expect: number; head: number } {
  if (r.kind === 'garbage') return { bytes: r.bytes, expect: 1, head: 0 };
  const req = rawRequest(r.method, r.path, r.body, r.headers);
  return { bytes: req + (r.trailer ?? ''), expect: trailerRead(r) ? 2 : 1, head: r.method === 'HEAD' ? 1 : 0 };
}

/** Is the trailer read as a next request? Not after "Connection: close": the client said it was done. */
function trailerRead(r: Extract<AdminRequest, { kind: 'api' }>): boolean {
  return r.trailer !== undefined && r.headers.connection !== 'close';
}

/** Sends one request, judges the answer, moves the model, checks the state against it. */
export async function step(
  ports: FuzzPorts,
  model: AdminModel,
  r: AdminRequest,
  opts: { checkState?: boolean } = {},
): Promise<StepResult> {
  const problems: string[] = [];
  const stateProblems: string[] = [];
  const { bytes, expect, head } = toBytes(r);
  const t0 = performance.now();
  const ex = await exchange(ports.admin, bytes, { expect, timeoutMs: 10_000, headRequests: head });
  const ms = performance.now() - t0;
  const first = ex.responses[0];
  const outcome = judge(first, head > 0, problems);
  if (r.kind === 'api' && trailerRead(r)) {
    const second = ex.responses[1];
    if (!second) problems.push('garbage after a valid request got no answer');
    else if (second.status !== 400) problems.push(`garbage after a valid request got ${second.status}`);
  }
  if (first && r.kind === 'api' && opts.checkState !== false) {
    try {
      model.apply(r, first);
    } catch (e) {
      stateProblems.push(`a 2xx answer the model cannot follow: ${(e as Error).message}`);
    }
  }
  const state = await getState(ports.admin);
  if (!state) return { outcome: 'crashed', problems: [...problems, 'GET /proxies does not answer'], stateProblems, ms };
  if (opts.checkState === false) return { outcome, problems, stateProblems, ms };
  if (!model.matches(state))
    stateProblems.push(
      `state differs from the model:\n  got  ${model.normal(state)}\n  want ${model.normal(Object.fromEntries(model.proxies))}`,
    );
  await checkState(state, ports, stateProblems);
  return { outcome, problems, stateProblems, ms };
}

/** Empties the server (and the model) between runs. */
export async function clear(ports: FuzzPorts, model: AdminModel): Promise<void> {
  const state = await getState(ports.admin);
  for (const name of Object.keys(state ?? {}))
    await exchange(ports.admin, rawRequest('DELETE', `/proxies/${encodeURIComponent(name)}`));
  model.proxies.clear();
}

export { parseResponses };
