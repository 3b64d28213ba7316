// HTTP/1.1 request framing for the HTTP-aware toxics (http_delay, http_abort), in the manner of a
// service mesh's fault filter. The stage sits on the upstream stream (client to server), splits the
// byte stream into requests (head, then a Content-Length or chunked body), and asks the toxic what to do
// with each request: pass it, hold it until a time, or answer it itself. Keep-alive connections are
// handled per request. Anything that is not HTTP/1.x (or an upgraded connection) flows through as is.
//
// Known limit: a toxic added while a request body is in flight waits for the next chunk that starts
// with a request line before it acts; pipelined requests behind an aborted one keep their order only
// when the client waits for each response (what every mainstream client does).
import { z } from 'zod';
import {
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  MAX_MATCH_HEADERS,
  MAX_PATH_PREFIX_LENGTH,
  MAX_PERCENTAGE,
  isHttpMethod,
  isPathPrefix,
} from '../limits.ts';
import { STATUS_CODES } from 'node:http';
import { DueQueue, type Stage, type StageContext } from '../toxic.ts';
import { now } from '../clock.ts';

export interface RequestHead {
  method: string;
  path: string;
  version: string;
  headers: Map<string, string>;
  /** The client wants the connection closed after this request (or speaks HTTP/1.0). */
  close: boolean;
  expectContinue: boolean;
}

export type Decision =
  { kind: 'pass' } | { kind: 'hold'; until: number } | { kind: 'answer'; status: number; body: string };

export const matchAttributes = {
  percentage: z.number().min(0).max(MAX_PERCENTAGE),
  method: z.string().refine((m) => m === '' || isHttpMethod(m), {
    message: 'must be empty (every method) or an HTTP method token such as GET',
  }),
  path_prefix: z.string().refine((p) => p === '' || isPathPrefix(p), {
    message: `must be empty (every path) or start with / and hold visible ASCII only, at most ${MAX_PATH_PREFIX_LENGTH} characters`,
  }),
  headers: z
    .record(
      z.string().regex(HEADER_NAME_PATTERN, { message: 'header names must be HTTP tokens' }),
      z
        .string()
        .regex(HEADER_VALUE_PATTERN, { message: 'header values must be visible ASCII, at most 1024 characters' }),
    )
    .refine((h) => Object.keys(h).length <= MAX_MATCH_HEADERS, {
      message: `at most ${MAX_MATCH_HEADERS} headers`,
    }),
};
export const matchDefaults = { percentage: 100, method: '', path_prefix: '', headers: {} as Record<string, string> };
type MatchAttrs = typeof matchDefaults;

/** Does this request match (method, path prefix, every header), and does it fall in the percentage? */
export function matches(a: MatchAttrs, h: RequestHead, random = Math.random): boolean {
  if (a.method && a.method.toUpperCase() !== h.method) return false;
  if (a.path_prefix && !h.path.startsWith(a.path_prefix)) return false;
  for (const [k, v] of Object.entries(a.headers)) if (h.headers.get(k.toLowerCase()) !== v) return false;
  return a.percentage >= 100 || random() * 100 < a.percentage;
}

const MAX_HEAD = 64 * 1024;
const REQUEST_LINE = /^([A-Z][A-Z0-9_-]{0,31}) (\S+) HTTP\/(1\.[01])$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n'); // bare-LF heads, which Node's own parser accepts too
// What the start of a request can look like before its request line is complete.
const PARTIAL_REQUEST_LINE =
  /^[A-Z][A-Z0-9_-]{0,31}(?: (?:\S*|\S+ (?:H|HT|HTT|HTTP|HTTP\/|HTTP\/1|HTTP\/1\.|HTTP\/1\.[01]\r?)))?$/;

/** Can these bytes (so far) still be the start of an HTTP/1.x request? Decides without waiting. */
export function couldBeRequest(acc: Buffer): boolean {
  let start = 0;
  while (start < acc.length && (acc[start] === 13 || acc[start] === 10)) start++; // CRLFs between requests
  if (start === acc.length) return true;
  const nl = acc.indexOf(10, start);
  const line = acc.toString('latin1', start, nl < 0 ? Math.min(acc.length, start + 8192) : nl).replace(/\r$/, '');
  return nl < 0 ? PARTIAL_REQUEST_LINE.test(line) : REQUEST_LINE.test(line);
}

/** Index just past the head's blank line, or -1. */
function headEnd(acc: Buffer, from: number): number {
  const a = acc.indexOf(CRLFCRLF, from);
  const b = acc.indexOf(LFLF, from);
  if (a < 0) return b < 0 ? -1 : b + 2;
  return b < 0 || a < b ? a + 4 : b + 2;
}

export function parseHead(
  text: string,
): (RequestHead & { body: 'none' | 'length' | 'chunked' | 'raw'; length: number }) | null {
  const lines = text.split(/\r?\n/);
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) return null;
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line) continue;
    const c = line.indexOf(':');
    if (c <= 0) return null;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    const prev = headers.get(k);
    headers.set(k, prev === undefined ? v : `${prev}, ${v}`);
  }
  const method = m[1] as string;
  let path = m[2] as string;
  if (!path.startsWith('/') && /^https?:\/\//i.test(path)) {
    const slash = path.indexOf('/', path.indexOf('//') + 2);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  const version = m[3] as string;
  const conn = (headers.get('connection') ?? '').toLowerCase();
  const te = (headers.get('transfer-encoding') ?? '').toLowerCase();
  const cl = headers.get('content-length');
  let body: 'none' | 'length' | 'chunked' | 'raw' = 'none';
  let length = 0;
  if (method === 'CONNECT' || (headers.has('upgrade') && conn.includes('upgrade'))) body = 'raw';
  else if (te.includes('chunked')) body = 'chunked';
  else if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) return null;
    length = Number(cl);
    body = length > 0 ? 'length' : 'none';
  }
  return {
    method,
    path,
    version,
    headers,
    close: conn.includes('close') || (version === '1.0' && !conn.includes('keep-alive')),
    expectContinue: (headers.get('expect') ?? '').toLowerCase() === '100-continue',
    body,
    length,
  };
}

/** Does this chunk start with something like a request line? (to find a request boundary) */
function startsRequest(c: Buffer): boolean {
  const end = c.indexOf(10);
  const line = c.toString('latin1', 0, end < 0 ? Math.min(c.length, 4096) : end).replace(/\r$/, '');
  return REQUEST_LINE.test(line) || (end < 0 && /^[A-Z][A-Z0-9_-]{0,31} \S/.test(line));
}

export function answer(status: number, body: string, head: RequestHead, close: boolean): Buffer {
  const b = Buffer.from(body, 'utf8');
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${b.length}`,
    'x-faultline-fault: http_abort',
  ];
  if (close) lines.push('connection: close');
  const headBuf = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return head.method === 'HEAD' ? headBuf : Buffer.concat([headBuf, b]);
}

/** A stage that frames HTTP requests and applies `decide` to each one. */
export function httpStage(ctx: StageContext, decide: (h: RequestHead) => Decision): Stage {
  const q = new DueQueue(ctx);
  type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'trailer' | 'raw' | 'unsynced';
  let state: State = 'head';
  let acc: Buffer | null = null; // head bytes so far
  let remaining = 0;
  let line = ''; // chunk-size / trailer line so far
  let drop = false; // the current request was answered: its body goes nowhere
  let closeAfter = false;

  const route = (b: Buffer): void => {
    if (!drop && b.length) q.add(b, 0);
  };

  const onHead = (headBuf: Buffer): void => {
    const text = headBuf
      .toString('latin1')
      .replace(/^[\r\n]+/, '')
      .replace(/\r?\n\r?\n$/, '');
    const h = parseHead(text);
    if (!h) {
      state = 'unsynced';
      drop = false;
      route(headBuf);
      return;
    }
    const d = decide(h);
    drop = d.kind === 'answer';
    if (d.kind === 'answer') {
      // Close when the client asked to, or when we cannot tell where its unsent body would end.
      const close = h.close || h.expectContinue || h.body === 'raw';
      ctx.reply(answer(d.status, d.body, h, close), close);
      if (close) closeAfter = true;
    } else q.add(headBuf, d.kind === 'hold' ? d.until : 0);
    if (h.body === 'raw') state = 'raw';
    else if (h.body === 'chunked') {
      state = 'chunk-size';
      line = '';
    } else if (h.body === 'length') {
      state = 'length';
      remaining = h.length;
    } else state = 'head';
  };

  const data = (c: Buffer): void => {
    if (closeAfter) return; // the connection is closing after an answer: nothing more goes upstream
    let off = 0;
    while (off < c.length) {
      switch (state) {
        case 'raw':
          route(off === 0 ? c : c.subarray(off));
          return;
        case 'unsynced': {
          const rest = off === 0 ? c : c.subarray(off);
          if (startsRequest(rest)) {
            state = 'head';
            continue;
          }
          route(rest);
          return;
        }
        case 'head': {
          const part = off === 0 ? c : c.subarray(off);
          const prev = acc ? acc.length : 0;
          acc = acc ? Buffer.concat([acc, part]) : part;
          const end = headEnd(acc, Math.max(0, prev - 3));
          if (end < 0 ? acc.length > MAX_HEAD || !couldBeRequest(acc) : !couldBeRequest(acc.subarray(0, end))) {
            // not HTTP (or not any more): hand it on as it is, and look for a request line later
            state = 'unsynced';
            const a = acc;
            acc = null;
            drop = false;
            route(a);
            return;
          }
          if (end < 0) return; // wait for the rest of the head
          const headBuf = acc.length === end ? acc : acc.subarray(0, end);
          acc = null;
          onHead(headBuf);
          off += end - prev; // bytes of `part` the head used
          break;
        }
        case 'length': {
          const n = Math.min(remaining, c.length - off);
          route(n === c.length ? c : c.subarray(off, off + n));
          off += n;
          remaining -= n;
          if (remaining === 0) {
            state = 'head';
            drop = false;
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(remaining, c.length - off);
          route(c.subarray(off, off + n));
          off += n;
          remaining -= n;
          if (remaining === 0) {
            state = 'chunk-size';
            line = '';
          }
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const nl = c.indexOf(10, off);
          const end = nl < 0 ? c.length : nl + 1;
          line += c.toString('latin1', off, end);
          route(c.subarray(off, end));
          off = end;
          if (nl < 0) {
            if (line.length > 8192) state = 'unsynced';
            break;
          }
          const l = line.replace(/\r?\n$/, '');
          line = '';
          if (state === 'chunk-size') {
            const size = parseInt(l.split(';')[0] ?? '', 16);
            if (Number.isNaN(size)) state = 'unsynced';
            else if (size === 0) state = 'trailer';
            else {
              state = 'chunk-data';
              remaining = size + 2;
            }
          } else if (l === '') {
            state = 'head';
            drop = false;
          }
          break;
        }
      }
    }
  };

  return {
    data,
    end: () => {
      if (acc) {
        const a = acc;
        acc = null;
        q.add(a, 0); // an incomplete head at EOF: hand it on as it is
      }
      q.add(null, 0);
    },
    flush: () => {
      if (acc) {
        q.add(acc, 0);
        acc = null;
      }
      q.flush();
    },
  };
}

export const holdUntil = (ms: number): Decision => ({ kind: 'hold', until: now() + ms });
