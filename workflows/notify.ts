// Notifications from a run or a game day (definitions/notify.ts): each event is one CloudEvent, delivered to
// each receiver that takes it by its own deliverNotification activity. Fire-and-forget: nothing on the
// critical path awaits a delivery (a revert, the guard, an abort never wait for a receiver); a delivery is
// not cancellable (an abort does not cancel the abort's own notice); each has its own retry policy and a
// bounded schedule-to-close; a delivery that fails for good is logged and recorded in the journal, never
// failing the run. Per receiver, events go out in order (each waits for the one before to that receiver).
// At its end a run waits a bounded time for what is still being delivered. Runs with receivers record the
// patch marker `notify`; runs without any issue no command here. Deterministic only.
import { CancellationScope, condition, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify.ts';
import type { NotifyEvent, NotifyRecord, Receiver } from '../experiments/notify.ts';
import { cloudEvent, receiverName, wants, type CloudEvent, type EventSource } from '../definitions/notify.ts';

/** Runs (and game days) with receivers from this version on send notifications. */
export const NOTIFY_PATCH = 'notify';
/** One delivery attempt (a receiver that has not answered by then is tried again). */
export const ATTEMPT_MS = 5_000;
/** A delivery, every attempt and the waits between them: then it is given up and recorded. */
export const DELIVERY_MS = 2 * 60_000;
/** How long a run's end waits for deliveries still under way (the verdict's own, mostly). */
export const DRAIN_MS = 15_000;

const delivering = proxyActivities<NotifyActivities>({
  startToCloseTimeout: ATTEMPT_MS,
  scheduleToCloseTimeout: DELIVERY_MS,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s' },
});

const same = (a: Receiver, b: Receiver) => JSON.stringify(a) === JSON.stringify(b);

export class Notifier {
  readonly receivers: Receiver[] = [];
  private enabled: boolean | undefined;
  private seq = 0;
  private pending = 0;
  /** Per receiver, the last delivery scheduled: the next one waits for it. */
  private readonly last = new Map<Receiver, Promise<void>>();

  constructor(
    private readonly source: EventSource,
    private readonly record: () => NotifyRecord,
  ) {}

  /** Adds receivers (the file's, a game day's, the policy's); returns those that were new. */
  add(rs: readonly Receiver[] | undefined): Receiver[] {
    if (!rs?.length) return [];
    this.enabled ??= patched(NOTIFY_PATCH);
    if (!this.enabled) return [];
    const added = rs.filter((r, i) => !this.receivers.some((x) => same(x, r)) && rs.findIndex((x) => same(x, r)) === i);
    this.receivers.push(...added);
    return added;
  }

  /** One event to every receiver that takes it (or to `only`), in the background. */
  send(event: NotifyEvent, subject: string, data: Record<string, unknown>, only?: Receiver[]): void {
    const to = (only ?? this.receivers).filter((r) => wants(r, event));
    if (!to.length) return;
    const info = workflowInfo();
    const ce = cloudEvent({
      source: this.source,
      workflowId: info.workflowId,
      runId: info.runId,
      seq: ++this.seq,
      event,
      subject,
      time: new Date().toISOString(),
      data,
    });
    for (const r of to) {
      this.pending++;
      const next = (this.last.get(r) ?? Promise.resolve()).then(() => this.deliver(r, ce));
      this.last.set(r, next);
      void next.finally(() => this.pending--);
    }
  }

  private async deliver(r: Receiver, ce: CloudEvent): Promise<void> {
    try {
      await CancellationScope.nonCancellable(() =>
        delivering.deliverNotification.executeWithOptions({ summary: `notify ${receiverName(r)}: ${ce.type}` }, [
          r,
          ce,
        ]),
      );
      this.record().delivered++;
    } catch (err) {
      const error = causeText(err);
      this.record().failed.push({ receiver: receiverName(r), id: ce.id, type: ce.type, error });
      log.warn('notification not delivered', { receiver: receiverName(r), id: ce.id, type: ce.type, error });
    }
  }

  /** Waits (at most DRAIN_MS) for the deliveries under way; never cancelled. */
  async drain(): Promise<void> {
    if (this.pending) await CancellationScope.nonCancellable(() => condition(() => this.pending === 0, DRAIN_MS));
  }
}

/** The innermost cause of an activity failure: what the receiver (or the variable) said. */
function causeText(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return String(e?.message ?? err).slice(0, 500);
}
