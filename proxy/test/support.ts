// Test support for the proxy: a manual clock and a recording stage context (toxics in memory), and
// small socket helpers (echo server, a client that collects what it reads).
import net from 'node:net';
import type { Clock, Timer } from '../clock.ts';
import type { StageContext } from '../toxic.ts';

export class ManualClock implements Clock {
  t = 1_000;
  private timers: { due: number; fn: () => void; cancelled: boolean }[] = [];
  now = (): number => this.t;
  at = (due: number, fn: () => void): Timer => {
    const e = { due, fn, cancelled: false };
    this.timers.push(e);
    return { cancel: () => void (e.cancelled = true) };
  };
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const live = this.timers.filter((e) => !e.cancelled && e.due <= end).sort((a, b) => a.due - b.due);
      const next = live[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.filter((e) => !e.cancelled).length;
  }
}

export interface Recorded {
  ctx: StageContext;
  /** "data:<text>@<t>", "end@t", "close@t", "reset@t", "reply:<text>@t", "pause", "resume" */
  events: string[];
  text(): string;
}

export function recorder(clock: ManualClock): Recorded {
  const events: string[] = [];
  const out: Buffer[] = [];
  const ctx: StageContext = {
    push: (c) => {
      out.push(Buffer.from(c));
      events.push(`data:${c.toString('latin1')}@${clock.t}`);
    },
    end: () => void events.push(`end@${clock.t}`),
    close: () => void events.push(`close@${clock.t}`),
    reset: () => void events.push(`reset@${clock.t}`),
    reply: (c, thenClose) => void events.push(`reply:${c.toString('latin1')}${thenClose ? '+close' : ''}@${clock.t}`),
    pauseSource: () => void events.push('pause'),
    resumeSource: () => void events.push('resume'),
  };
  return { ctx, events, text: () => Buffer.concat(out).toString('latin1') };
}

export async function echoServer(): Promise<{ port: number; close(): Promise<void>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** A client socket that keeps everything it reads and how it ended. */
export class Client {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (c: Buffer) => {
      this.received = Buffer.concat([this.received, c]);
      this.wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e;
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond` holds (checked on every socket event). */
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  async read(n: number): Promise<string> {
    await this.until(() => this.received.length >= n || this.closed);
    const s = this.received.subarray(0, n).toString('latin1');
    this.received = this.received.subarray(n);
    return s;
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Holds a port on 127.0.0.1 (0: any) and closes whatever connects, quietly: a "port in use" for tests. */
export async function portHolder(port = 0): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return { port: (srv.address() as net.AddressInfo).port, close: () => void srv.close() };
}
