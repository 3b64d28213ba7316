// host:port parsing and printing, as Go's net package does it ("[::]:8080", "127.0.0.1:26379"), and
// what an address means on this host: its numeric forms (every spelling resolved the way the socket
// layer resolves it: "localhost", "127.1", "0", "[::ffff:127.0.0.1]"), loopback or not, and whether
// a listener on one address would receive a connection made to another.
import { isIP, type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';

export interface HostPort {
  host: string;
  port: number;
}

/** A numeric address (canonical: lower case, no brackets, IPv4-mapped IPv6 as IPv4) and a port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port"; null when it is not one of those. */
export function parseHostPort(text: string): HostPort | null {
  const i = text.lastIndexOf(':');
  if (i < 0) return null;
  let host = text.slice(0, i);
  const portText = text.slice(i + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':') || host.includes('[') || host.includes(']')) return null;
  return { host, port };
}

/** The address to bind for a listen host: "" means every interface, as in Go. */
export function bindHost(host: string): string {
  if (host === '') return '::';
  if (host === 'localhost') return '127.0.0.1';
  return host;
}

export function formatAddress(a: AddressInfo | string | null): string {
  if (!a || typeof a === 'string') return String(a);
  return formatEndpoint({ address: a.address, port: a.port });
}

export function formatEndpoint(e: Endpoint): string {
  return isIP(e.address) === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** A host name that is loopback by spelling alone (no lookup): for quick, conservative checks. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/** Canonical form of a numeric address, or null when `a` is not one. */
export function canonicalAddress(a: string): string | null {
  let s = a.toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const v = isIP(s);
  if (v === 4) return s.split('.').map(Number).join('.');
  if (v !== 6) return null;
  const words = expandV6(s);
  if (!words) return null;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible unspecified forms talk to the IPv4 address.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff)
    return `${words[6]! >> 8}.${words[6]! & 255}.${words[7]! >> 8}.${words[7]! & 255}`;
  return compressV6(words);
}

function expandV6(s: string): number[] | null {
  let text = s;
  if (text.includes('.')) {
    // a trailing dotted IPv4 part is the last two words
    const i = text.lastIndexOf(':');
    const v4 = text
      .slice(i + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, i + 1)}${(((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16)}:${(((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const words = (p: string | undefined): number[] => (p ? p.split(':').map((x) => parseInt(x, 16)) : []);
  const l = words(halves[0]);
  const r = words(halves[1]);
  const fill = 8 - l.length - r.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0) || [...l, ...r].some((w) => !(w >= 0 && w <= 0xffff)))
    return null;
  return [...l, ...new Array<number>(fill).fill(0), ...r];
}

function compressV6(w: number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function isLoopbackAddress(a: string): boolean {
  const c = canonicalAddress(a);
  return c !== null && (c === '::1' || /^127\./.test(c));
}

export function isUnspecifiedAddress(a: string): boolean {
  const c = canonicalAddress(a);
  return c === '0.0.0.0' || c === '::';
}

/** Every address of this host's interfaces (loopback included), canonical. */
export function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) {
      const c = canonicalAddress(i.address);
      if (c) out.add(c);
    }
  return out;
}

/** Is `a` an address of this host? (Connecting to 0.0.0.0 or :: reaches this host too.) */
export function isLocalAddress(a: string, local = localAddresses()): boolean {
  const c = canonicalAddress(a);
  return c !== null && (/^127\./.test(c) || isUnspecifiedAddress(c) || local.has(c));
}

/**
 * The IPv4 spellings getaddrinfo takes as numbers (inet_aton): 1 to 4 parts, each decimal, octal (0...)
 * or hex (0x...), the last one filling the remaining bytes: "127.1", "2130706433", "0x7f.1", "0".
 */
export function looseIPv4(host: string): string | null {
  const parts = host.split('.');
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]+$/i.test(p)) n = parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) n = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) n = Number(p);
    else return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return null;
  let value = last;
  nums.forEach((n, i) => (value += n * 2 ** (8 * (3 - i))));
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A name seen within this many ms is not looked up again (failures included): repeats cost nothing. */
const LOOKUP_TTL_MS = 10_000;
const lookups = new Map<string, { at: number; result: Promise<string[] | null> }>();

function lookupCached(host: string): Promise<string[] | null> {
  const now = Date.now();
  const hit = lookups.get(host);
  if (hit && now - hit.at < LOOKUP_TTL_MS) return hit.result;
  if (lookups.size >= 1_000) for (const [k, v] of lookups) if (now - v.at >= LOOKUP_TTL_MS) lookups.delete(k);
  if (lookups.size >= 1_000) lookups.clear();
  const result = lookup(host, { all: true, verbatim: true }).then(
    (found) => {
      const out = [...new Set(found.map((f) => canonicalAddress(f.address)).filter((x): x is string => x !== null))];
      return out.length ? out : null;
    },
    () => null,
  );
  lookups.set(host, { at: now, result });
  return result;
}

/**
 * Every numeric address a host name stands for, as the socket layer resolves it (getaddrinfo, so "127.1",
 * "0", "2130706433" and names from /etc/hosts all count). "" (Go's "every interface") is the
 * unspecified address. Null when the name does not resolve by `deadline` (epoch ms): a name server that
 * does not answer never holds a request longer than that (the lookup itself goes on, shared by later asks).
 */
export async function resolveHost(host: string, deadline = Date.now() + 2_000): Promise<string[] | null> {
  if (host === '') return ['::'];
  // Numeric spellings and localhost never wait on a name server (a slow one must not hide a loop).
  const direct = canonicalAddress(host) ?? looseIPv4(host);
  if (direct) return [direct];
  if (host.toLowerCase() === 'localhost') return ['127.0.0.1', '::1'];
  if (host.length > 253 || /[\s/\\?#@%]/.test(host)) return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      lookupCached(host),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Would a connection to `target` reach a listener bound to `listener`? A listener on the unspecified
 * address (0.0.0.0 or ::, dual stack) takes connections to every local address; a connection to the
 * unspecified address reaches the local host.
 */
export function reaches(target: Endpoint, listener: Endpoint, local = localAddresses()): boolean {
  if (target.port !== listener.port) return false;
  const t = canonicalAddress(target.address);
  const l = canonicalAddress(listener.address);
  if (t === null || l === null) return false;
  if (isUnspecifiedAddress(l)) return isLocalAddress(t, local);
  if (isUnspecifiedAddress(t)) return isLocalAddress(l, local);
  return t === l;
}
