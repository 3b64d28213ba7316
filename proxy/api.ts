// The admin API: Toxiproxy's routes, JSON shapes and status codes, handlers only. Errors are the
// constants of errors.ts. Every request the server reads gets an answer with Toxiproxy's request ID
// header: a JSON error for anything malformed (answered at the socket level, after the answers to the
// valid requests before it on the same connection), never a bare close.
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ProxyCollection } from './proxy-collection.ts';
import { toxicJson } from './toxic-collection.ts';
import { createMetrics } from './metrics.ts';
import { MAX_BODY_BYTES } from './limits.ts';
import {
  ApiError,
  ErrBadRequestBody,
  ErrBodyTooLarge,
  ErrBrowser,
  ErrHeadersTooLarge,
  ErrMalformedRequest,
  ErrMethodNotAllowed,
  ErrMissingHost,
  ErrRequestTimeout,
  ErrRouteNotFound,
  ErrToxicNotFound,
  ErrUnauthorized,
  joinError,
} from './errors.ts';

export const TOXIPROXY_API_VERSION = '2.12.0';
/** Toxiproxy's request ID header (hlog.RequestIDHandler), an xid per answer. */
export const REQUEST_ID_HEADER = 'X-Toxiproxy-Request-Id';

// --- request IDs: xid (github.com/rs/xid), as Toxiproxy's middleware makes them -------------------
const XID_ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const xidMachine = randomBytes(3);
let xidCounter = randomBytes(3).readUIntBE(0, 3);

/** 12 bytes (seconds, machine, pid, counter) in base32hex, 20 lower-case characters. */
export function requestId(): string {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
  xidMachine.copy(b, 4);
  b.writeUInt16BE(process.pid & 0xffff, 7);
  xidCounter = (xidCounter + 1) & 0xffffff;
  b.writeUIntBE(xidCounter, 9, 3);
  let out = '';
  for (let bit = 0; bit < 100; bit += 5) {
    const byte = bit >> 3;
    const word = ((b[byte] ?? 0) << 8) | (b[byte + 1] ?? 0);
    out += XID_ALPHABET[(word >> (11 - (bit & 7))) & 31];
  }
  return out;
}

// --- responses ------------------------------------------------------------------------------------
interface Answer {
  status: number;
  body?: unknown;
  /** Pre-rendered body with its content type (version, metrics). */
  raw?: { type: string; text: string };
}

function send(res: ServerResponse, a: Answer): void {
  if (a.raw) {
    res.writeHead(a.status, { 'content-type': a.raw.type, 'content-length': Buffer.byteLength(a.raw.text) });
    res.end(a.raw.text);
  } else if (a.body === undefined) res.writeHead(a.status).end();
  else {
    const text = JSON.stringify(a.body) + '\n';
    res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** A whole HTTP/1.1 response with a JSON error, for a socket the HTTP parser has given up on. */
export function rawErrorResponse(err: ApiError): string {
  const text = JSON.stringify(err.toJSON()) + '\n';
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `${REQUEST_ID_HEADER}: ${requestId()}\r\nConnection: close\r\n\r\n${text}`
  );
}

// --- bodies ---------------------------------------------------------------------------------------
async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw ErrBodyTooLarge;
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_BODY_BYTES) throw ErrBodyTooLarge;
      parts.push(c);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw joinError(`cannot read the body (${(e as Error).message})`, ErrBadRequestBody);
  }
  return Buffer.concat(parts).toString('utf8');
}

function parseJson(text: string): unknown {
  if (!text.trim()) throw joinError('EOF', ErrBadRequestBody);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw joinError((e as Error).message, ErrBadRequestBody);
  }
}

// --- routes ---------------------------------------------------------------------------------------
interface Route {
  /** Reads a JSON body first (outside the collection's lock: a slow client never holds it). */
  json?: boolean;
  run(params: string[], body: unknown): Answer | Promise<Answer>;
}

function routes(
  c: ProxyCollection,
  metrics: () => { type: string; text: () => Promise<string> },
): [RegExp, Record<string, Route>][] {
  const proxy: Record<string, Route> = {
    GET: { run: ([name]) => ({ status: 200, body: c.get(name as string).toJSON() }) },
    POST: {
      json: true,
      run: async ([name], b) => ({ status: 200, body: (await c.update(name as string, b)).toJSON() }),
    },
    DELETE: {
      run: async ([name]) => {
        await c.remove(name as string);
        return { status: 204 };
      },
    },
  };
  proxy.PATCH = proxy.POST as Route;
  const toxic: Record<string, Route> = {
    GET: {
      run: ([p, t]) => {
        const x = c.get(p as string).toxics.get(t as string);
        if (!x) throw ErrToxicNotFound;
        return { status: 200, body: toxicJson(x) };
      },
    },
    POST: {
      json: true,
      run: ([p, t], b) =>
        c.exclusive(() => ({ status: 200, body: toxicJson(c.get(p as string).toxics.update(t as string, b)) })),
    },
    DELETE: {
      run: ([p, t]) =>
        c.exclusive(() => {
          c.get(p as string).toxics.remove(t as string);
          return { status: 204 };
        }),
    },
  };
  toxic.PATCH = toxic.POST as Route;
  return [
    [
      /^\/version$/,
      {
        GET: {
          // Toxiproxy's exact body and content type (the Go client's tests compare the bytes).
          run: () => ({
            status: 200,
            raw: { type: 'application/json;charset=utf-8', text: `{"version": "${TOXIPROXY_API_VERSION}"}\n` },
          }),
        },
      },
    ],
    [
      /^\/metrics$/,
      {
        GET: {
          run: async () => {
            const m = metrics();
            return { status: 200, raw: { type: m.type, text: await m.text() } };
          },
        },
      },
    ],
    [
      /^\/reset$/,
      {
        POST: {
          run: async () => {
            await c.reset();
            return { status: 204 };
          },
        },
      },
    ],
    [
      /^\/proxies$/,
      {
        GET: { run: () => ({ status: 200, body: c.toJSON() }) },
        POST: { json: true, run: async (_p, b) => ({ status: 201, body: (await c.create(b)).toJSON() }) },
      },
    ],
    [
      /^\/populate$/,
      {
        POST: {
          json: true,
          run: async (_p, b) => {
            const { proxies, error } = await c.populate(b);
            const list = proxies.map((p) => p.toJSON());
            return error
              ? { status: error.status, body: { ...error.toJSON(), proxies: list } }
              : { status: 201, body: { proxies: list } };
          },
        },
      },
    ],
    [/^\/proxies\/([^/]+)$/, proxy],
    [
      /^\/proxies\/([^/]+)\/toxics$/,
      {
        GET: {
          run: ([p]) => ({
            status: 200,
            body: c
              .get(p as string)
              .toxics.all()
              .map(toxicJson),
          }),
        },
        POST: {
          json: true,
          run: ([p], b) => c.exclusive(() => ({ status: 200, body: toxicJson(c.get(p as string).toxics.add(b)) })),
        },
      },
    ],
    [/^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, toxic],
    // Faultline: when a toxic that is no longer there was removed, and why (a DELETE, or its lease lapsing).
    [
      /^\/proxies\/([^/]+)\/toxics\/([^/]+)\/removed$/,
      {
        GET: {
          run: ([p, t]) => {
            const r = c.get(p as string).toxics.removed(t as string);
            if (!r) throw ErrToxicNotFound;
            return { status: 200, body: r };
          },
        },
      },
    ],
  ];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

interface InFlight {
  req: IncomingMessage;
  res: ServerResponse;
  /** Answered at the socket level (the parser failed inside this request): the handler stays quiet. */
  answered: boolean;
}

export interface AdminApi {
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Makes `server` answer what its HTTP parser refuses (malformed, too large, too slow, CONNECT). */
  attach(server: Server): void;
}

export function createApi(c: ProxyCollection, opts: { token?: string; log?: (msg: string) => void } = {}): AdminApi {
  let registry: ReturnType<typeof createMetrics> | undefined;
  const metrics = (): { type: string; text: () => Promise<string> } => {
    registry ??= createMetrics(c); // runtime collectors start with the first scrape, not before
    return { type: registry.contentType, text: () => registry!.metrics() };
  };
  const table = routes(c, metrics);
  const want = opts.token ? digest(`Bearer ${opts.token}`) : undefined;
  const inflight = new WeakMap<Duplex, Set<InFlight>>();

  const handle = async (req: IncomingMessage, f: InFlight): Promise<Answer> => {
    // The body first, whatever the answer will be: the connection stays in step for the next request.
    const text = await readBody(req);
    if (f.answered) return { status: 400 };
    // HTTP/1.1 requires Host (Go's server refuses without one too, as text; this answer is JSON).
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) throw ErrMissingHost;
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) throw ErrBrowser;
    if (want && !timingSafeEqual(digest(req.headers.authorization ?? ''), want)) throw ErrUnauthorized;
    const path = (req.url ?? '/').split('?')[0] as string;
    for (const [re, methods] of table) {
      const m = re.exec(path);
      if (!m) continue;
      const route = methods[req.method ?? 'GET'];
      if (!route) throw ErrMethodNotAllowed;
      let params: string[];
      try {
        params = m.slice(1).map((s) => decodeURIComponent(s));
      } catch {
        throw joinError('malformed path', ErrRouteNotFound);
      }
      return await route.run(params, route.json ? parseJson(text) : undefined);
    }
    throw ErrRouteNotFound;
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader(REQUEST_ID_HEADER, requestId());
    const f: InFlight = { req, res, answered: false };
    let set = inflight.get(req.socket);
    if (!set) inflight.set(req.socket, (set = new Set()));
    set.add(f);
    const done = (): void => void set.delete(f);
    res.once('finish', done);
    res.once('close', done);
    res.on('error', () => undefined);
    void handle(req, f).then(
      (a) => {
        if (!f.answered && !res.headersSent) send(res, a);
      },
      (e: unknown) => {
        const err = e instanceof ApiError ? e : new ApiError((e as Error)?.message ?? String(e), 500);
        if (err.status >= 500) opts.log?.(`admin API: ${req.method} ${req.url}: ${err.message}`);
        if (f.answered) return;
        // The rest of an unread body would be taken for the next request: close the connection.
        if (!req.complete) res.setHeader('connection', 'close');
        if (!res.headersSent) send(res, { status: err.status, body: err.toJSON() });
        else res.destroy();
        if (!req.complete) req.resume();
      },
    );
  };

  /** After the answers to the valid requests before it, a JSON error, then close. */
  const answerAndClose = (socket: Duplex, err: ApiError): void => {
    const pending = [...(inflight.get(socket) ?? [])];
    // A request whose body the parser failed inside is answered here; its handler stays quiet.
    for (const f of pending) if (!f.req.complete) f.answered = true;
    const before = pending.filter((f) => !f.answered && !f.res.writableFinished);
    const finish = (): void => {
      if (socket.destroyed) return;
      if (socket.writable) socket.end(rawErrorResponse(err));
      else socket.destroy();
    };
    setTimeout(() => socket.destroy(), 30_000).unref(); // a peer that never reads must not stay
    if (!before.length) return finish();
    let left = before.length;
    const one = (): void => {
      if (--left === 0) finish();
    };
    for (const f of before) {
      f.res.once('finish', one);
      f.res.once('close', one);
    }
  };

  const attach = (server: Server): void => {
    server.on('clientError', (e: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
      socket.on('error', () => undefined);
      let err: ApiError;
      if (e.code === 'HPE_HEADER_OVERFLOW') err = ErrHeadersTooLarge;
      else if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') err = ErrRequestTimeout;
      else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return void socket.destroy();
      else err = joinError(e.reason ?? e.code ?? 'bad request', ErrMalformedRequest);
      answerAndClose(socket, err);
    });
    // Node hands CONNECT to a 'connect' listener and closes the socket without one.
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => undefined);
      answerAndClose(socket, ErrMethodNotAllowed);
    });
  };

  return { handler, attach };
}
