// ProxyPort over the fault proxy's admin API (Toxiproxy-compatible, plus lease_ms), with undici.
// Only this file (and the worker that constructs it) knows the proxy speaks HTTP.
import { request } from 'undici';
import type { ProxyPort, ProxyState, ToxicSpec } from '../../faults/ports.ts';
import { FaultTargetGone, InfrastructureError, ProxyRejected } from '../../errors.ts';

export class ProxyApiError extends Error {
  override name = 'ProxyApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class ProxyClient implements ProxyPort {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  /** baseUrl: the admin API, e.g. http://127.0.0.1:8474; token: the proxy's bearer token, if it has one. */
  constructor(baseUrl: string, token?: string) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.headers = { 'content-type': 'application/json', 'user-agent': 'faultline' };
    if (token) this.headers.authorization = `Bearer ${token}`;
  }

  private async call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    let res;
    try {
      res = await request(this.base + path, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
    } catch (e) {
      throw new InfrastructureError(`fault proxy at ${this.base} unreachable: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.statusCode, json };
  }

  private fail(what: string, r: { status: number; json: unknown }): never {
    const msg = (r.json as { error?: string } | undefined)?.error ?? JSON.stringify(r.json);
    if (r.status === 404 && /proxy not found/.test(msg)) throw new FaultTargetGone(`${what}: ${msg}`);
    if (r.status === 400) throw new ProxyRejected(`${what}: the proxy rejected it: ${msg}`);
    throw new ProxyApiError(`${what}: HTTP ${r.status}: ${msg}`, r.status);
  }

  private static path(proxy: string, toxic?: string): string {
    const p = `/proxies/${encodeURIComponent(proxy)}/toxics`;
    return toxic === undefined ? p : `${p}/${encodeURIComponent(toxic)}`;
  }

  async listProxies(): Promise<string[]> {
    const r = await this.call('GET', '/proxies');
    if (r.status !== 200 || r.json === null || typeof r.json !== 'object') this.fail('list proxies', r);
    return Object.keys(r.json as Record<string, unknown>);
  }

  /** Names of the toxics on one route (the sweeper's inventory). */
  async listToxics(proxy: string): Promise<string[]> {
    const r = await this.call('GET', ProxyClient.path(proxy));
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(`list toxics of ${proxy}`, r);
    return (r.json as { name: string }[]).map((t) => t.name);
  }

  async addToxic(proxy: string, toxic: ToxicSpec, leaseMs: number): Promise<void> {
    const body = { ...toxic, lease_ms: leaseMs };
    let r = await this.call('POST', ProxyClient.path(proxy), body);
    if (r.status === 409) {
      // Same name already there: a retried inject of the same fault (names are unique per fault). Keep
      // that rule and renew its lease: removing and re-adding would apply the fault twice, with a gap.
      if (await this.renewToxic(proxy, toxic.name, leaseMs)) return;
      r = await this.call('POST', ProxyClient.path(proxy), body);
    }
    if (r.status !== 200 && r.status !== 201) this.fail(`add toxic ${toxic.name} to ${proxy}`, r);
  }

  async updateToxic(
    proxy: string,
    toxicName: string,
    change: { toxicity?: number; attributes?: Record<string, unknown> },
    leaseMs: number,
  ): Promise<boolean> {
    // Toxiproxy's update (POST /proxies/{p}/toxics/{t}): 404 when the toxic is gone, and nothing is added.
    const r = await this.call('POST', ProxyClient.path(proxy, toxicName), { ...change, lease_ms: leaseMs });
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    this.fail(`update toxic ${toxicName} on ${proxy}`, r);
  }

  async removeToxic(proxy: string, toxicName: string): Promise<void> {
    const r = await this.call('DELETE', ProxyClient.path(proxy, toxicName));
    if (r.status === 204 || r.status === 200 || r.status === 404) return; // gone already is success
    this.fail(`remove toxic ${toxicName} from ${proxy}`, r);
  }

  async renewToxic(proxy: string, toxicName: string, leaseMs: number): Promise<boolean> {
    const r = await this.call('PATCH', ProxyClient.path(proxy, toxicName), { lease_ms: leaseMs });
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    this.fail(`renew toxic ${toxicName} on ${proxy}`, r);
  }

  async setEnabled(proxy: string, enabled: boolean, leaseMs?: number): Promise<void> {
    const body: Record<string, unknown> = { enabled };
    if (!enabled && leaseMs) body.lease_ms = leaseMs;
    const r = await this.call('PATCH', `/proxies/${encodeURIComponent(proxy)}`, body);
    if (r.status === 200) return;
    if (r.status === 404 && enabled) return; // reverting on a proxy that is gone: nothing to undo
    this.fail(`${enabled ? 'enable' : 'disable'} proxy ${proxy}`, r);
  }

  async inspectProxy(proxy: string): Promise<ProxyState | null> {
    const r = await this.call('GET', `/proxies/${encodeURIComponent(proxy)}`);
    if (r.status === 404) return null;
    if (r.status !== 200) this.fail(`inspect proxy ${proxy}`, r);
    const p = r.json as { enabled: boolean; toxics?: { name: string }[]; upstream?: string };
    return {
      enabled: p.enabled,
      toxics: (p.toxics ?? []).map((t) => t.name),
      ...(typeof p.upstream === 'string' ? { upstream: p.upstream } : {}),
    };
  }

  /** Faultline's proxy only: when a toxic no longer there was removed, and why; null when it does not say. */
  async removedToxic(proxy: string, toxicName: string): Promise<{ at: string; by: 'api' | 'lease' } | null> {
    const r = await this.call('GET', `${ProxyClient.path(proxy, toxicName)}/removed`);
    if (r.status !== 200) return null; // not remembered, no such route, or a Toxiproxy without the record
    const j = r.json as { removed_at?: unknown; by?: unknown };
    if (typeof j.removed_at !== 'string' || (j.by !== 'api' && j.by !== 'lease')) return null;
    return { at: j.removed_at, by: j.by };
  }

  async renewDisabled(proxy: string, leaseMs: number): Promise<boolean> {
    const g = await this.call('GET', `/proxies/${encodeURIComponent(proxy)}`);
    if (g.status === 404) return false;
    if (g.status !== 200) this.fail(`read proxy ${proxy}`, g);
    if ((g.json as { enabled?: boolean }).enabled !== false) return false; // enabled: never re-disable it here
    const r = await this.call('PATCH', `/proxies/${encodeURIComponent(proxy)}`, { enabled: false, lease_ms: leaseMs });
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    this.fail(`renew disabled proxy ${proxy}`, r);
  }
}
