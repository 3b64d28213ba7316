// Reverting faults, workflow side: each fault is reverted by one loop that retries until it succeeds.
// Starting it marks the fault 'reverting' first (out of the active set, for good). Errors are kept
// bounded (the first few and a count); after a few attempts the run is marked stuck; the pause between
// attempts grows to about a minute; and when history grows large a loop stops between two attempts so
// the run can continue as new, carrying the journal and the pending reverts over.
// Runs with bounded waits (patch 'bounded-reverts'): an attempt nobody picks up (a container fault's host
// with no agent) times out on schedule-to-start, marks the run stuck at once and alerts; a sibling's
// hand-over wakes the loops that are backing off, so every run's history stays bounded.
//
// One fault's revert (FaultRecord.status), memoised per fault (`revert`, or one host's batch first):
//
//   planned, or an intent never attempted, or no handle ──────────────────────────────▶ not-applied
//   injected / intent attempted ─▶ reverting ─▶ attempt ──ok──▶ reverted
//                                                  │ failed: error kept, stuck after N attempts (or not picked up)
//                                                  ▼
//                                               backoff ──▶ attempt …
//                                                  └──history large (or a sibling hands over)──▶ handed-over
//                                                      (the run continues as new with the fault still reverting)
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { Activities, RevertResult } from '../activities/index.ts';
import type { FaultRecord, RevertedBy, WardenRevert } from '../experiments/journal.ts';
import type { Tuning } from '../definitions/experiment.ts';
import { formatMs } from '../faults/duration.ts';

// One attempt per activity: the loop below counts, backs off and records every attempt itself.
const REVERT_START_TO_CLOSE_MS = 30_000;
const reverting = proxyActivities<Activities>({
  startToCloseTimeout: REVERT_START_TO_CLOSE_MS,
  heartbeatTimeout: '3s',
  retry: { maximumAttempts: 1 },
});

export type RevertOutcome = 'done' | 'handed-over';

export class Reverts {
  private readonly loops = new Map<number, Promise<RevertOutcome>>();
  /** A loop decided to hand over (bounded runs): the others stop at their next pause. */
  private handingOver = false;

  constructor(
    private readonly tuning: Tuning,
    /** Faults whose inject was attempted (a fault with only an intent was never applied). */
    private readonly attempted: Set<number>,
    private readonly onStuck: (why: string) => void,
    /** Where a fault's revert runs: its host's agents for a container fault across a fleet. */
    private readonly placeOf: (rec: FaultRecord) => { taskQueue?: string } = () => ({}),
    /** Whether the run's guard (or a host's holder) held the fault, so it may have reverted it already. */
    private readonly guarded: (rec: FaultRecord) => boolean = () => false,
    /** Runs with bounded waits (the patch marker, decided once by the run). */
    private readonly bounded = false,
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

  /** Activity options of one attempt: bounded runs wait at most revertScheduleToStartMs for a worker. */
  private options(rec: FaultRecord) {
    const wait = this.bounded ? this.tuning.revertScheduleToStartMs : 0;
    return {
      summary: `revert: ${rec.summary}`,
      ...this.placeOf(rec),
      ...(wait ? { scheduleToStartTimeout: wait, scheduleToCloseTimeout: wait + REVERT_START_TO_CLOSE_MS } : {}),
    };
  }

  /** Whether a fault needs its revert loop to revert it (else the loop records it done or not applied). */
  private pending(rec: FaultRecord): boolean {
    if (rec.status === 'reverted' || rec.status === 'not-applied') return false;
    return !(!rec.handle || rec.status === 'planned' || (rec.status === 'intent' && !this.attempted.has(rec.index)));
  }

  /**
   * Runs from 'fleet-batches' on: one host's faults reverted in one activity, as every fault's first attempt
   * (counted, its error recorded on its own). A target the batch did not revert goes on in its own loop
   * (backoff, stuck, hand-over as usual). Call before revert(); a fault with a loop already is left to it.
   */
  batch(recs: FaultRecord[]): void {
    const todo = recs.filter((rec) => !this.loops.has(rec.index) && this.pending(rec));
    if (todo.length < 2) return;
    for (const rec of todo) {
      rec.status = 'reverting';
      rec.revertAttempts++;
    }
    const first = todo[0] as FaultRecord;
    const wait = this.bounded ? this.tuning.revertScheduleToStartMs : 0;
    const results = reverting.revertFaults
      .executeWithOptions(
        {
          summary: `revert on host ${first.target?.host}: ${todo.map((r) => r.summary).join('; ')}`,
          ...this.placeOf(first),
          ...(wait ? { scheduleToStartTimeout: wait, scheduleToCloseTimeout: wait + REVERT_START_TO_CLOSE_MS } : {}),
        },
        [
          todo.map((rec) => ({
            index: rec.index,
            kind: rec.kind,
            handle: rec.handle as Record<string, unknown>,
            opts: { since: rec.intentAt, earlier: rec.revertAttempts > 1 || this.guarded(rec) },
          })),
        ],
      )
      .then(
        (rs) => ({ rs }),
        (err: unknown) => ({ err }),
      );
    for (const rec of todo)
      this.loops.set(
        rec.index,
        results.then(async (o): Promise<RevertOutcome> => {
          const r = 'rs' in o ? o.rs.find((x) => x.index === rec.index) : undefined;
          if (r?.ok) {
            rec.status = 'reverted';
            noteRevert(rec, r.value);
            return 'done';
          }
          const unpicked = 'err' in o && this.bounded && notPickedUp(o.err);
          const text = r
            ? `${r.error.type}: ${r.error.message}`
            : unpicked
              ? this.unpickedText(rec)
              : errorText('err' in o ? o.err : 'no result for this target');
          return (await this.failed(rec, text, unpicked)) ?? this.attempts(rec);
        }),
      );
  }

  private async loop(rec: FaultRecord): Promise<RevertOutcome> {
    if (rec.status === 'reverted' || rec.status === 'not-applied') return 'done';
    if (!this.pending(rec)) {
      rec.status = 'not-applied';
      return 'done';
    }
    rec.status = 'reverting';
    return this.attempts(rec);
  }

  private unpickedText(rec: FaultRecord): string {
    return `no worker of ${this.options(rec).taskQueue ?? 'its queue'} picked it up within ${formatMs(this.tuning.revertScheduleToStartMs)} (is its agent running?)`;
  }

  /** Attempts until one succeeds (or the run hands over). */
  private async attempts(rec: FaultRecord): Promise<RevertOutcome> {
    for (;;) {
      rec.revertAttempts++;
      try {
        const r = await reverting.revertFault.executeWithOptions(this.options(rec), [
          rec.kind,
          rec.handle as Record<string, unknown>,
          { since: rec.intentAt, earlier: rec.revertAttempts > 1 || this.guarded(rec) },
        ]);
        rec.status = 'reverted';
        noteRevert(rec, r);
        return 'done';
      } catch (err) {
        const unpicked = this.bounded && notPickedUp(err);
        const handedOver = await this.failed(rec, unpicked ? this.unpickedText(rec) : errorText(err), unpicked);
        if (handedOver) return handedOver;
      }
    }
  }

  /** A failed attempt: recorded, maybe stuck, then the backoff; 'handed-over' when the run hands over. */
  private async failed(rec: FaultRecord, text: string, unpicked: boolean): Promise<RevertOutcome | undefined> {
    noteError(rec, `revert attempt ${rec.revertAttempts}: ${text}`);
    log.warn('revert failed, retrying', { fault: rec.summary, attempt: rec.revertAttempts, error: text });
    if (unpicked || rec.revertAttempts >= this.tuning.stuckAfterAttempts) this.onStuck(`${rec.summary}: ${text}`);
    if (this.handOverDue()) return this.handOver();
    const backoff = Math.min(this.tuning.revertBackoffMaxMs, 250 * 2 ** Math.min(rec.revertAttempts, 10));
    if (this.bounded) await condition(() => this.handingOver, backoff);
    else await sleep(backoff); // runs from before: exactly their commands (a timer, never cancelled)
    if (this.handingOver || this.handOverDue()) return this.handOver();
    return undefined;
  }

  private handOver(): RevertOutcome {
    if (this.bounded) this.handingOver = true;
    return 'handed-over';
  }
}

/** The attempt timed out waiting for a worker to pick it up: nobody polls its queue. */
function notPickedUp(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}

/** Who outranks whom for a fault's revertedAt: a revert that took effect, then the warden, then the rest. */
const RANK: Record<RevertedBy, number> = {
  workflow: 3,
  guard: 3,
  warden: 2,
  proxy: 2,
  'earlier-attempt': 1,
  unknown: 0,
};

/**
 * Records what a revert found. The journal keeps the first revert that took effect (the run's own, the
 * warden's, an earlier attempt's per Docker's event log), never a later no-op's time. Results recorded
 * before reports (no `by`) keep the first time seen, and the warden's when it was earlier.
 */
export function noteRevert(rec: FaultRecord, r: RevertResult | { at: string; warden?: WardenRevert }): void {
  if (r.warden) recordWarden(rec, r.warden);
  if ('note' in r && r.note) rec.revertNote ??= r.note;
  if (!('by' in r) || !r.by) {
    rec.revertedAt ??= r.at;
    const w = r.warden;
    if (w) {
      rec.revertedBy = 'warden';
      if (w.revertedAt && (!rec.revertedAt || w.revertedAt < rec.revertedAt)) rec.revertedAt = w.revertedAt;
    }
    return;
  }
  const have = rec.revertedBy && rec.revertedAt ? RANK[rec.revertedBy] : -1;
  const mine = RANK[r.by];
  if (mine > have || (mine === have && r.at < (rec.revertedAt as string))) {
    rec.revertedAt = r.at;
    rec.revertedBy = r.by;
  }
}

/** The warden took the fault's lease (it lapsed): the journal keeps what it did, and its error. */
function recordWarden(rec: FaultRecord, w: WardenRevert): void {
  const seen = rec.warden?.error === w.error; // the guard's revert and the revert phase's both report it
  rec.warden = w;
  if (w.error && !seen) noteError(rec, `warden revert: ${w.error}`);
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
