// The proxy.* and http.* fault kinds' one implementation: a handle listing the toxics to put on one or more
// fault proxies, each under a lease that renew pushes forward. If every runner dies, the proxy drops the
// toxics by itself within FAULT_LEASE_MS. What sets one kind apart (the toxic it puts, on which streams,
// with which attributes) is a row given to proxyKind by the kind's own file.
import { z } from 'zod';
import type { Ports, ToxicSpec } from './ports.ts';
import type { ExposeEffect, FaultKind, FaultSpecSchema, FaultTarget, RevertEffect, Undone } from './types.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';
import {
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  isHttpMethod,
  isPathPrefix,
  MAX_MATCH_HEADERS,
  MAX_NAME_LENGTH,
  MAX_PATH_PREFIX_LENGTH,
  MAX_PERCENTAGE,
  MAX_PROXIES,
  MAX_TOXICITY,
} from '../proxy/limits.ts';

/** Lease on every rule a fault puts on the proxy; the guard renews it every few seconds. */
export const FAULT_LEASE_MS = 15_000;

const routeName = z
  .string()
  .min(1, { message: 'a route name must not be empty' })
  .max(MAX_NAME_LENGTH, { message: `a route name is at most ${MAX_NAME_LENGTH} characters (the proxy's limit)` });

export const proxyNames = z
  .union([routeName, z.array(routeName).min(1, { message: 'give at least one route' }).max(MAX_PROXIES)])
  .describe('Name of the fault proxy route (a Toxiproxy proxy name), or a list of them.');

/** toxicity 0 would put a rule on the proxy that never touches a connection: refused as a no-op. */
export const toxicityField = z
  .number()
  .gt(0, { message: 'must be greater than 0: toxicity 0 touches no connection (the fault would do nothing)' })
  .max(MAX_TOXICITY)
  .default(1)
  .describe('Share of connections the toxic applies to, more than 0 up to 1.');

/** HTTP matching with the proxy's own limits (proxy/limits.ts), so the proxy never refuses it at inject time. */
export const httpMatch = {
  percentage: z
    .number()
    .gt(0, { message: 'must be greater than 0: percentage 0 touches no request (the fault would do nothing)' })
    .max(MAX_PERCENTAGE)
    .default(100)
    .describe('Share of matching requests hit, more than 0 up to 100.'),
  method: z
    .string()
    .refine(isHttpMethod, {
      message: 'must be an HTTP method such as GET or POST (a token of up to 32 letters, digits, _ or -)',
    })
    .optional(),
  pathPrefix: z
    .string()
    .refine(isPathPrefix, {
      message: `must start with / and hold only visible ASCII characters, at most ${MAX_PATH_PREFIX_LENGTH} (as on a request line)`,
    })
    .optional(),
  headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME_PATTERN, { message: 'must be an HTTP header name (a token of up to 256 characters)' }),
      z.string().regex(HEADER_VALUE_PATTERN, { message: 'must be visible ASCII or spaces, at most 1024 characters' }),
    )
    .refine((h) => Object.keys(h).length <= MAX_MATCH_HEADERS, {
      message: `at most ${MAX_MATCH_HEADERS} headers (the proxy's limit)`,
    })
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

/**
 * Idempotent; tries every rule and reports every failure together. `changed` when a rule of the fault was
 * still on a proxy (or a route still disabled) just before: false means someone else undid it already.
 */
export async function revertProxyFault(ports: Ports, h: ProxyFaultHandle): Promise<RevertEffect> {
  const errors: Error[] = [];
  let changed = false;
  for (const p of h.proxies) {
    const before = await ports.proxy.inspectProxy(p).catch(() => undefined);
    // Unknown (the inspect failed): the rules are removed anyway, and counted as undone here.
    if (
      before === undefined ||
      (before && (h.toxics.some((t) => before.toxics.includes(t.name)) || (h.disable && !before.enabled)))
    )
      changed = true;
    for (const t of h.toxics) await ports.proxy.removeToxic(p, t.name).catch((e: Error) => errors.push(e));
    if (h.disable) await ports.proxy.setEnabled(p, true).catch((e: Error) => errors.push(e));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  await expectProxyReverted(ports, h);
  return { changed };
}

/**
 * When a proxy fault was undone, from the proxy's record of removed rules: when its last rule went, and
 * whether that was its lease lapsing in the proxy (nobody renewed it). undefined when any rule is not
 * remembered, or the fault disabled a route (the proxy keeps no record of re-enabling).
 */
export async function proxyUndoneAt(ports: Ports, h: ProxyFaultHandle): Promise<Undone | undefined> {
  const removedToxic = ports.proxy.removedToxic?.bind(ports.proxy);
  if (!removedToxic || h.disable) return undefined;
  let last: { at: string; by: 'api' | 'lease' } | undefined;
  for (const p of h.proxies)
    for (const t of h.toxics) {
      const r = await removedToxic(p, t.name);
      if (!r) return undefined;
      if (!last || r.at > last.at) last = r;
    }
  return last ? { at: last.at, ...(last.by === 'lease' ? { lapsed: true } : {}) } : undefined;
}

/**
 * Renews every lease and nothing else: a rule the proxy lost is counted, never re-added here (only the
 * guard may restore it, and only while the fault is still active). Returns how many rules were missing.
 */
export async function renewProxyFault(ports: Ports, h: ProxyFaultHandle): Promise<number> {
  let missing = 0;
  for (const p of h.proxies) {
    if (h.disable && !(await ports.proxy.renewDisabled(p, h.leaseMs))) missing++;
    for (const t of h.toxics) if (!(await ports.proxy.renewToxic(p, t.name, h.leaseMs))) missing++;
  }
  return missing;
}

/**
 * The fault's rules at a share of the traffic (percent): an HTTP rule's percentage of matching requests, any
 * other toxic's toxicity (a share of connections). Names and everything else unchanged.
 */
export function toxicsAtShare(toxics: ToxicSpec[], share: number): ToxicSpec[] {
  return toxics.map((t) =>
    t.type.startsWith('http_')
      ? { ...t, attributes: { ...t.attributes, percentage: share } }
      : { ...t, toxicity: share / 100 },
  );
}

/**
 * A step of a progressive exposure: every rule of the fault updated in place to the share, under a new lease.
 * Only ever an update: a rule that is gone (reverted, or lapsed) is not put back; its route is in `missing`.
 * Idempotent: the same share twice is the same rule.
 */
export async function exposeProxyFault(ports: Ports, h: ProxyFaultHandle, share: number): Promise<ExposeEffect> {
  const missing: string[] = [];
  for (const p of h.proxies)
    for (const t of toxicsAtShare(h.toxics, share)) {
      const ok = await ports.proxy.updateToxic(
        p,
        t.name,
        { toxicity: t.toxicity, attributes: t.attributes },
        h.leaseMs,
      );
      if (!ok) missing.push(`${p}/${t.name}`);
    }
  return { missing };
}

export const proxyFaultOps = {
  needsContainer: false as const,
  inject: (ports: Ports, _s: unknown, h: ProxyFaultHandle) => injectProxyFault(ports, h),
  revert: (ports: Ports, h: ProxyFaultHandle) => revertProxyFault(ports, h),
  renew: (ports: Ports, h: ProxyFaultHandle) => renewProxyFault(ports, h),
  restore: (ports: Ports, h: ProxyFaultHandle) => injectProxyFault(ports, h),
  undoneAt: (ports: Ports, h: ProxyFaultHandle) => proxyUndoneAt(ports, h),
  expose: (ports: Ports, h: ProxyFaultHandle, share: number) => exposeProxyFault(ports, h, share),
};

/** The toxic a proxy kind puts on each of its routes, or `disable` for a route taken down whole. */
export type ProxyToxicRow =
  | { type: string; streams: ('upstream' | 'downstream')[]; toxicity: number; attributes: Record<string, unknown> }
  | 'disable';

/** A proxy or HTTP kind's row: inject, revert, renewal, restore and undoneAt are shared. */
export interface ProxyKindRow<Spec extends FaultSpecSchema> {
  name: z.output<Spec>['kind'];
  spec: Spec;
  describe(spec: z.output<Spec>, target: FaultTarget): string;
  toxic(spec: z.output<Spec>): ProxyToxicRow;
}

/** A proxy or HTTP fault kind from its row; the spec's `proxy` names the routes. */
export function proxyKind<Spec extends FaultSpecSchema>(row: ProxyKindRow<Spec>): FaultKind<Spec, ProxyFaultHandle> {
  return {
    name: row.name,
    spec: row.spec,
    ...proxyFaultOps,
    describe: row.describe,
    prepare: (_p, s) => {
      const proxies = (s as { proxy: string | string[] }).proxy;
      const t = row.toxic(s);
      if (t === 'disable') return Promise.resolve(handle(proxies, [], true));
      const toxics = toxicsFor(String(row.name), t.type, t.streams, t.toxicity, t.attributes);
      // A progressive exposure is born at its first step's share; later steps update these rules in place.
      const first = (s as { exposure?: { steps: { share: number }[] } }).exposure?.steps[0]?.share;
      return Promise.resolve(handle(proxies, first === undefined ? toxics : toxicsAtShare(toxics, first)));
    },
  };
}
