// A named proxy: a listener, its upstream, its live connections and its toxics. Disabling a proxy is
// Toxiproxy's "down" (stop listening, close every connection); Faultline adds a lease to disabling, so
// a proxy taken down by an experiment comes back by itself. Addresses arrive here already checked by
// the collection (plan.ts): this file binds, swaps and counts, it does not judge.
import net from 'node:net';
import { Connection } from './link.ts';
import { ToxicCollection, toxicJson, type ToxicJson } from './toxic-collection.ts';
import type { Stream } from './toxic.ts';
import { formatAddress, formatEndpoint, parseHostPort, type Endpoint, type HostPort } from './addr.ts';
import { ApiError, ErrInvalidValue, ErrListenFailed, joinError } from './errors.ts';

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

/** Where a proxy listens and where it sends, parsed and resolved (see plan.ts). */
export interface ProxyPlan {
  /** As given (shown while the proxy is disabled). */
  listen: string;
  upstream: string;
  /** The numeric address and port to bind (port 0: any free port). */
  bind: Endpoint;
  up: HostPort;
  /** What the upstream host resolved to (empty when it did not resolve). */
  upstreamEndpoints: Endpoint[];
}

/** Byte and connection counters, per direction (Toxiproxy's received/sent per direction). */
export interface ProxyTraffic {
  connections: number;
  active: number;
  upstream: { received: number; sent: number };
  downstream: { received: number; sent: number };
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

/** Binds a listener (not yet serving any proxy); Go's error text and Toxiproxy's 500 when the port is taken. */
export function bindListener(at: Endpoint, onConnection: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  return new Promise<net.Server>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `listen tcp ${formatEndpoint(at)}: bind`;
      if (err.code === 'EADDRINUSE') reject(new ApiError(`${where}: address already in use`, 500));
      else if (err.code === 'EADDRNOTAVAIL')
        reject(joinError(`${where}: cannot assign requested address`, ErrListenFailed));
      else if (err.code === 'EACCES') reject(joinError(`${where}: permission denied`, ErrListenFailed));
      else reject(joinError(`${where}: ${err.code ?? err.message}`, ErrListenFailed));
    };
    server.once('error', onError);
    server.listen({ host: at.address, port: at.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

export function boundEndpoint(server: net.Server): Endpoint {
  const a = server.address() as net.AddressInfo;
  return { address: a.address, port: a.port };
}

export class Proxy {
  enabled = false;
  readonly toxics: ToxicCollection;
  listen: string;
  upstream: string;
  private plan: ProxyPlan;
  private server: net.Server | null = null;
  private bound: Endpoint | null = null;
  private readonly conns = new Set<Connection>();
  private disabledUntil?: number;
  private leaseTimer?: NodeJS.Timeout;
  /** Bytes of connections already closed; live ones are read off their sockets when asked. */
  private readonly closed = { connections: 0, upRecv: 0, upSent: 0, downRecv: 0, downSent: 0 };

  constructor(
    readonly name: string,
    plan: ProxyPlan,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    this.plan = plan;
    this.listen = plan.listen;
    this.upstream = plan.upstream;
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

  /** The plan this proxy runs (or would run when enabled). */
  get current(): ProxyPlan {
    return this.plan;
  }

  /** Where it listens now, or would listen if enabled (port 0 when not known yet). */
  get listenEndpoint(): Endpoint {
    return this.bound ?? this.plan.bind;
  }

  /** Binds a listener for `plan` that will feed this proxy once adopted. */
  bindFor(plan: ProxyPlan): Promise<net.Server> {
    return bindListener(plan.bind, (client) => this.accept(client));
  }

  /** Start on the current plan (no-op when running). */
  async start(): Promise<void> {
    if (this.enabled) return;
    this.adopt(await this.bindFor(this.plan), this.plan);
  }

  /**
   * Takes a listener bound by bindFor as this proxy's, with the plan it was bound for. A listener or
   * upstream that changes closes the old connections, as Toxiproxy's restart does.
   */
  adopt(server: net.Server, plan: ProxyPlan): void {
    if (this.server) this.server.close();
    this.dropConnections(); // a restart (new listener or upstream): Toxiproxy closes them too
    this.upstream = plan.upstream;
    server.on('error', (err) => this.log(`proxy ${this.name}: ${err.message}`));
    this.server = server;
    this.bound = boundEndpoint(server);
    this.listen = formatAddress(server.address());
    // Enabling again later binds the same port, as Toxiproxy does (it keeps the resolved address).
    this.plan = { ...plan, bind: this.bound, listen: this.listen };
    this.enabled = true;
    this.log(`proxy ${this.name} listening on ${this.listen}, upstream ${this.upstream}`);
  }

  /** A disabled proxy takes a new plan without binding anything. */
  replan(plan: ProxyPlan): void {
    if (this.enabled) throw new Error('replan on a running proxy');
    this.plan = plan;
    this.listen = plan.listen;
    this.upstream = plan.upstream;
  }

  /** Stops listening but keeps live connections (a listener swap on the same port frees it first). */
  async releaseListener(): Promise<net.Server | null> {
    const s = this.server;
    if (!s) return null;
    this.server = null;
    // close() frees the port at once; its callback would wait for every live connection to end.
    s.close();
    await new Promise<void>((r) => setImmediate(r));
    return s;
  }

  /** Undo of releaseListener when the swap failed: listen again where it was. */
  async relisten(): Promise<void> {
    const at = this.bound;
    if (!at) return;
    const s = await bindListener(at, (client) => this.accept(client));
    s.on('error', (err) => this.log(`proxy ${this.name}: ${err.message}`));
    this.server = s;
  }

  private accept(client: net.Socket): void {
    if (!this.enabled) return void client.destroy();
    const up = this.plan.up;
    const upstream = net.connect({ host: up.host, port: up.port, allowHalfOpen: true });
    this.closed.connections++;
    const conn = new Connection(client, upstream, this.toxics.all(), (c) => this.gone(c));
    this.conns.add(conn);
  }

  private gone(c: Connection): void {
    if (!this.conns.delete(c)) return;
    this.count(c, this.closed);
  }

  private count(c: Connection, into: { upRecv: number; upSent: number; downRecv: number; downSent: number }): void {
    into.upRecv += c.client.bytesRead;
    into.upSent += c.upstream.bytesWritten;
    into.downRecv += c.upstream.bytesRead;
    into.downSent += c.client.bytesWritten;
  }

  traffic(): ProxyTraffic {
    const t = {
      upRecv: this.closed.upRecv,
      upSent: this.closed.upSent,
      downRecv: this.closed.downRecv,
      downSent: this.closed.downSent,
    };
    for (const c of this.conns) this.count(c, t);
    return {
      connections: this.closed.connections,
      active: this.conns.size,
      upstream: { received: t.upRecv, sent: t.upSent },
      downstream: { received: t.downRecv, sent: t.downSent },
    };
  }

  private dropConnections(): void {
    for (const c of this.conns) {
      c.destroy();
      this.gone(c);
    }
  }

  /** Stop listening and close every connection (Toxiproxy's stop). */
  stop(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.server?.close();
    this.server = null;
    this.bound = null;
    this.dropConnections();
    this.log(`proxy ${this.name} stopped`);
  }

  /** Disable, optionally with a lease after which the proxy starts again by itself. */
  disable(leaseMs?: number | null): void {
    this.stop();
    if (leaseMs) {
      this.clearLease();
      this.disabledUntil = Date.now() + leaseMs;
      this.leaseTimer = setTimeout(() => {
        this.leaseTimer = undefined;
        this.disabledUntil = undefined;
        this.onLeaseLapse(this);
      }, leaseMs);
      this.leaseTimer.unref();
    } else if (leaseMs === null) this.clearLease();
  }

  /** Set by the collection: a lapsed lease re-enables through it (same checks, same lock). */
  onLeaseLapse: (p: Proxy) => void = (p) => {
    p.start().catch((e: Error) => this.log(`proxy ${this.name}: lease lapsed but it cannot start again: ${e.message}`));
  };

  clearLease(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.disabledUntil = undefined;
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
