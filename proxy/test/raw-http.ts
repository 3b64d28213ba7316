// A raw HTTP/1.1 client for the admin API tests and the admin fuzz benchmark: sends exactly the bytes
// it is given (malformed ones included) and parses every response that comes back on the connection.
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export interface Exchange {
  responses: RawResponse[];
  /** The server closed the connection. */
  closed: boolean;
  /** Nothing more came within the time allowed. */
  timedOut: boolean;
  /** Bytes that did not parse as a response. */
  rest: string;
}

/** Complete responses at the start of `buf` (bodies framed by Content-Length; none after HEAD). */
export function parseResponses(buf: Buffer, headRequests = 0): { responses: RawResponse[]; used: number } {
  const responses: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const lines = buf.toString('latin1', off, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    if (status < 200) {
      off = end + 4; // 100 Continue and other interim answers precede the real one
      continue;
    }
    const noBody = status === 204 || status === 304 || responses.length < headRequests;
    const len = noBody ? 0 : Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + len) break;
    responses.push({ status, headers, body: buf.toString('utf8', end + 4, end + 4 + len) });
    off = end + 4 + len;
  }
  return { responses, used: off };
}

/** Sends `data`, then waits for `expect` responses, the server's close, or `timeoutMs` of nothing. */
export function exchange(
  port: number,
  data: string | Buffer,
  opts: { expect?: number; timeoutMs?: number; headRequests?: number } = {},
): Promise<Exchange> {
  const expect = opts.expect ?? 1;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    let closed = false;
    let settled = false;
    let timer: NodeJS.Timeout;
    const settle = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const { responses, used } = parseResponses(buf, opts.headRequests);
      resolve({ responses, closed, timedOut, rest: buf.subarray(used).toString('latin1') });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(true), timeoutMs);
    };
    arm();
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      arm();
      if (parseResponses(buf, opts.headRequests).responses.length >= expect) settle(false);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      settle(false);
    });
    s.write(data);
  });
}

/** One well-formed request, as a client library would send it. */
export function rawRequest(method: string, path: string, body?: string, headers: Record<string, string> = {}): string {
  const h: Record<string, string> = { host: '127.0.0.1', 'user-agent': 'faultline-test', ...headers };
  if (body !== undefined) {
    h['content-type'] ??= 'application/json';
    h['content-length'] = String(Buffer.byteLength(body));
  }
  const head = Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return `${method} ${path} HTTP/1.1\r\n${head}\r\n\r\n${body ?? ''}`;
}
