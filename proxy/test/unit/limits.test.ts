// The limits module is the one source of the proxy's bounds: each toxic's schema accepts exactly the
// limit and refuses one past it, and the HTTP matching rules refuse what could never match.
import { describe, expect, it } from 'vitest';
import * as L from '../../limits.ts';
import { toxicType } from '../../toxics/registry.ts';

function accepts(type: string, attrs: Record<string, unknown>): boolean {
  const t = toxicType(type);
  if (!t) throw new Error(type);
  return t.attributes.safeParse({ ...t.defaults, ...attrs }).success;
}

describe('limits shared with the experiment language', () => {
  const bounds: [string, string, number][] = [
    ['latency', 'latency', L.MAX_LATENCY_MS],
    ['latency', 'jitter', L.MAX_JITTER_MS],
    ['bandwidth', 'rate', L.MAX_RATE_KBPS],
    ['timeout', 'timeout', L.MAX_CLOSE_AFTER_MS],
    ['reset_peer', 'timeout', L.MAX_RESET_AFTER_MS],
    ['slow_close', 'delay', L.MAX_SLOW_CLOSE_MS],
    ['slicer', 'average_size', L.MAX_SLICE_BYTES],
    ['slicer', 'delay', L.MAX_SLICER_DELAY_US],
    ['http_delay', 'delay', L.MAX_HTTP_DELAY_MS],
    ['http_abort', 'status', L.MAX_HTTP_ABORT_STATUS],
    ['http_delay', 'percentage', L.MAX_PERCENTAGE],
  ];
  it.each(bounds)('%s.%s accepts its limit and refuses one past it', (type, attr, max) => {
    expect(accepts(type, { [attr]: max })).toBe(true);
    expect(accepts(type, { [attr]: max + 1 })).toBe(false);
    expect(accepts(type, { [attr]: -1 })).toBe(false);
  });

  it('every ms limit fits a Node timer', () => {
    for (const ms of [L.MAX_LATENCY_MS + L.MAX_JITTER_MS, L.MAX_CLOSE_AFTER_MS, L.MAX_RESET_AFTER_MS, L.MAX_LEASE_MS])
      expect(ms).toBeLessThan(2 ** 31);
  });

  it('HTTP matching: methods are tokens, path prefixes start with / and hold no spaces, header names are tokens', () => {
    expect(accepts('http_abort', { method: 'get' })).toBe(true);
    expect(accepts('http_abort', { method: 'PROPFIND' })).toBe(true);
    expect(accepts('http_abort', { method: 'GE T' })).toBe(false);
    expect(accepts('http_abort', { method: '1GET' })).toBe(false);
    expect(accepts('http_abort', { path_prefix: '/api/' })).toBe(true);
    expect(accepts('http_abort', { path_prefix: 'api' })).toBe(false);
    expect(accepts('http_abort', { path_prefix: '/a b' })).toBe(false);
    expect(accepts('http_abort', { path_prefix: '/' + 'a'.repeat(L.MAX_PATH_PREFIX_LENGTH) })).toBe(false);
    expect(accepts('http_abort', { headers: { 'x-a': 'b' } })).toBe(true);
    expect(accepts('http_abort', { headers: { 'x a': 'b' } })).toBe(false);
    expect(accepts('http_abort', { headers: { 'x-a': 'b\r\nc' } })).toBe(false);
    const many = Object.fromEntries(Array.from({ length: L.MAX_MATCH_HEADERS + 1 }, (_, i) => [`h${i}`, 'v']));
    expect(accepts('http_abort', { headers: many })).toBe(false);
    for (const m of L.HTTP_METHODS) expect(L.isHttpMethod(m)).toBe(true);
  });
});
