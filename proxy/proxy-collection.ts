// Every proxy of a server, by name: create, update, populate (Toxiproxy's add-or-replace), remove,
// reset. Changes run one at a time (exclusive) and are all-or-nothing: a new listener is bound before
// the old one is let go, and a change that fails leaves every proxy, listener and connection as it was.
import type net from 'node:net';
import { Proxy, boundEndpoint, type ProxyJson, type ProxyPlan } from './proxy.ts';
import { leaseOf } from './toxic-collection.ts';
import { canonicalAddress, isUnspecifiedAddress, parseHostPort, resolveHost, type Endpoint } from './addr.ts';
import { LOOKUP_BUDGET_MS, loopError, planProxy, type Occupant, type PlanContext } from './plan.ts';
import { MAX_NAME_LENGTH, MAX_POPULATE_ENTRIES, MAX_PROXIES } from './limits.ts';
import {
  ApiError,
  ErrBadRequestBody,
  ErrLimit,
  ErrMissingField,
  ErrProxyAlreadyExists,
  ErrProxyNotFound,
  joinError,
} from './errors.ts';

type Body = Record<string, unknown>;
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ProxyInput {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

function str(body: Body, key: string, fallback: string, where = ''): string {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw joinError(`${key}${where} must be a string`, ErrBadRequestBody);
  return v;
}

function bool(body: Body, key: string, fallback: boolean, where = ''): boolean {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw joinError(`${key}${where} must be true or false`, ErrBadRequestBody);
  return v;
}

export function proxyInput(body: unknown, where = '', base?: ProxyInput): ProxyInput {
  if (!isObject(body)) throw joinError(`expected a JSON object${where}`, ErrBadRequestBody);
  const input: ProxyInput = {
    name: str(body, 'name', base?.name ?? '', where),
    listen: str(body, 'listen', base?.listen ?? '', where),
    upstream: str(body, 'upstream', base?.upstream ?? '', where),
    enabled: bool(body, 'enabled', base?.enabled ?? true, where),
  };
  if (!input.name) throw joinError(`name${where}`, ErrMissingField);
  if (!input.upstream) throw joinError(`upstream${where}`, ErrMissingField);
  if (!base && input.name.length > MAX_NAME_LENGTH)
    throw joinError(`name${where} is longer than ${MAX_NAME_LENGTH} characters`, ErrBadRequestBody);
  return input;
}

/** Same socket? (A listener on the unspecified address overlaps every other one on its port.) */
function overlaps(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  return (
    isUnspecifiedAddress(a.address) ||
    isUnspecifiedAddress(b.address) ||
    canonicalAddress(a.address) === canonicalAddress(b.address)
  );
}

export interface ProxyCollectionOptions {
  log?: (msg: string) => void;
  /** Proxies may listen off loopback (the admin API has a token). */
  allowOffLoopback?: boolean;
}

export class ProxyCollection {
  private readonly proxies = new Map<string, Proxy>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly log: (msg: string) => void;
  readonly allowOffLoopback: boolean;
  /** The admin API's own listener(s), set by the server: no proxy may send there. */
  adminEndpoints: Endpoint[] = [];

  constructor(opts: ProxyCollectionOptions | ((msg: string) => void) = {}) {
    const o = typeof opts === 'function' ? { log: opts } : opts;
    this.log = o.log ?? (() => undefined);
    this.allowOffLoopback = o.allowOffLoopback ?? false;
  }

  /** Runs changes one at a time, in arrival order (reads never wait). */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    // the chain only orders changes; each caller gets its own change's error from `run`
    this.chain = run.catch(() => undefined);
    return run;
  }

  list(): Proxy[] {
    return [...this.proxies.values()];
  }

  get size(): number {
    return this.proxies.size;
  }

  get(name: string): Proxy {
    const p = this.proxies.get(name);
    if (!p) throw ErrProxyNotFound;
    return p;
  }

  private occupants(skip: (p: Proxy) => boolean): Occupant[] {
    const out: Occupant[] = this.adminEndpoints.map((listen) => ({ what: 'the admin API', listen, upstreams: [] }));
    for (const p of this.proxies.values())
      if (!skip(p))
        out.push({ what: `proxy ${p.name}`, listen: p.listenEndpoint, upstreams: p.current.upstreamEndpoints });
    return out;
  }

  private context(others: Occupant[]): PlanContext {
    return { allowOffLoopback: this.allowOffLoopback, others };
  }

  /** Binds for a plan and checks the port it got (port 0 may land on another proxy's upstream). */
  private async bindChecked(p: Proxy, plan: ProxyPlan, others: Occupant[]): Promise<net.Server> {
    for (let attempt = 0; ; attempt++) {
      const s = await p.bindFor(plan);
      const err = loopError(boundEndpoint(s), plan.upstreamEndpoints, others);
      if (!err) return s;
      s.close();
      if (plan.bind.port !== 0 || attempt >= 4) throw err;
    }
  }

  private make(name: string, plan: ProxyPlan): Proxy {
    const p = new Proxy(name, plan, this.log);
    p.onLeaseLapse = (q) =>
      void this.exclusive(async () => {
        if (this.proxies.get(q.name) !== q || q.enabled) return;
        q.adopt(
          await this.bindChecked(
            q,
            q.current,
            this.occupants((o) => o === q),
          ),
          q.current,
        );
      }).catch((e: Error) => this.log(`proxy ${q.name}: lease lapsed but it cannot start again: ${e.message}`));
    return p;
  }

  /** Would this listen/upstream make a different proxy? (Toxiproxy's Differs: resolved addresses.) */
  private differs(p: Proxy, plan: ProxyPlan): boolean {
    if (plan.upstream !== p.upstream) return true;
    const have = p.listenEndpoint;
    if (plan.bind.port !== 0 && plan.bind.port !== have.port) return true;
    return canonicalAddress(plan.bind.address) !== canonicalAddress(have.address);
  }

  /** POST /proxies. */
  create(body: unknown): Promise<Proxy> {
    return this.exclusive(async () => {
      const input = proxyInput(body);
      if (this.proxies.has(input.name)) throw ErrProxyAlreadyExists;
      if (this.proxies.size >= MAX_PROXIES) throw joinError(`at most ${MAX_PROXIES} proxies`, ErrLimit);
      const others = this.occupants(() => false);
      const plan = await planProxy(input.listen, input.upstream, this.context(others));
      const p = this.make(input.name, plan);
      if (input.enabled) p.adopt(await this.bindChecked(p, plan, others), plan);
      this.proxies.set(p.name, p);
      return p;
    });
  }

  /** PATCH/POST /proxies/{name}: fields default to the current ones; enabled:false may carry lease_ms. */
  update(name: string, body: unknown): Promise<Proxy> {
    return this.exclusive(async () => {
      const p = this.get(name);
      const input = proxyInput(body, '', { name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled });
      const lease = leaseOf(body as Body);
      const others = this.occupants((o) => o === p);
      const asked =
        input.listen === p.listen && input.upstream === p.upstream
          ? p.current
          : await planProxy(input.listen, input.upstream, this.context(others));
      const differs = asked !== p.current && this.differs(p, asked);
      const plan = differs ? asked : p.current;
      if (!input.enabled) {
        p.disable(lease);
        if (differs) p.replan(plan);
        return p;
      }
      if (p.enabled && !differs) {
        p.clearLease();
        return p;
      }
      let server: net.Server;
      if (p.enabled && overlaps(plan.bind, p.listenEndpoint)) {
        // Same port: the old listener must go first; if the new one cannot bind, it comes back.
        await p.releaseListener();
        try {
          server = await this.bindChecked(p, plan, others);
        } catch (e) {
          await p.relisten().catch((err: Error) => this.log(`proxy ${p.name}: cannot listen again: ${err.message}`));
          throw e;
        }
      } else server = await this.bindChecked(p, plan, others);
      p.clearLease();
      p.adopt(server, plan);
      return p;
    });
  }

  /** DELETE /proxies/{name}. */
  remove(name: string): Promise<void> {
    return this.exclusive(() => {
      const p = this.get(name);
      this.proxies.delete(name);
      p.close();
    });
  }

  /**
   * POST /populate: add or replace each proxy (Toxiproxy's AddOrReplace), all or nothing. Every entry
   * is validated and planned first; then every new listener is bound; only when all of them are bound
   * do replaced proxies close. On any failure nothing has changed and the answer lists no proxies.
   */
  populate(body: unknown): Promise<{ proxies: Proxy[]; error?: ApiError }> {
    return this.exclusive(async () => {
      if (!Array.isArray(body)) throw joinError('expected a JSON array of proxies', ErrBadRequestBody);
      if (body.length > MAX_POPULATE_ENTRIES)
        throw joinError(`at most ${MAX_POPULATE_ENTRIES} proxies in one populate`, ErrLimit);
      const seen = new Map<string, number>();
      const inputs = body.map((b, i) => {
        if (isObject(b) && b.name === undefined) throw joinError(`name at proxy ${i + 1}`, ErrMissingField);
        if (isObject(b) && b.upstream === undefined) throw joinError(`upstream at proxy ${i + 1}`, ErrMissingField);
        const input = proxyInput(b, ` at proxy ${i + 1}`);
        const first = seen.get(input.name);
        if (first !== undefined)
          throw joinError(`name at proxy ${i + 1} repeats proxy ${first} ("${input.name}")`, ErrBadRequestBody);
        seen.set(input.name, i + 1);
        return input;
      });
      const fresh = inputs.filter((i) => !this.proxies.has(i.name)).length;
      if (this.proxies.size + fresh > MAX_PROXIES) throw joinError(`at most ${MAX_PROXIES} proxies`, ErrLimit);

      // One lookup budget for the whole populate, every name looked up at once (then cached).
      const deadline = Date.now() + LOOKUP_BUDGET_MS;
      await Promise.all(
        inputs.flatMap((i) => [i.listen, i.upstream].map((a) => resolveHost(parseHostPort(a)?.host ?? '', deadline))),
      );
      // Plan in order; each entry must not loop into the server as it will be (kept proxies, earlier entries).
      const named = new Set(inputs.map((i) => i.name));
      const others = this.occupants((p) => named.has(p.name));
      type Entry = { input: ProxyInput; keep?: Proxy; plan?: ProxyPlan; replaces?: Proxy; occupant: Occupant };
      const entries: Entry[] = [];
      for (const input of inputs) {
        const existing = this.proxies.get(input.name);
        const plan = await planProxy(input.listen, input.upstream, this.context(others), deadline);
        const keep = existing && !this.differs(existing, plan) ? existing : undefined;
        const occupant = {
          what: `proxy ${input.name}`,
          listen: keep ? keep.listenEndpoint : plan.bind,
          upstreams: plan.upstreamEndpoints,
        };
        others.push(occupant);
        entries.push(keep ? { input, keep, occupant } : { input, plan, replaces: existing, occupant });
      }

      // Bind every new listener; one that needs the port of a proxy it replaces waits for that one.
      const made = new Map<Entry, { proxy: Proxy; server?: net.Server }>();
      const released: Proxy[] = [];
      const undo = async (): Promise<void> => {
        for (const m of made.values()) m.server?.close();
        for (const p of released) await p.relisten().catch((e: Error) => this.log(`proxy ${p.name}: ${e.message}`));
      };
      const bind = async (e: Entry): Promise<void> => {
        const proxy = this.make(e.input.name, e.plan as ProxyPlan);
        const rest = others.filter((o) => o !== e.occupant);
        made.set(e, {
          proxy,
          server: e.input.enabled ? await this.bindChecked(proxy, e.plan as ProxyPlan, rest) : undefined,
        });
      };
      const waiting: Entry[] = [];
      try {
        for (const e of entries) {
          if (!e.plan) continue;
          const clash = [...this.proxies.values()].some(
            (p) => named.has(p.name) && p.enabled && overlaps(e.plan!.bind, p.listenEndpoint),
          );
          if (e.input.enabled && clash) waiting.push(e);
          else await bind(e);
        }
        for (const e of waiting) {
          for (const p of this.proxies.values())
            if (named.has(p.name) && p.enabled && overlaps(e.plan!.bind, p.listenEndpoint) && !released.includes(p)) {
              await p.releaseListener();
              released.push(p);
            }
          await bind(e);
        }
      } catch (err) {
        await undo();
        if (err instanceof ApiError) return { proxies: [], error: err };
        throw err;
      }

      // Commit: replaced proxies close, new ones take their names.
      const out: Proxy[] = [];
      for (const e of entries) {
        if (e.keep) {
          out.push(e.keep);
          continue;
        }
        const m = made.get(e) as { proxy: Proxy; server?: net.Server };
        if (e.replaces) e.replaces.close();
        if (m.server) m.proxy.adopt(m.server, e.plan as ProxyPlan);
        this.proxies.set(e.input.name, m.proxy);
        out.push(m.proxy);
      }
      return { proxies: out };
    });
  }

  /** POST /reset: every proxy enabled, every toxic gone; if one cannot listen, nothing changes. */
  reset(): Promise<void> {
    return this.exclusive(async () => {
      const started: [Proxy, net.Server][] = [];
      try {
        for (const p of this.proxies.values())
          if (!p.enabled)
            started.push([
              p,
              await this.bindChecked(
                p,
                p.current,
                this.occupants((o) => o === p),
              ),
            ]);
      } catch (e) {
        for (const [, s] of started) s.close();
        throw e;
      }
      for (const [p, s] of started) p.adopt(s, p.current);
      for (const p of this.proxies.values()) {
        p.clearLease();
        p.toxics.reset();
      }
    });
  }

  close(): void {
    for (const p of this.proxies.values()) p.close();
    this.proxies.clear();
  }

  toJSON(): Record<string, ProxyJson> {
    const out: Record<string, ProxyJson> = {};
    for (const p of this.proxies.values()) out[p.name] = p.toJSON();
    return out;
  }
}
