// The warden: lives beside one Docker daemon, outlives every runner, and reverts each container fault
// whose lease lapsed (nobody renewed it for its leaseMs), through the fault kind's own idempotent revert.
// It touches only what is in its ledger: never a container it was not told about.
import type { Lease, Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import { activeLeases, claimedLeases, claimLease, settleLease, WARDEN_BEAT_MS, writeBeat } from './lease-ledger.ts';

export interface WardenOptions {
  /** The ledger directory (see warden/lease-ledger.ts). */
  dir: string;
  ports: Ports;
  /** How often the ledger is scanned; a lapsed lease is reverted within this much of its expiry. */
  tickMs?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const RETRY_FAILED_MS = 1_000;

export async function runWarden(o: WardenOptions): Promise<void> {
  const log = o.log ?? (() => undefined);
  const tickMs = o.tickMs ?? 100;
  const startedAt = new Date().toISOString();
  const inFlight = new Set<string>();
  const lastTry = new Map<string, number>();
  const beat = () =>
    writeBeat(o.dir, { pid: process.pid, startedAt, at: new Date().toISOString() }).catch((e: Error) =>
      log(`heartbeat failed: ${e.message}`),
    );

  const revert = async (lease: Lease, lapsedAt: string): Promise<void> => {
    inFlight.add(lease.id);
    lastTry.set(lease.id, Date.now());
    const what = `${lease.kind} lease ${lease.id}${lease.workflowId ? ` of ${lease.workflowId}` : ''}`;
    try {
      const kind = faultKind(lease.kind);
      if (!kind) throw new Error(`unknown fault kind ${lease.kind}`);
      const effect = (await kind.revert(o.ports, lease.handle)) as { changed?: boolean } | undefined;
      const revertedAt = new Date().toISOString();
      // changed false: undone already (by someone else), so the run's journal does not credit the warden.
      await settleLease(o.dir, { lease, lapsedAt, revertedAt, changed: effect?.changed !== false });
      lastTry.delete(lease.id);
      log(`reverted ${what} (lapsed ${lapsedAt})`);
    } catch (e) {
      // Stays claimed: retried after RETRY_FAILED_MS, and after a restart of the warden.
      const error = e instanceof Error ? e.message : String(e);
      // the ledger write is retried with the revert; the log line below records the failure
      await settleLease(o.dir, { lease, lapsedAt, error }).catch(() => undefined);
      log(`revert of ${what} failed, will retry: ${error}`);
    } finally {
      inFlight.delete(lease.id);
    }
  };

  await beat();
  const beats = setInterval(() => void beat(), WARDEN_BEAT_MS);
  log(`warden watching ${o.dir}`);
  try {
    while (!o.signal?.aborted) {
      try {
        const now = Date.now();
        for (const l of await claimedLeases(o.dir)) {
          if (inFlight.has(l.id) || now - (lastTry.get(l.id) ?? 0) < RETRY_FAILED_MS) continue;
          void revert(l, new Date().toISOString());
        }
        for (const l of await activeLeases(o.dir)) {
          if (Date.parse(l.expiresAt) > now || inFlight.has(l.id)) continue;
          if (await claimLease(o.dir, l.id)) void revert(l, l.expiresAt);
        }
      } catch (e) {
        log(`ledger scan failed: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
  } finally {
    clearInterval(beats);
  }
}
