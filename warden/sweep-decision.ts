// Whether the sweep may revert one thing it found (a lease in a warden's ledger, a faultline-* toxic on the
// fault proxy): the one rule that keeps a sweep from racing a run. Pure: the caller gathers the facts.
//
// A sweep reads the runs first and the hosts later (seconds later across a fleet), and the run list it reads
// from visibility lags. So what it finds is judged against three clocks and a direct look at its owner:
// - anything whose run the run list names (open in visibility, or holding admission) is held;
// - anything granted after the sweep began (a lease's grantedAt) is never swept: its run may have started
//   after the runs were read;
// - anything whose age is unknown (a toxic) and that was listed after the run list was read is never swept;
// - a lease's owner is described directly (Temporal's describe, not visibility) before it is swept, and a
//   running owner keeps it; an owner that cannot be read keeps it too.
// Only what is old enough and provably unowned (its run closed or gone, or no run names it) is swept.

/** Clock skew allowed between the hosts and Temporal: a lease granted this close before the sweep began is young. */
export const SWEEP_MARGIN_MS = 5_000;

/** The owning run, as Temporal's describe (not visibility) says just now. */
export type OwnerState =
  | { state: 'running' }
  | { state: 'closed'; status: string }
  | { state: 'not-found' }
  | { state: 'unknown'; error: string };

export interface SweepItem {
  /** The run that holds it: a lease's workflowId, or the open run whose journal names the toxic. */
  owner?: string;
  /** When it was granted (a lease's grantedAt), ISO; unknown for a toxic. */
  grantedAt?: string;
  /** When this sweep listed it, ISO. */
  seenAt: string;
}

export interface SweepView {
  /** When the sweep began, before it read any run. */
  startedAt: string;
  /** When the run list below was read. */
  readAt: string;
  /** Runs the run list names as open (visibility, plus the holders of admission). */
  open: ReadonlySet<string>;
  /** Runs that hold admission now, with when they were admitted. */
  admitted?: ReadonlyMap<string, string>;
  /** Open runs whose journal did not answer: what they hold is unknown. */
  unreadable?: readonly string[];
  marginMs?: number;
}

export type SweepVerdict =
  | { sweep: true; reason: string }
  /** `check`: decided on the run list alone it would be swept; describe its owner and ask again. */
  | { sweep: false; reason: string; check?: true };

const ms = (iso: string | undefined): number | undefined => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * Sweep it or keep it. `owner` is the owning run described just now; without it, an item with an owner is
 * kept with `check` set: nothing owned is reverted on the run list alone.
 */
export function sweepDecision(item: SweepItem, view: SweepView, owner?: OwnerState): SweepVerdict {
  const margin = view.marginMs ?? SWEEP_MARGIN_MS;
  if (item.owner && view.open.has(item.owner)) return { sweep: false, reason: `its run ${item.owner} is open` };
  const admittedAt = item.owner ? view.admitted?.get(item.owner) : undefined;
  if (admittedAt !== undefined)
    return { sweep: false, reason: `its run ${item.owner} holds admission (admitted ${admittedAt})` };
  const granted = ms(item.grantedAt);
  const started = ms(view.startedAt) ?? 0;
  if (granted !== undefined && granted >= started - margin)
    return {
      sweep: false,
      reason: `granted at ${item.grantedAt}, after the sweep began (${view.startedAt}): its run may have started since the runs were read`,
    };
  if (granted === undefined && !item.owner) {
    // A toxic: its age is unknown, so only the order of the reads protects a run that started meanwhile.
    const seen = ms(item.seenAt) ?? Infinity;
    if (seen > (ms(view.readAt) ?? -Infinity))
      return {
        sweep: false,
        reason: `listed at ${item.seenAt}, after the runs were read (${view.readAt}): a run that started since may hold it`,
      };
    if (view.unreadable?.length)
      return {
        sweep: false,
        reason: `${view.unreadable.length} open run(s) did not answer, so what they hold is unknown: ${view.unreadable.join(', ')}`,
      };
    return { sweep: true, reason: 'no open run holds it' };
  }
  if (!item.owner) return { sweep: true, reason: 'it names no run' };
  if (!owner) return { sweep: false, check: true, reason: `its run ${item.owner} was not checked` };
  switch (owner.state) {
    case 'running':
      return { sweep: false, reason: `its run ${item.owner} is running (described just now)` };
    case 'unknown':
      return { sweep: false, reason: `its run ${item.owner} could not be read: ${owner.error}` };
    case 'closed':
      return { sweep: true, reason: `its run ${item.owner} is closed (${owner.status})` };
    default:
      return { sweep: true, reason: `its run ${item.owner} does not exist` };
  }
}
