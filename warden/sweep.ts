// The orphan sweeper: what Faultline left applied on a host that no open run holds. Evidence is the
// warden's ledger (a lease names the run that holds it and the handle that undoes it) and the toxics on
// every known fault proxy (Faultline's are named faultline-*), judged against the open runs in Temporal.
// With fix, each orphan is reverted exactly as its run would have: the lease goes first, then the kind's
// idempotent revert; a toxic is removed. Touches nothing that is not in a ledger or named faultline-*.
import type { ContainerPort, Lease, Ports } from '../faults/ports.ts';
import type { KernelPort } from '../faults/kernel-ports.ts';
import { kernelApplied } from './sweep-kernel.ts';
import { faultKind } from '../faults/registry.ts';
import { leaseOf } from '../faults/lease.ts';
import { activeLeases, claimedLeases, createLeaseLedger } from './lease-ledger.ts';
import { sweepDecision, type OwnerState, type SweepView } from './sweep-decision.ts';
export type { OwnerState } from './sweep-decision.ts';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface Orphan {
  host: string;
  type: 'container-fault' | 'toxic';
  /** Fault kind (container faults) or toxic name. */
  what: string;
  /** Container name, or proxy route. */
  target: string;
  /** The run that left it, when the ledger says. */
  workflowId?: string;
  /** Whether the fault is still in effect (a lease whose fault was undone already is only stale). */
  applied: boolean;
  leaseId?: string;
  /** Why it is an orphan (its run closed or gone, or no run names it). */
  reason?: string;
  fixed?: boolean;
  error?: string;
}

/** What the open runs hold: the lease ids and toxic names in their journals' handles. */
export interface OpenRuns {
  /** Runs listed as open (visibility). */
  ids: Set<string>;
  /** Toxic names the journals of the open runs and of the holders of admission name. */
  toxics: Set<string>;
  /** Runs whose journal could not be read (no worker): their toxics are unknown, so none is judged. */
  unreadable: string[];
  /** Runs holding admission now (read from the admission workflow, which does not lag), and since when. */
  admitted?: Map<string, string>;
  /** When this list was read (ISO); default: now. */
  readAt?: string;
}

/** How a sweep looks at the runs while it judges: when it began, and the live checks before a revert. */
export interface SweepClock {
  /** When the sweep began, before it read any run (ISO). */
  startedAt: string;
  /** Describes the owning run directly (not visibility); without it nothing owned is swept. */
  describe?: (workflowId: string) => Promise<OwnerState>;
  /** Reads the run list again (for toxics, after they were listed); without it the given list is used. */
  runs?: () => Promise<OpenRuns>;
}

/** Something the sweep found that no open run named, kept because its run is (or may be) alive. */
export interface Spared {
  host: string;
  type: Orphan['type'];
  what: string;
  target: string;
  workflowId?: string;
  leaseId?: string;
  reason: string;
}

export interface SweepFound {
  orphans: Orphan[];
  spared: Spared[];
}

export interface ProxyInventory {
  /** Where the proxy is, for the report. */
  name: string;
  listProxies(): Promise<string[]>;
  listToxics(proxy: string): Promise<string[]>;
  removeToxic(proxy: string, toxic: string): Promise<void>;
}

export interface HostInventory {
  host: string;
  ledgerDir: string;
  containers: ContainerPort;
  /** The host's kernel port: what the kinds acting inside a container's namespaces need to look and revert. */
  kernel?: KernelPort;
}

/** Whether the fault a lease describes is still visible on the daemon. */
async function stillApplied(
  containers: ContainerPort,
  kernel: KernelPort | undefined,
  l: Lease,
): Promise<{ applied: boolean; target: string }> {
  const h = l.handle as { containerId?: string; containerName?: string; wasState?: string; network?: string };
  const target = h.containerName ?? h.containerId ?? '?';
  const now = h.containerId ? await containers.inspect(h.containerId) : null;
  if (!now) return { applied: false, target };
  const inKernel = await kernelApplied(kernel, l.kind, l.handle).catch(() => undefined);
  if (inKernel !== undefined) return { applied: inKernel, target };
  if (l.kind === 'network.partition') return { applied: !!h.network && !(h.network in now.networks), target };
  if (h.wasState !== 'running') return { applied: false, target };
  return { applied: now.state !== 'running' && now.state !== 'restarting', target };
}

const viewOf = (open: OpenRuns, clock: SweepClock): SweepView => ({
  startedAt: clock.startedAt,
  readAt: open.readAt ?? new Date().toISOString(),
  open: open.ids,
  admitted: open.admitted,
  unreadable: open.unreadable,
});

/**
 * The leases in one host's ledger that no open run holds. Each is judged by sweepDecision: one granted
 * after the sweep began is never touched, and one whose run the list does not name is swept only after its
 * run was described just now (with fix: right before the revert) and found closed or gone.
 */
export async function sweepHost(
  inv: HostInventory,
  open: OpenRuns,
  fix: boolean,
  clock: SweepClock = { startedAt: new Date().toISOString() },
): Promise<SweepFound> {
  const orphans: Orphan[] = [];
  const spared: Spared[] = [];
  const leases: Lease[] = [...(await activeLeases(inv.ledgerDir)), ...(await claimedLeases(inv.ledgerDir))];
  const seenAt = new Date().toISOString();
  const view = viewOf(open, clock);
  const ledger = createLeaseLedger(inv.ledgerDir);
  for (const l of leases) {
    if (l.workflowId && view.open.has(l.workflowId)) continue; // held by an open run
    const item = { owner: l.workflowId, grantedAt: l.grantedAt, seenAt };
    const { applied, target } = await stillApplied(inv.containers, inv.kernel, l);
    let d = sweepDecision(item, view);
    // Never on the run list alone: the owner is described now, right before the revert.
    if (!d.sweep && d.check && l.workflowId) d = sweepDecision(item, view, await describeOwner(clock, l.workflowId));
    const base = { host: inv.host, type: 'container-fault' as const, what: l.kind, target, workflowId: l.workflowId };
    if (!d.sweep) {
      spared.push({ ...base, leaseId: l.id, reason: d.reason });
      continue;
    }
    const o: Orphan = { ...base, applied, leaseId: l.id, reason: d.reason };
    if (fix) {
      try {
        await ledger.release(l.id);
        await fs.rm(path.join(inv.ledgerDir, 'reverting', `${l.id}.json`), { force: true });
        const ports: Ports = {
          containers: inv.containers,
          ...(inv.kernel ? { kernel: inv.kernel } : {}),
          proxy: {} as Ports['proxy'],
        };
        const kind = faultKind(l.kind);
        if (!kind) throw new Error(`unknown fault kind ${l.kind}`);
        await kind.revert(ports, l.handle);
        o.fixed = true;
      } catch (e) {
        o.error = (e as Error).message;
      }
    }
    orphans.push(o);
  }
  return { orphans, spared };
}

async function describeOwner(clock: SweepClock, workflowId: string): Promise<OwnerState | undefined> {
  if (!clock.describe) return undefined;
  try {
    return await clock.describe(workflowId);
  } catch (e) {
    return { state: 'unknown', error: (e as Error).message };
  }
}

/**
 * The faultline-* toxics no open run's journal names. Toxics carry no age and no owner, so they are listed
 * first and the runs read after (clock.runs): a run that added one before the listing is open by then (in
 * visibility, or holding admission, which does not lag), and one listed after the runs were read is kept.
 */
export async function sweepProxy(
  p: ProxyInventory,
  open: OpenRuns,
  fix: boolean,
  clock: SweepClock = { startedAt: new Date().toISOString() },
): Promise<SweepFound> {
  const orphans: Orphan[] = [];
  const spared: Spared[] = [];
  const found: { route: string; toxic: string }[] = [];
  for (const route of await p.listProxies())
    for (const toxic of await p.listToxics(route)) if (toxic.startsWith('faultline-')) found.push({ route, toxic });
  const seenAt = new Date().toISOString();
  if (!found.length) return { orphans, spared };
  const runs = clock.runs ? await clock.runs() : open;
  const view = viewOf(runs, clock);
  for (const { route, toxic } of found) {
    if (runs.toxics.has(toxic)) continue; // held by an open run
    const d = sweepDecision({ seenAt }, view);
    if (!d.sweep) {
      spared.push({ host: p.name, type: 'toxic', what: toxic, target: route, reason: d.reason });
      continue;
    }
    const o: Orphan = { host: p.name, type: 'toxic', what: toxic, target: route, applied: true, reason: d.reason };
    if (fix) {
      try {
        await p.removeToxic(route, toxic);
        o.fixed = true;
      } catch (e) {
        o.error = (e as Error).message;
      }
    }
    orphans.push(o);
  }
  return { orphans, spared };
}

/** Lease ids and toxic names in a journal's fault handles. */
export function heldBy(faults: { handle?: Record<string, unknown> }[]): { leases: string[]; toxics: string[] } {
  const leases: string[] = [];
  const toxics: string[] = [];
  for (const f of faults) {
    const l = leaseOf(f.handle);
    if (l) leases.push(l.id);
    const t = (f.handle as { toxics?: { name?: string }[] } | undefined)?.toxics;
    for (const x of t ?? []) if (typeof x.name === 'string') toxics.push(x.name);
  }
  return { leases, toxics };
}
