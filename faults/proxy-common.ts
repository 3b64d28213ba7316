// Shared shape of the proxy.* and http.* fault kinds: a handle listing the toxics to put on one or more
// fault proxies, each under a lease that keepAlive renews. If every runner dies, the proxy drops the
// toxics by itself within FAULT_LEASE_MS.
import { z } from 'zod';
import type { Ports, ToxicSpec } from './ports.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';

/** Lease on every rule a fault puts on the proxy; keepAlive renews it every few seconds. */
export const FAULT_LEASE_MS = 15_000;

export const proxyNames = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe('Name of the fault proxy route (a Toxiproxy proxy name), or a list of them.');

export const toxicityField = z
  .number()
  .min(0)
  .max(1)
  .default(1)
  .describe('Share of connections the toxic applies to, 0..1.');

export const httpMatch = {
  percentage: z.number().min(0).max(100).default(100).describe('Share of matching requests hit, 0..100.'),
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, { message: 'must be an HTTP method such as GET' })
    .optional(),
  pathPrefix: z.string().startsWith('/', { message: 'must start with /' }).optional(),
  headers: z
    .record(z.string().min(1), z.string())
    .optional()
    .describe('Every header must be present with this exact value.'),
};

export function httpMatchAttributes(s: {
  percentage: number;
  method?: string;
  pathPrefix?: string;
  headers?: Record<string, string>;
}): Record<string, unknown> {
  return {
    percentage: s.percentage,
    method: s.method?.toUpperCase() ?? '',
    path_prefix: s.pathPrefix ?? '',
    headers: s.headers ?? {},
  };
}

export function httpMatchText(s: {
  percentage: number;
  method?: string;
  pathPrefix?: string;
  headers?: Record<string, string>;
}): string {
  const parts = [s.method?.toUpperCase() ?? '', s.pathPrefix ? `${s.pathPrefix}*` : ''].filter(Boolean);
  const h = Object.entries(s.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
  return `${s.percentage}% of ${parts.length ? parts.join(' ') : 'all'} requests${h.length ? ` with ${h.join(', ')}` : ''}`;
}

export interface ProxyFaultHandle extends Record<string, unknown> {
  proxies: string[];
  toxics: ToxicSpec[];
  /** proxy.partition with mode "down": the proxies are disabled instead of carrying a toxic. */
  disable: boolean;
  leaseMs: number;
}

export const asList = (p: string | string[]): string[] => (Array.isArray(p) ? p : [p]);

/**
 * Stable toxic name for this fault: chosen once in prepare and recorded in the handle (workflow
 * history), so a retried inject replaces the same toxic instead of adding a second one, and two
 * experiments on the same proxy never remove each other's rules.
 */
export function toxicName(kind: string, stream?: string): string {
  const id = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, '0');
  return `faultline-${kind.replace(/\./g, '-')}-${id}${stream ? `-${stream}` : ''}`;
}

export function streamsOf(s: 'upstream' | 'downstream' | 'both'): ('upstream' | 'downstream')[] {
  return s === 'both' ? ['upstream', 'downstream'] : [s];
}

export function toxicsFor(
  kind: string,
  type: string,
  streams: ('upstream' | 'downstream')[],
  toxicity: number,
  attributes: Record<string, unknown>,
): ToxicSpec[] {
  const base = toxicName(kind);
  return streams.map((stream) => ({
    name: streams.length > 1 ? `${base}-${stream}` : base,
    type,
    stream,
    toxicity,
    attributes,
  }));
}

export function handle(proxies: string | string[], toxics: ToxicSpec[], disable = false): ProxyFaultHandle {
  return { proxies: asList(proxies), toxics, disable, leaseMs: FAULT_LEASE_MS };
}

export async function injectProxyFault(ports: Ports, h: ProxyFaultHandle): Promise<void> {
  for (const p of h.proxies) {
    if (h.disable) await ports.proxy.setEnabled(p, false, h.leaseMs);
    for (const t of h.toxics) await ports.proxy.addToxic(p, t, h.leaseMs);
  }
  // Observed, not assumed: every rule is on its proxy, every route to disable is down.
  for (const p of h.proxies) {
    const now = await ports.proxy.inspectProxy(p);
    if (!now) throw new FaultTargetGone(`fault proxy route ${p} does not exist`);
    const missing = h.toxics.filter((t) => !now.toxics.includes(t.name)).map((t) => t.name);
    if (missing.length)
      throw new FaultNotInEffect(`proxy ${p}: rule ${missing.join(', ')} missing right after the inject`);
    if (h.disable && now.enabled) throw new FaultNotInEffect(`proxy ${p}: still enabled right after disabling it`);
  }
}

/** After a revert: none of the fault's rules is left and every route it disabled is enabled again. */
async function expectProxyReverted(ports: Ports, h: ProxyFaultHandle): Promise<void> {
  const problems: string[] = [];
  for (const p of h.proxies) {
    const now = await ports.proxy.inspectProxy(p);
    if (!now) continue; // the route is gone: nothing of ours is left on it
    const left = h.toxics.filter((t) => now.toxics.includes(t.name)).map((t) => t.name);
    if (left.length) problems.push(`proxy ${p}: rule ${left.join(', ')} still present`);
    if (h.disable && !now.enabled) problems.push(`proxy ${p}: still disabled`);
  }
  if (problems.length) throw new RevertIncomplete(`not reverted: ${problems.join('; ')}`);
}

/** Idempotent; tries every rule and reports every failure together. */
export async function revertProxyFault(ports: Ports, h: ProxyFaultHandle): Promise<void> {
  const errors: Error[] = [];
  for (const p of h.proxies) {
    for (const t of h.toxics) await ports.proxy.removeToxic(p, t.name).catch((e: Error) => errors.push(e));
    if (h.disable) await ports.proxy.setEnabled(p, true).catch((e: Error) => errors.push(e));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  await expectProxyReverted(ports, h);
}

/** Renews every lease; a rule the proxy lost (restarted, lease lapsed in a pause) is put back. */
export async function keepProxyFaultAlive(ports: Ports, h: ProxyFaultHandle): Promise<void> {
  for (const p of h.proxies) {
    if (h.disable) await ports.proxy.setEnabled(p, false, h.leaseMs);
    for (const t of h.toxics) {
      if (!(await ports.proxy.renewToxic(p, t.name, h.leaseMs))) await ports.proxy.addToxic(p, t, h.leaseMs);
    }
  }
}

export const proxyFaultOps = {
  needsContainer: false as const,
  inject: (ports: Ports, _s: unknown, h: ProxyFaultHandle) => injectProxyFault(ports, h),
  revert: (ports: Ports, h: ProxyFaultHandle) => revertProxyFault(ports, h),
  keepAlive: (ports: Ports, h: ProxyFaultHandle) => keepProxyFaultAlive(ports, h),
};
