// Every proxy of a server, by name: create, populate (Toxiproxy's add-or-replace), remove, reset.
import { Proxy, type ProxyJson } from './proxy.ts';
import { leaseOf } from './toxic-collection.ts';
import {
  ApiError,
  ErrBadRequestBody,
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
  return input;
}

export class ProxyCollection {
  private readonly proxies = new Map<string, Proxy>();

  constructor(private readonly log: (msg: string) => void = () => undefined) {}

  list(): Proxy[] {
    return [...this.proxies.values()];
  }

  get(name: string): Proxy {
    const p = this.proxies.get(name);
    if (!p) throw ErrProxyNotFound;
    return p;
  }

  /** POST /proxies. */
  async create(body: unknown): Promise<Proxy> {
    const input = proxyInput(body);
    if (this.proxies.has(input.name)) throw ErrProxyAlreadyExists;
    const p = new Proxy(input.name, input.listen, input.upstream, this.log);
    if (input.enabled) await p.start();
    if (this.proxies.has(input.name)) {
      p.close(); // lost a race with a concurrent create
      throw ErrProxyAlreadyExists;
    }
    this.proxies.set(p.name, p);
    return p;
  }

  /** PATCH/POST /proxies/{name}: fields default to the current ones; enabled:false may carry lease_ms. */
  async update(name: string, body: unknown): Promise<Proxy> {
    const p = this.get(name);
    const input = proxyInput(body, '', { name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled });
    await p.update(input.listen, input.upstream, input.enabled, leaseOf(body as Body));
    return p;
  }

  remove(name: string): void {
    const p = this.get(name);
    this.proxies.delete(name);
    p.close();
  }

  /** POST /populate: validate every entry first, then add or replace each (Toxiproxy's AddOrReplace). */
  async populate(body: unknown): Promise<{ proxies: Proxy[]; error?: ApiError }> {
    if (!Array.isArray(body)) throw joinError('expected a JSON array of proxies', ErrBadRequestBody);
    const inputs = body.map((b, i) => {
      if (isObject(b) && b.name === undefined) throw joinError(`name at proxy ${i + 1}`, ErrMissingField);
      if (isObject(b) && b.upstream === undefined) throw joinError(`upstream at proxy ${i + 1}`, ErrMissingField);
      return proxyInput(b, ` at proxy ${i + 1}`);
    });
    const done: Proxy[] = [];
    for (const input of inputs) {
      try {
        const existing = this.proxies.get(input.name);
        if (existing && !existing.differs(input.listen, input.upstream)) {
          done.push(existing);
          continue;
        }
        const p = new Proxy(input.name, input.listen, input.upstream, this.log);
        if (existing) {
          this.proxies.delete(input.name);
          existing.close();
        }
        if (input.enabled) await p.start();
        this.proxies.set(p.name, p);
        done.push(p);
      } catch (e) {
        return { proxies: done, error: e instanceof ApiError ? e : new ApiError(String(e), 500) };
      }
    }
    return { proxies: done };
  }

  /** POST /reset: every proxy enabled, every toxic gone. */
  async reset(): Promise<void> {
    for (const p of this.proxies.values()) {
      p.toxics.reset();
      await p.setEnabled(true);
    }
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
