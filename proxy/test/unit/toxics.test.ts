// Every toxic driven in memory: a manual clock and a recording context, no sockets.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../clock.ts';
import { toxicType, toxicTypes } from '../../toxics/registry.ts';
import type { Stage } from '../../toxic.ts';
import { ManualClock, recorder, type Recorded } from '../support.ts';

let clock: ManualClock;
let restore: () => void;
beforeEach(() => {
  clock = new ManualClock();
  restore = useClock(clock);
});
afterEach(() => {
  restore();
  vi.restoreAllMocks();
});

function make(type: string, attrs: Record<string, unknown>): { stage: Stage; rec: Recorded } {
  const t = toxicType(type);
  if (!t) throw new Error(`no toxic ${type}`);
  const rec = recorder(clock);
  const parsed = t.attributes.parse({ ...t.defaults, ...attrs }) as Record<string, unknown>;
  return { stage: t.create(parsed, rec.ctx), rec };
}
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('registry', () => {
  it('has every Toxiproxy toxic plus the HTTP ones, and defaults that pass their own schema', () => {
    expect(toxicTypes.map((t) => t.type).sort()).toEqual(
      [
        'bandwidth',
        'http_abort',
        'http_delay',
        'latency',
        'limit_data',
        'noop',
        'reset_peer',
        'slicer',
        'slow_close',
        'timeout',
      ].sort(),
    );
    for (const t of toxicTypes) expect(t.attributes.safeParse(t.defaults).success).toBe(true);
  });
});

describe('latency', () => {
  it('holds each chunk for the latency, in order, then passes the end', () => {
    const { stage, rec } = make('latency', { latency: 100 });
    stage.data(b('a'));
    clock.advance(50);
    stage.data(b('b'));
    stage.end();
    clock.advance(49);
    expect(rec.events).toEqual([]);
    clock.advance(1);
    expect(rec.events).toEqual(['data:a@1100']);
    clock.advance(50);
    expect(rec.events).toEqual(['data:a@1100', 'data:b@1150', 'end@1150']);
  });

  it('keeps order under jitter even when a later chunk draws a shorter delay', () => {
    const draws = [0.99, 0.0]; // first: latency+~jitter, second: latency-jitter
    vi.spyOn(Math, 'random').mockImplementation(() => draws.shift() ?? 0.5);
    const { stage, rec } = make('latency', { latency: 100, jitter: 50 });
    stage.data(b('1'));
    stage.data(b('2'));
    clock.advance(60);
    expect(rec.events).toEqual([]); // '2' is due at 50 but must not overtake '1'
    clock.advance(100);
    expect(rec.text()).toBe('12');
  });

  it('on flush hands over everything it holds at once and fires nothing later', () => {
    const { stage, rec } = make('latency', { latency: 10_000 });
    stage.data(b('x'));
    stage.data(b('y'));
    stage.end();
    stage.flush();
    expect(rec.events).toEqual(['data:x@1000', 'data:y@1000', 'end@1000']);
    clock.advance(20_000);
    expect(rec.events).toHaveLength(3);
  });
});

describe('latency under a steady stream', () => {
  it('keeps every byte in order while the queue never runs empty (its storage is trimmed as it goes)', () => {
    const { stage, rec } = make('latency', { latency: 50 });
    let sent = '';
    for (let i = 0; i < 5_000; i++) {
      const piece = `${i},`;
      sent += piece;
      stage.data(b(piece));
      clock.advance(1); // always ~50 chunks waiting
    }
    clock.advance(100);
    expect(rec.text()).toBe(sent);
  });

  it('pauses the source while more than 8 MB wait and resumes it as they drain', () => {
    const { stage, rec } = make('latency', { latency: 100 });
    for (let i = 0; i < 9; i++) stage.data(Buffer.alloc(1 << 20));
    expect(rec.events).toEqual(['pause']);
    clock.advance(100);
    expect(rec.events.filter((e) => e === 'resume')).toHaveLength(1);
    expect(rec.text()).toHaveLength(9 << 20);
  });
});

describe('bandwidth', () => {
  it('paces bytes at the rate (KB/s) and pauses the source while a backlog builds', () => {
    const { stage, rec } = make('bandwidth', { rate: 1 }); // 1000 bytes/s
    stage.data(Buffer.alloc(100, 97)); // 100 ms worth
    expect(rec.text()).toBe('');
    clock.advance(99);
    expect(rec.text()).toBe('');
    clock.advance(1);
    expect(rec.text()).toHaveLength(100);
    stage.data(Buffer.alloc(70_000, 98)); // > 64 KB queued: the source must pause
    expect(rec.events).toContain('pause');
    clock.advance(1_000);
    expect(rec.text().length).toBe(100 + 1_000); // one second: 1000 bytes more, in 100-byte slices
    clock.advance(69_000);
    expect(rec.text().length).toBe(70_100);
    expect(rec.events).toContain('resume');
  });

  it('rate 0 means unlimited', () => {
    const { stage, rec } = make('bandwidth', { rate: 0 });
    stage.data(Buffer.alloc(1_000_000));
    expect(rec.text()).toHaveLength(1_000_000);
  });
});

describe('timeout', () => {
  it('drops data and closes the connection after the timeout', () => {
    const { stage, rec } = make('timeout', { timeout: 500 });
    stage.data(b('lost'));
    clock.advance(499);
    expect(rec.events).toEqual([]);
    clock.advance(1);
    expect(rec.events).toEqual(['close@1500']);
  });

  it('with timeout 0 holds forever; removal closes a connection whose bytes it dropped', () => {
    const held = make('timeout', { timeout: 0 });
    held.stage.data(b('lost'));
    clock.advance(3_600_000);
    expect(held.rec.events).toEqual([]);
    held.stage.flush();
    expect(held.rec.events).toEqual(['close@3601000']);
    const idle = make('timeout', { timeout: 0 });
    idle.stage.flush();
    expect(idle.rec.events).toEqual([]); // nothing was dropped: the connection goes on
  });
});

describe('reset_peer', () => {
  it('resets the connection `timeout` ms after the first data', () => {
    const { stage, rec } = make('reset_peer', { timeout: 200 });
    clock.advance(1_000);
    expect(rec.events).toEqual([]);
    stage.data(b('x'));
    clock.advance(199);
    expect(rec.events).toEqual([]);
    clock.advance(1);
    expect(rec.events).toEqual(['reset@2200']);
  });
});

describe('slow_close', () => {
  it('passes data at once and delays the end', () => {
    const { stage, rec } = make('slow_close', { delay: 300 });
    stage.data(b('hi'));
    stage.end();
    expect(rec.events).toEqual(['data:hi@1000']);
    clock.advance(300);
    expect(rec.events).toEqual(['data:hi@1000', 'end@1300']);
  });
});

describe('slicer', () => {
  it('cuts a chunk into small pieces, spaced by delay µs, without losing or reordering bytes', () => {
    const { stage, rec } = make('slicer', { average_size: 10, size_variation: 4, delay: 2_000 });
    const input = Array.from({ length: 200 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('');
    stage.data(b(input));
    clock.advance(10_000);
    const pieces = rec.events.filter((e) => e.startsWith('data:'));
    expect(pieces.length).toBeGreaterThan(10);
    expect(rec.text()).toBe(input);
    const times = pieces.map((e) => Number(e.split('@')[1]));
    expect(times[1]! - times[0]!).toBe(2); // 2000 µs apart
  });
});

describe('limit_data', () => {
  it('passes the first N bytes, drops the rest and closes', () => {
    const { stage, rec } = make('limit_data', { bytes: 5 });
    stage.data(b('abc'));
    stage.data(b('defgh'));
    stage.data(b('ijk'));
    expect(rec.text()).toBe('abcde');
    expect(rec.events.filter((e) => e.startsWith('close'))).toHaveLength(1);
  });
});

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: svc\r\n${extra}\r\n`;

describe('http_abort', () => {
  it('answers a matching request itself, sends nothing upstream, and lets the next request on the connection through', () => {
    const { stage, rec } = make('http_abort', { status: 503, headers: { 'x-faultline-test': '1' } });
    stage.data(b(GET('/a', 'X-Faultline-Test: 1\r\n')));
    expect(rec.text()).toBe('');
    const reply = rec.events.find((e) => e.startsWith('reply:')) ?? '';
    expect(reply).toMatch(/^reply:HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(reply).toMatch(/content-length: \d+/);
    stage.data(b(GET('/b')));
    expect(rec.text()).toBe(GET('/b'));
  });

  it('keeps framing across Content-Length and chunked bodies split over chunks', () => {
    const { stage, rec } = make('http_abort', { status: 500, method: 'POST' });
    const post = 'POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 10\r\n\r\n0123456789';
    const chunked =
      'POST /y HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n';
    const all = post + chunked + GET('/after');
    for (let i = 0; i < all.length; i += 7) stage.data(b(all.slice(i, i + 7))); // awkward boundaries
    expect(rec.events.filter((e) => e.startsWith('reply:HTTP/1.1 500'))).toHaveLength(2);
    expect(rec.text()).toBe(GET('/after'));
  });

  it('matches method, path prefix and headers; percentage 0 never fires', () => {
    const t = make('http_abort', { method: 'get', path_prefix: '/api/', headers: { 'x-a': 'b' } });
    t.stage.data(b(GET('/api/users', 'x-a: b\r\n')));
    t.stage.data(b(GET('/other', 'x-a: b\r\n')));
    t.stage.data(b(GET('/api/users', 'x-a: c\r\n')));
    t.stage.data(b('DELETE /api/users HTTP/1.1\r\nx-a: b\r\n\r\n'));
    expect(t.rec.events.filter((e) => e.startsWith('reply:'))).toHaveLength(1);
    const never = make('http_abort', { percentage: 0 });
    never.stage.data(b(GET('/')));
    expect(never.rec.text()).toBe(GET('/'));
  });

  it('asks to close when the client does (Connection: close)', () => {
    const { stage, rec } = make('http_abort', {});
    stage.data(b(GET('/', 'Connection: close\r\n')));
    expect(rec.events[0]).toMatch(/connection: close\r\n\r\n.*\+close@/s);
  });

  it('does not hold a short non-HTTP message waiting for a head that will never come', () => {
    const { stage, rec } = make('http_abort', {});
    stage.data(b('*1\r\n$4\r\nPING\r\n')); // a whole Redis command, 14 bytes
    expect(rec.text()).toBe('*1\r\n$4\r\nPING\r\n');
    const get = make('http_abort', { path_prefix: '/never' });
    get.stage.data(b('GET /x HT')); // could still be a request: wait for the rest
    expect(get.rec.text()).toBe('');
    get.stage.data(b('TP/1.1\r\n\r\n'));
    expect(get.rec.text()).toBe('GET /x HTTP/1.1\r\n\r\n');
  });

  it('understands bare-LF heads, as Node does', () => {
    const { stage, rec } = make('http_abort', { status: 429, path_prefix: '/a' });
    stage.data(b('GET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\nHost: x\n\n'));
    expect(rec.events[0]).toMatch(/^reply:HTTP\/1\.1 429 /);
    expect(rec.text()).toBe('GET /b HTTP/1.1\nHost: x\n\n');
  });

  it('passes non-HTTP bytes through untouched', () => {
    const { stage, rec } = make('http_abort', {});
    stage.data(b('\x00\x01binary protocol, not http at all\r\n\r\n'));
    stage.data(b('more'));
    expect(rec.text()).toBe('\x00\x01binary protocol, not http at all\r\n\r\nmore');
  });
});

describe('http_delay', () => {
  it('holds a matching request (head and body) for the delay; later requests queue behind it', () => {
    const { stage, rec } = make('http_delay', { delay: 200, path_prefix: '/slow' });
    const slow = 'POST /slow HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc';
    stage.data(b(slow));
    stage.data(b(GET('/fast')));
    clock.advance(199);
    expect(rec.text()).toBe('');
    clock.advance(1);
    expect(rec.text()).toBe(slow + GET('/fast'));
  });

  it('passes non-matching requests at once and releases held ones on flush', () => {
    const { stage, rec } = make('http_delay', { delay: 60_000, headers: { 'x-test': 'yes' } });
    stage.data(b(GET('/a')));
    expect(rec.text()).toBe(GET('/a'));
    stage.data(b(GET('/b', 'x-test: yes\r\n')));
    expect(rec.text()).toBe(GET('/a'));
    stage.flush();
    expect(rec.text()).toBe(GET('/a') + GET('/b', 'x-test: yes\r\n'));
  });
});

describe('http framing never loses or invents bytes', () => {
  it('hands arbitrary input through unchanged when no request matches, however it is chunked', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = [
      'GET / HTTP/1.1\r\n',
      'POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello',
      'Transfer-Encoding: chunked\r\n',
      '\r\n',
      '5\r\nabcde\r\n0\r\n\r\n',
      'Content-Length: 99999999999\r\n',
      'X: y\r\n',
      '\x00\xff',
      'zz',
      'Upgrade: ws\r\nConnection: upgrade\r\n',
    ];
    for (let round = 0; round < 200; round++) {
      let input = '';
      for (let i = 0, n = 1 + rand(30); i < n; i++) input += pieces[rand(pieces.length)];
      for (const type of ['http_abort', 'http_delay']) {
        const { stage, rec } = make(type, { delay: 5, percentage: 0 });
        for (let off = 0; off < input.length;) {
          const n = 1 + rand(40);
          stage.data(b(input.slice(off, off + n)));
          off += n;
        }
        stage.end();
        clock.advance(10);
        expect(rec.text(), `${type} round ${round}`).toBe(input);
        expect(rec.events.at(-1)).toMatch(/^end@/);
      }
    }
  });
});
