// Reverting faults, workflow side: each fault is reverted by one loop that retries until it succeeds.
// Starting it marks the fault 'reverting' first (out of the active set, for good). Errors are kept
// bounded (the first few and a count); after a few attempts the run is marked stuck; the pause between
// attempts grows to about a minute; and when history grows large a loop stops between two attempts so
// the run can continue as new, carrying the journal and the pending reverts over.
import { ActivityFailure, ApplicationFailure, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { FaultRecord, WardenRevert } from '../experiments/journal.ts';
import type { Tuning } from './definitions.ts';

// One attempt per activity: the loop below counts, backs off and records every attempt itself.
const reverting = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  heartbeatTimeout: '3s',
  retry: { maximumAttempts: 1 },
});

export type RevertOutcome = 'done' | 'handed-over';

export class Reverts {
  private readonly loops = new Map<number, Promise<RevertOutcome>>();

  constructor(
    private readonly tuning: Tuning,
    /** Faults whose inject was attempted (a fault with only an intent was never applied). */
    private readonly attempted: Set<number>,
    private readonly onStuck: () => void,
    /** Where a fault's revert runs: its host's agents for a container fault across a fleet. */
    private readonly placeOf: (rec: FaultRecord) => { taskQueue?: string } = () => ({}),
  ) {}

  /** Whether history is large enough to hand the pending reverts to a new run. */
  handOverDue(): boolean {
    const i = workflowInfo();
    return i.continueAsNewSuggested || i.historyLength >= this.tuning.historyEventsLimit;
  }

  /** Reverts one fault (memoised: every path that reverts it shares one loop). */
  revert(rec: FaultRecord): Promise<RevertOutcome> {
    let p = this.loops.get(rec.index);
    if (!p) {
      p = this.loop(rec);
      this.loops.set(rec.index, p);
    }
    return p;
  }

  private async loop(rec: FaultRecord): Promise<RevertOutcome> {
    if (rec.status === 'reverted' || rec.status === 'not-applied') return 'done';
    const neverApplied =
      !rec.handle || rec.status === 'planned' || (rec.status === 'intent' && !this.attempted.has(rec.index));
    if (neverApplied) {
      rec.status = 'not-applied';
      return 'done';
    }
    rec.status = 'reverting';
    for (;;) {
      rec.revertAttempts++;
      try {
        const r = await reverting.revertFault.executeWithOptions(
          { summary: `revert: ${rec.summary}`, ...this.placeOf(rec) },
          [rec.kind, rec.handle as Record<string, unknown>],
        );
        rec.status = 'reverted';
        rec.revertedAt ??= r.at; // the guard's earlier revert time stays when it reverted first
        if (r.warden) recordWarden(rec, r.warden);
        return 'done';
      } catch (err) {
        noteError(rec, `revert attempt ${rec.revertAttempts}: ${errorText(err)}`);
        log.warn('revert failed, retrying', { fault: rec.summary, attempt: rec.revertAttempts });
        if (rec.revertAttempts >= this.tuning.stuckAfterAttempts) this.onStuck();
        if (this.handOverDue()) return 'handed-over';
        await sleep(Math.min(this.tuning.revertBackoffMaxMs, 250 * 2 ** Math.min(rec.revertAttempts, 10)));
        if (this.handOverDue()) return 'handed-over';
      }
    }
  }
}

/** The warden reverted it first (its lease lapsed): the journal says so, with the warden's own time. */
function recordWarden(rec: FaultRecord, w: WardenRevert): void {
  rec.revertedBy = 'warden';
  rec.warden = w;
  if (w.revertedAt && (!rec.revertedAt || w.revertedAt < rec.revertedAt)) rec.revertedAt = w.revertedAt;
  if (w.error) noteError(rec, `warden revert: ${w.error}`);
}

/** How many errors a fault record keeps verbatim. */
export const KEPT_ERRORS = 3;

/** Records an error on a fault, keeping the first few and a count: a revert failing for days stays small. */
export function noteError(rec: FaultRecord, text: string): void {
  rec.errorCount = (rec.errorCount ?? rec.errors.length) + 1;
  if (rec.errors.length < KEPT_ERRORS) rec.errors.push(text);
  else rec.lastError = text;
}

export function errorText(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return errorText(err.cause);
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
