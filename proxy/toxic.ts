// The one small interface a toxic implements, as in Toxiproxy: a toxic is a stage on one direction of
// one connection. The framework (link.ts, toxic-collection.ts) owns everything else: toxicity (rolled
// once per connection), stream direction, default names (<type>_<stream>), leases and removal.
//
// The contract for a stage: it receives chunks in order and hands them on in order with ctx.push; it
// never blocks (it holds data and sets timers instead); and on flush() it hands every byte it holds to
// ctx.push immediately, unless its job is to drop them, and cancels its timers. A stage that drops or
// ends a connection says so through ctx.
import type { z } from 'zod';
import { at, now, type Timer } from './clock.ts';

export type Stream = 'upstream' | 'downstream';
export const STREAMS: readonly Stream[] = ['upstream', 'downstream'];

export interface StageContext {
  /** Hands a chunk to the next stage (or the destination socket). */
  push(chunk: Buffer): void;
  /** Source finished (EOF): half-close towards the destination once everything before it is out. */
  end(): void;
  /** Closes the whole connection gracefully once what was pushed is written (Toxiproxy's stub.Close). */
  close(): void;
  /** Resets both sides (TCP RST), like reset_peer. */
  reset(): void;
  /** Writes straight back to the side this direction reads from (an HTTP toxic answering a request). */
  reply(chunk: Buffer, thenClose: boolean): void;
  /** Back-pressure for toxics that queue data: stop and restart reading the source. */
  pauseSource(): void;
  resumeSource(): void;
}

export interface Stage {
  /** A chunk from the previous stage, in order. */
  data(chunk: Buffer): void;
  /** The previous stage ended (EOF). Default for a stage that holds nothing: ctx.end(). */
  end(): void;
  /** The toxic is being removed: release every held byte with ctx.push now, cancel timers. */
  flush(): void;
}

export interface ToxicType<A extends Record<string, unknown>> {
  readonly type: string;
  /** Attribute schema (zod object, unknown keys stripped as Go's decoder ignores them). */
  readonly attributes: z.ZodType<A>;
  /** Attributes when none are given (Toxiproxy marshals every field). */
  readonly defaults: A;
  /** Streams this toxic can sit on; the first is the default (Toxiproxy's default is downstream). */
  readonly streams?: readonly Stream[];
  /** A stage for one connection direction. */
  create(attrs: A, ctx: StageContext): Stage;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToxicType = ToxicType<any>;

/** A stage that hands everything on unchanged: the base for simple toxics. */
export function passthrough(ctx: StageContext): Stage {
  return { data: (c) => ctx.push(c), end: () => ctx.end(), flush: () => undefined };
}

/**
 * An ordered queue of chunks with due times (a due of 0 means "right after the one before"), released
 * by one timer at a time. Used by every toxic that holds data; no per-chunk objects. It pauses the
 * source while more than `highWater` bytes wait (Toxiproxy bounds its channels the same way) and
 * resumes it below half of that.
 */
export class DueQueue {
  private chunks: (Buffer | null)[] = []; // null marks the end of stream
  private dues: number[] = [];
  private head = 0;
  private timer: Timer | undefined;
  private paused = false;
  bytes = 0;

  constructor(
    private readonly ctx: StageContext,
    private readonly highWater = 8 << 20,
  ) {}

  get length(): number {
    return this.chunks.length - this.head;
  }

  add(chunk: Buffer | null, dueAt: number): void {
    this.chunks.push(chunk);
    this.dues.push(dueAt);
    if (chunk) {
      this.bytes += chunk.length;
      if (!this.paused && this.bytes > this.highWater) {
        this.paused = true;
        this.ctx.pauseSource();
      }
    }
    if (!this.timer && this.length === 1) this.release();
  }

  /** Releases everything due; schedules the next wake-up. */
  private release = (): void => {
    this.timer = undefined;
    const t = now();
    while (this.head < this.chunks.length) {
      const due = this.dues[this.head] as number;
      if (due > t) {
        this.trim();
        this.timer = at(due, this.release);
        return;
      }
      this.emit();
    }
    this.compact();
  };

  private emit(): void {
    const c = this.chunks[this.head] as Buffer | null;
    this.chunks[this.head] = null;
    this.head++;
    if (c) {
      this.bytes -= c.length;
      if (this.paused && this.bytes <= this.highWater / 2) {
        this.paused = false;
        this.ctx.resumeSource();
      }
      this.ctx.push(c);
    } else this.ctx.end();
  }

  private compact(): void {
    this.chunks.length = 0;
    this.dues.length = 0;
    this.head = 0;
  }

  /** A queue that never runs empty (a steady stream under latency) must not grow without bound. */
  private trim(): void {
    if (this.head < 1024 || this.head * 2 < this.chunks.length) return;
    this.chunks.splice(0, this.head);
    this.dues.splice(0, this.head);
    this.head = 0;
  }

  /** Everything out now, in order. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    while (this.head < this.chunks.length) this.emit();
    this.compact();
    if (this.paused) {
      this.paused = false;
      this.ctx.resumeSource();
    }
  }
}
