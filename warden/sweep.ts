// The orphan sweeper: what Faultline left applied on a host that no open run holds. Evidence is the
// warden's ledger (a lease names the run that holds it and the handle that undoes it) and the toxics on
// every known fault proxy (Faultline's are named faultline-*), judged against the open runs in Temporal.
// With fix, each orphan is reverted exactly as its run would have: the lease goes first, then the kind's
// idempotent revert; a toxic is removed. Touches nothing that is not in a ledger or named faultline-*.
import type { ContainerPort, Lease, Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import { leaseOf } from '../faults/lease.ts';
import { activeLeases, claimedLeases, createLeaseLedger } from '../activities/adapters/lease-ledger.ts';
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
  fixed?: boolean;
  error?: string;
}

/** What the open runs hold: the lease ids and toxic names in their journals' handles. */
export interface OpenRuns {
  ids: Set<string>;
  toxics: Set<string>;
  /** Runs whose journal could not be read (no worker): their toxics are unknown, so none is judged. */
  unreadable: string[];
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
}

/** Whether the fault a lease describes is still visible on the daemon. */
async function stillApplied(containers: ContainerPort, l: Lease): Promise<{ applied: boolean; target: string }> {
  const h = l.handle as { containerId?: string; containerName?: string; wasState?: string; network?: string };
  const target = h.containerName ?? h.containerId ?? '?';
  const now = h.containerId ? await containers.inspect(h.containerId) : null;
  if (!now) return { applied: false, target };
  if (l.kind === 'network.partition') return { applied: !!h.network && !(h.network in now.networks), target };
  if (h.wasState !== 'running') return { applied: false, target };
  return { applied: now.state !== 'running' && now.state !== 'restarting', target };
}

export async function sweepHost(inv: HostInventory, open: OpenRuns, fix: boolean): Promise<Orphan[]> {
  const out: Orphan[] = [];
  const leases: Lease[] = [...(await activeLeases(inv.ledgerDir)), ...(await claimedLeases(inv.ledgerDir))];
  const ledger = createLeaseLedger(inv.ledgerDir);
  for (const l of leases) {
    if (l.workflowId && open.ids.has(l.workflowId)) continue;
    const { applied, target } = await stillApplied(inv.containers, l);
    const o: Orphan = {
      host: inv.host,
      type: 'container-fault',
      what: l.kind,
      target,
      workflowId: l.workflowId,
      applied,
      leaseId: l.id,
    };
    if (fix) {
      try {
        await ledger.release(l.id);
        await fs.rm(path.join(inv.ledgerDir, 'reverting', `${l.id}.json`), { force: true });
        const ports: Ports = { containers: inv.containers, proxy: {} as Ports['proxy'] };
        const kind = faultKind(l.kind);
        if (!kind) throw new Error(`unknown fault kind ${l.kind}`);
        await kind.revert(ports, l.handle);
        o.fixed = true;
      } catch (e) {
        o.error = (e as Error).message;
      }
    }
    out.push(o);
  }
  return out;
}

export async function sweepProxy(p: ProxyInventory, open: OpenRuns, fix: boolean): Promise<Orphan[]> {
  const out: Orphan[] = [];
  if (open.unreadable.length) return out; // cannot tell an orphan from a toxic under guard
  for (const route of await p.listProxies()) {
    for (const toxic of await p.listToxics(route)) {
      if (!toxic.startsWith('faultline-') || open.toxics.has(toxic)) continue;
      const o: Orphan = { host: p.name, type: 'toxic', what: toxic, target: route, applied: true };
      if (fix) {
        try {
          await p.removeToxic(route, toxic);
          o.fixed = true;
        } catch (e) {
          o.error = (e as Error).message;
        }
      }
      out.push(o);
    }
  }
  return out;
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
