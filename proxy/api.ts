// The admin API: Toxiproxy's routes, JSON shapes and status codes, handlers only. Errors are the
// constants of errors.ts; anything else becomes a 500 with its message, never a crash.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProxyCollection } from './proxy-collection.ts';
import { toxicJson } from './toxic-collection.ts';
import {
  ApiError,
  ErrBadRequestBody,
  ErrBodyTooLarge,
  ErrBrowser,
  ErrMethodNotAllowed,
  ErrRouteNotFound,
  ErrToxicNotFound,
  ErrUnauthorized,
  joinError,
} from './errors.ts';

export const TOXIPROXY_API_VERSION = '2.12.0';
export const FAULTLINE_VERSION = '0.1.0';
const MAX_BODY = 1 << 20;

type Handler = (req: IncomingMessage, params: string[]) => Promise<{ status: number; body?: unknown }>;

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw ErrBodyTooLarge;
    parts.push(c);
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (!text.trim()) throw joinError('EOF', ErrBadRequestBody);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw joinError((e as Error).message, ErrBadRequestBody);
  }
}

/** Optional body (POST /reset sends none). */
async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    /* discard */
  }
}

function routes(c: ProxyCollection): [RegExp, Record<string, Handler>][] {
  const proxy: Record<string, Handler> = {
    GET: async (_r, [name]) => ({ status: 200, body: c.get(name as string).toJSON() }),
    POST: async (r, [name]) => ({ status: 200, body: (await c.update(name as string, await readJson(r))).toJSON() }),
    DELETE: async (_r, [name]) => {
      c.remove(name as string);
      return { status: 204 };
    },
  };
  proxy.PATCH = proxy.POST as Handler;
  const toxic: Record<string, Handler> = {
    GET: async (_r, [p, t]) => {
      const x = c.get(p as string).toxics.get(t as string);
      if (!x) throw ErrToxicNotFound;
      return { status: 200, body: toxicJson(x) };
    },
    POST: async (r, [p, t]) => {
      const proxy = c.get(p as string);
      return { status: 200, body: toxicJson(proxy.toxics.update(t as string, await readJson(r))) };
    },
    DELETE: async (_r, [p, t]) => {
      c.get(p as string).toxics.remove(t as string);
      return { status: 204 };
    },
  };
  toxic.PATCH = toxic.POST as Handler;
  return [
    [
      /^\/version$/,
      { GET: async () => ({ status: 200, body: { version: TOXIPROXY_API_VERSION, faultline: FAULTLINE_VERSION } }) },
    ],
    [
      /^\/reset$/,
      {
        POST: async (r) => {
          await drain(r);
          await c.reset();
          return { status: 204 };
        },
      },
    ],
    [
      /^\/proxies$/,
      {
        GET: async () => ({ status: 200, body: c.toJSON() }),
        POST: async (r) => ({ status: 201, body: (await c.create(await readJson(r))).toJSON() }),
      },
    ],
    [
      /^\/populate$/,
      {
        POST: async (r) => {
          const { proxies, error } = await c.populate(await readJson(r));
          const list = proxies.map((p) => p.toJSON());
          return error
            ? { status: error.status, body: { ...error.toJSON(), proxies: list } }
            : { status: 201, body: { proxies: list } };
        },
      },
    ],
    [/^\/proxies\/([^/]+)$/, proxy],
    [
      /^\/proxies\/([^/]+)\/toxics$/,
      {
        GET: async (_r, [p]) => ({
          status: 200,
          body: c
            .get(p as string)
            .toxics.all()
            .map(toxicJson),
        }),
        POST: async (r, [p]) => {
          const proxy = c.get(p as string);
          return { status: 200, body: toxicJson(proxy.toxics.add(await readJson(r))) };
        },
      },
    ],
    [/^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, toxic],
  ];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function createApi(c: ProxyCollection, opts: { token?: string; log?: (msg: string) => void } = {}) {
  const table = routes(c);
  const want = opts.token ? digest(`Bearer ${opts.token}`) : undefined;
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) throw ErrBrowser;
        if (want && !timingSafeEqual(digest(req.headers.authorization ?? ''), want)) throw ErrUnauthorized;
        const path = (req.url ?? '/').split('?')[0] as string;
        for (const [re, methods] of table) {
          const m = re.exec(path);
          if (!m) continue;
          const h = methods[req.method ?? 'GET'];
          if (!h) throw ErrMethodNotAllowed;
          let params: string[];
          try {
            params = m.slice(1).map((s) => decodeURIComponent(s));
          } catch {
            throw joinError('malformed path', ErrRouteNotFound);
          }
          const out = await h(req, params);
          return send(res, out.status, out.body);
        }
        throw ErrRouteNotFound;
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError((e as Error)?.message ?? String(e), 500);
        if (err.status >= 500) opts.log?.(`admin API: ${req.method} ${req.url}: ${err.message}`);
        // The rest of an unread body would be taken for the next request: close the connection.
        if (!req.complete) res.setHeader('connection', 'close');
        if (!res.headersSent) send(res, err.status, err.toJSON());
        else res.destroy();
        if (!req.complete) req.resume();
      }
    })();
  };
}
