// One revert, and what it found: whether it undid the fault itself or found it undone already, and then
// when and by whom, as far as anything recorded it. Shared by the revert activity and the guard (which
// reverts each fault at its window's end), so the journal keeps the first revert that took effect and
// never the time of a later no-op.
import type { RevertedBy, RevertReport, WardenRevert } from '../experiments/journal.ts';
import { leaseOf } from '../faults/lease.ts';
import type { Ports } from '../faults/ports.ts';
import type { AnyFaultKind } from '../faults/types.ts';

export type { RevertReport };

export interface RevertOptions {
  /** ISO time before the fault's inject (its intent): the target's own record is read from there. */
  since?: string;
  /** The run tried to revert it before (its guard, or an earlier attempt whose outcome was lost). */
  earlier?: boolean;
}

/** Reverts through the kind (the lease released first when the kind is leased) and reports what it found. */
export async function revertAndReport(
  ports: Ports,
  kind: AnyFaultKind,
  handle: Record<string, unknown>,
  opts: RevertOptions = {},
): Promise<RevertReport> {
  const startedAt = new Date().toISOString();
  const effect = (await kind.revert(ports, handle)) as { changed?: boolean; note?: string } | undefined;
  const confirmedAt = new Date().toISOString();
  const l = leaseOf(handle);
  const lapsed = l && ports.leases ? await ports.leases.lapsed(l.id) : undefined;
  const warden: WardenRevert | undefined = lapsed
    ? {
        lapsedAt: lapsed.lapsedAt,
        ...(lapsed.revertedAt ? { revertedAt: lapsed.revertedAt } : {}),
        ...(lapsed.error ? { error: lapsed.error } : {}),
      }
    : undefined;
  const w = { ...(warden ? { warden } : {}), ...(effect?.note ? { note: effect.note } : {}) };
  if (effect?.changed !== false) {
    // When this revert's undo took effect, by the target's own record (Docker's event time, the proxy's
    // removal), when it keeps one: not the time its check afterwards returned. Only a record of this
    // revert counts (between its start and its confirmation).
    const own =
      // the target's own record is optional: without it the confirmation time stands
      opts.since && kind.undoneAt ? await kind.undoneAt(ports, handle, opts.since).catch(() => undefined) : undefined;
    const at = own && own.at >= startedAt && own.at <= confirmedAt ? own.at : confirmedAt;
    return { at, by: 'workflow', tookEffect: true, confirmedAt, ...w };
  }
  // Undone already: when, from the target's own record; by whom, from the warden's ledger or the run.
  const undone =
    opts.since && kind.undoneAt
      ? await kind.undoneAt(ports, handle, opts.since).then(
          (u) => (u && u.at <= confirmedAt ? u : undefined),
          () => undefined,
        )
      : undefined;
  const recorded = undone?.at;
  const byWarden = !!lapsed?.revertedAt && lapsed.changed !== false;
  // An earlier attempt is named only when the target's record shows the undo (and the run had tried).
  const by: RevertedBy = byWarden
    ? 'warden'
    : undone?.lapsed
      ? 'proxy'
      : opts.earlier && recorded
        ? 'earlier-attempt'
        : 'unknown';
  const at = recorded ?? (byWarden ? (lapsed?.revertedAt as string) : confirmedAt);
  return { at, by, tookEffect: false, confirmedAt, ...w };
}
