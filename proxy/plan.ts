// Listen and upstream addresses judged before anything binds. Every spelling is resolved the way the
// socket layer resolves it, then two rules hold: without a token nothing listens off loopback (a proxy
// on 0.0.0.0 pointed at the admin API would expose the token-less API to the network), and nothing
// sends to a listener of this same server (a proxy whose upstream is itself, another proxy or the
// admin API loops: one connection spawns connections until the process runs out of descriptors).
import { formatEndpoint, isLoopbackAddress, localAddresses, reaches, resolveHost, type Endpoint } from './addr.ts';
import { ErrListenFailed, ErrListenOffLoopback, ErrLoop, joinError, type ApiError } from './errors.ts';
import { parseListen, parseUpstream, type ProxyPlan } from './proxy.ts';

/** Another listener or sender of this server, as seen by the one being planned. */
export interface Occupant {
  /** "the admin API", "proxy redis". */
  what: string;
  /** Where it listens (port 0: not known yet, nothing to compare). */
  listen?: Endpoint;
  upstreams: Endpoint[];
}

export interface PlanContext {
  allowOffLoopback: boolean;
  others: Occupant[];
}

/** Name lookups for one request share this budget (ms). */
export const LOOKUP_BUDGET_MS = 2_000;

export async function planProxy(
  listen: string,
  upstream: string,
  ctx: PlanContext,
  deadline = Date.now() + LOOKUP_BUDGET_MS,
): Promise<ProxyPlan> {
  const l = parseListen(listen);
  const up = parseUpstream(upstream);
  const listenAddrs = await resolveHost(l.host, deadline);
  if (!listenAddrs) throw joinError(`listen host "${l.host}" does not resolve`, ErrListenFailed);
  if (!ctx.allowOffLoopback) {
    const off = listenAddrs.find((a) => !isLoopbackAddress(a));
    if (off !== undefined)
      throw joinError(
        `"${listen}" means ${off}; listen on 127.0.0.1, or start the proxy with a token`,
        ErrListenOffLoopback,
      );
  }
  const bind = { address: listenAddrs[0] as string, port: l.port };
  // An upstream that does not resolve now is allowed (Toxiproxy resolves at connect time).
  const upstreamEndpoints = ((await resolveHost(up.host, deadline)) ?? []).map((address) => ({
    address,
    port: up.port,
  }));
  const err = loopError(bind, upstreamEndpoints, ctx.others);
  if (err) throw err;
  return { listen, upstream, bind, up, upstreamEndpoints };
}

/** Would a proxy listening on `bind` and sending to `upstreams` loop into this server? */
export function loopError(bind: Endpoint, upstreams: Endpoint[], others: Occupant[]): ApiError | null {
  const local = localAddresses();
  const listeners = others.filter((o) => o.listen && o.listen.port !== 0);
  if (bind.port !== 0) listeners.push({ what: 'its own listen address', listen: bind, upstreams: [] });
  for (const up of upstreams)
    for (const o of listeners)
      if (reaches(up, o.listen as Endpoint, local))
        return joinError(
          `upstream ${formatEndpoint(up)} is ${o.what} (${formatEndpoint(o.listen as Endpoint)})`,
          ErrLoop,
        );
  if (bind.port !== 0)
    for (const o of others)
      for (const up of o.upstreams)
        if (reaches(up, bind, local))
          return joinError(`listen ${formatEndpoint(bind)} is where ${o.what} sends (${formatEndpoint(up)})`, ErrLoop);
  return null;
}
