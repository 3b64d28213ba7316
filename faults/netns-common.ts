// Shared by the fault kinds that act inside a container's network namespace (network.loss, network.split,
// network.bandwidth): the handle's common part (the namespace it belongs to and its rules at prepare), the
// kernel port, and what a revert says when the container restarted, stopped or went since prepare.
import type { FaultTarget } from './types.ts';
import type { Ports } from './ports.ts';
import type { KernelPort, NetnsResult, NetnsSnapshot, OwnedChains } from './kernel-ports.ts';
import { containerOf } from './container-common.ts';
import { chainsPresent, ruleset, rulesetDiff } from './netfilter.ts';
import { FaultTargetGone, InvalidInput, RevertIncomplete } from '../errors.ts';

export interface NetnsFaultHandle extends Record<string, unknown> {
  containerId: string;
  containerName: string;
  /** The main process's start at prepare: another one means the container restarted (a new namespace). */
  startedAt?: string;
  /** The namespace the fault belongs to; nothing is ever applied to another one. */
  netns: string;
  /** The namespace's rule set at prepare (ruleset() form): what the revert must leave. */
  rulesBefore: string[];
}

export function kernelOf(ports: Ports, kind: string): KernelPort {
  if (!ports.kernel)
    throw new InvalidInput(
      `${kind} acts inside the container's namespaces: it runs on the host's agent, whose ports have none here`,
    );
  return ports.kernel;
}

/** The container as it is now, and its namespace (which must exist: the fault is prepared on a running one). */
export async function prepareNetns(
  ports: Ports,
  kind: string,
  t: FaultTarget,
): Promise<{ base: NetnsFaultHandle; snapshot: NetnsSnapshot }> {
  const c = await containerOf(ports, t);
  // A container on the host's network shares the host's namespace: its rules would act on the whole host.
  if ('host' in ((await ports.containers.inspect(c.containerId))?.networks ?? {}))
    throw new InvalidInput(
      `${kind} on ${c.containerName}: the container uses the host's network (network mode host), so its network namespace is the host's and the fault would hit every process on the host; nothing injected`,
    );
  const r = await kernelOf(ports, kind).netns(c.containerId);
  if (r.state !== 'ok')
    throw new FaultTargetGone(
      `${kind} on ${c.containerName}: ${r.state === 'none' ? r.why : 'its network namespace changed while it was read'}`,
    );
  return {
    base: {
      containerId: c.containerId,
      containerName: c.containerName,
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      netns: r.snapshot.netns,
      rulesBefore: ruleset(r.snapshot.rules),
    },
    snapshot: r.snapshot,
  };
}

/** What a namespace call says when it could not act: the container restarted or stopped. */
export function gone(kind: string, h: NetnsFaultHandle, r: Exclude<NetnsResult, { state: 'ok' }>): string {
  return r.state === 'changed'
    ? `${kind} on ${h.containerName}: the container restarted (network namespace ${h.netns} is gone, it now has ${r.netns}); the fault went with the old namespace and nothing was applied to the new one`
    : `${kind} on ${h.containerName}: ${r.why}; the fault went with its network namespace ${h.netns}`;
}

/**
 * Before a revert acts: the container removed, stopped or restarted since prepare took the namespace (and
 * the fault) with it. Returns the note saying so, or undefined when the namespace is still the fault's.
 */
export async function goneSincePrepare(ports: Ports, kind: string, h: NetnsFaultHandle): Promise<string | undefined> {
  const now = await ports.containers.inspect(h.containerId);
  if (!now) return `${kind} on ${h.containerName}: the container was removed; the fault went with it`;
  if (now.state !== 'running' && now.state !== 'paused')
    return `${kind} on ${h.containerName}: the container is ${now.state}; the fault went with its network namespace ${h.netns}`;
  if (h.startedAt && now.startedAt && now.startedAt !== h.startedAt)
    return `${kind} on ${h.containerName}: the container restarted (started ${now.startedAt}); the fault went with its old network namespace ${h.netns} and nothing was applied to the new one`;
  return undefined;
}

/** After a revert: the rule set is the one recorded at prepare, or the revert fails naming what differs. */
export function expectRulesBefore(kind: string, h: NetnsFaultHandle, s: NetnsSnapshot): void {
  const { missing, added } = rulesetDiff(h.rulesBefore, s.rules);
  if (!missing.length && !added.length) return;
  const show = (xs: string[]) => xs.slice(0, 5).join(' | ') + (xs.length > 5 ? ` (+${xs.length - 5} more)` : '');
  throw new RevertIncomplete(
    `${kind} on ${h.containerName} not reverted: its packet filter rules differ from those before the fault` +
      (added.length ? `; not there before: ${show(added)}` : '') +
      (missing.length ? `; missing since: ${show(missing)}` : ''),
  );
}

/**
 * The revert of a kind whose rules are chains of its own (network.loss, network.split): nothing when the
 * namespace went since prepare (the note says so); else exactly the fault's hooks and chains removed, then
 * the rule set checked against the one recorded at prepare.
 */
export async function revertOwnedChains(
  ports: Ports,
  kind: string,
  h: NetnsFaultHandle & { owned: OwnedChains },
): Promise<{ changed: boolean; note?: string }> {
  const note = await goneSincePrepare(ports, kind, h);
  if (note) return { changed: false, note };
  const r = await kernelOf(ports, kind).removeChains(h.containerId, h.netns, h.owned);
  if (r.state !== 'ok') return { changed: false, note: gone(kind, h, r) };
  const left = chainsPresent(r.snapshot, h.owned);
  if (left.chains.length || left.hooks)
    throw new RevertIncomplete(
      `${kind} on ${h.containerName} not reverted: ${left.chains.length} chains and ${left.hooks} hooks of the fault are still there`,
    );
  expectRulesBefore(kind, h, r.snapshot);
  return { changed: r.changed ?? true };
}
