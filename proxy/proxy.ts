// A named proxy: a listener, its upstream, its live connections and its toxics. Disabling a proxy is
// Toxiproxy's "down" (stop listening, close every connection); Faultline adds a lease to disabling, so
// a proxy taken down by an experiment comes back by itself.
import net from 'node:net';
import { Connection } from './link.ts';
import { ToxicCollection, toxicJson, type ToxicJson } from './toxic-collection.ts';
import type { Stream } from './toxic.ts';
import { bindHost, formatAddress, parseHostPort, type HostPort } from './addr.ts';
import { ErrInvalidValue, ErrListenFailed, ErrListenInUse, joinError } from './errors.ts';

/** Connections switched per event-loop turn when a toxic is removed. */
const LINK_BATCH = 200;

export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicJson[];
  /** Faultline: when a leased `enabled: false` lapses. */
  expires_at?: string;
}

export function parseListen(text: string): HostPort {
  if (text === '') return { host: '127.0.0.1', port: 0 }; // safe default: loopback, any port
  const hp = parseHostPort(text);
  if (!hp) throw joinError(`listen must be host:port, got "${text}"`, ErrInvalidValue);
  return hp;
}

export function parseUpstream(text: string): HostPort {
  const hp = parseHostPort(text);
  if (!hp || !hp.host || hp.port === 0) throw joinError(`upstream must be host:port, got "${text}"`, ErrInvalidValue);
  return hp;
}

export class Proxy {
  enabled = false;
  readonly toxics: ToxicCollection;
  private server: net.Server | null = null;
  private readonly conns = new Set<Connection>();
  private up: HostPort;
  private disabledUntil?: number;
  private leaseTimer?: NodeJS.Timeout;

  constructor(
    readonly name: string,
    public listen: string,
    public upstream: string,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    parseListen(listen);
    this.up = parseUpstream(upstream);
    this.toxics = new ToxicCollection({
      forEachLink: (stream: Stream, fn) => {
        for (const c of this.conns) fn(c.link(stream));
      },
      forEachLinkSoon: (stream: Stream, fn) => {
        const todo = [...this.conns];
        let i = 0;
        const batch = (): void => {
          const end = Math.min(todo.length, i + LINK_BATCH);
          for (; i < end; i++) fn((todo[i] as Connection).link(stream));
          if (i < todo.length) setImmediate(batch);
        };
        if (todo.length) setImmediate(batch);
      },
    });
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  async start(): Promise<void> {
    if (this.enabled) return;
    const want = parseListen(this.listen);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        if (err.code === 'EADDRINUSE') reject(joinError(this.listen, ErrListenInUse));
        else reject(joinError(`${this.listen}: ${err.code ?? err.message}`, ErrListenFailed));
      };
      server.once('error', onError);
      server.listen({ host: bindHost(want.host), port: want.port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.log(`proxy ${this.name}: ${err.message}`));
    this.server = server;
    this.listen = formatAddress(server.address());
    this.enabled = true;
    this.log(`proxy ${this.name} listening on ${this.listen}, upstream ${this.upstream}`);
  }

  private accept(client: net.Socket): void {
    if (!this.enabled) return void client.destroy();
    const upstream = net.connect({ host: this.up.host, port: this.up.port, allowHalfOpen: true });
    const conn = new Connection(client, upstream, this.toxics.all(), (c) => this.conns.delete(c));
    this.conns.add(conn);
  }

  /** Stop listening and close every connection (Toxiproxy's stop). */
  stop(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.server?.close();
    this.server = null;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    this.log(`proxy ${this.name} stopped`);
  }

  /** Enable or disable; disabling may carry a lease after which the proxy starts again by itself. */
  async setEnabled(enabled: boolean, leaseMs?: number | null): Promise<void> {
    if (enabled) {
      this.clearLease();
      await this.start();
      return;
    }
    this.stop();
    if (leaseMs) {
      this.clearLease();
      this.disabledUntil = Date.now() + leaseMs;
      this.leaseTimer = setTimeout(() => {
        this.leaseTimer = undefined;
        this.disabledUntil = undefined;
        this.start().catch((e: Error) =>
          this.log(`proxy ${this.name}: lease lapsed but it cannot start again: ${e.message}`),
        );
      }, leaseMs);
      this.leaseTimer.unref();
    } else if (leaseMs === null) this.clearLease();
  }

  private clearLease(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.disabledUntil = undefined;
  }

  /** Would a proxy with this listen and upstream be a different one? (Toxiproxy's Differs) */
  differs(listen: string, upstream: string): boolean {
    if (upstream !== this.upstream) return true;
    const want = parseListen(listen);
    const have = parseHostPort(this.listen);
    if (!have) return true;
    if (want.port !== 0 && want.port !== have.port) return true;
    const wantHost = bindHost(want.host);
    return wantHost !== have.host && !(wantHost === '::' && have.host === '::');
  }

  /** PATCH /proxies/{name}: listen or upstream changes restart it; enabled follows. */
  async update(listen: string, upstream: string, enabled: boolean, leaseMs?: number | null): Promise<void> {
    if (this.differs(listen, upstream)) {
      const nextUp = parseUpstream(upstream);
      parseListen(listen);
      const wasEnabled = this.enabled;
      this.stop();
      this.listen = listen;
      this.upstream = upstream;
      this.up = nextUp;
      if (wasEnabled && enabled) await this.start();
    }
    if (enabled !== this.enabled || (!enabled && leaseMs !== undefined)) await this.setEnabled(enabled, leaseMs);
    else if (enabled) this.clearLease();
  }

  /** Close for good (DELETE, shutdown). */
  close(): void {
    this.clearLease();
    this.toxics.reset();
    this.stop();
  }

  toJSON(): ProxyJson {
    const j: ProxyJson = {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.toxics.all().map(toxicJson),
    };
    if (this.disabledUntil !== undefined) j.expires_at = new Date(this.disabledUntil).toISOString();
    return j;
  }
}
