// One proxied connection: two links (client->upstream is "upstream", upstream->client is "downstream"),
// each a chain of toxic stages between a source socket and a destination socket. With no toxic the
// chain is empty and a chunk goes straight from source to destination (with back-pressure, as pipe()).
// Adding or removing a toxic edits the chain of a live connection in one synchronous step: no locks,
// no waiting on the connection, and removal flushes the stage's held bytes to the next stage first, so
// nothing is dropped. (The collection does removals for many connections in batches, after answering.)
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AnyToxicType, Stage, StageContext, Stream } from './toxic.ts';
import { keepWarm } from './clock.ts';

// After traffic, poll the event loop for a moment before sleeping, as Go's scheduler spins before it
// parks: the answer to what we just forwarded usually comes back within tens of µs, and catching it
// awake saves a wake-up, which on a virtual machine costs ~100 µs. Bounded (no traffic, no CPU);
// FAULTLINE_PROXY_SPIN_MS=0 turns it off.
const spinEnv = Number(process.env.FAULTLINE_PROXY_SPIN_MS ?? 0.1);
const WARM_MS = Number.isFinite(spinEnv) && spinEnv >= 0 ? Math.min(spinEnv, 5) : 0.1;
let lastWarm = 0;
function touch(): void {
  if (WARM_MS <= 0) return;
  const t = performance.now();
  if (t - lastWarm < WARM_MS / 4) return; // extending the window a little later is just as good
  lastWarm = t;
  keepWarm(WARM_MS);
}

/** What a link needs to know about a toxic (the collection's record of it). */
export interface ToxicRef {
  readonly name: string;
  readonly type: AnyToxicType;
  readonly stream: Stream;
  toxicity: number;
  attributes: Record<string, unknown>;
}

interface Receiver {
  data(c: Buffer): void;
  end(): void;
}

class Slot implements Receiver {
  stage: Stage | null = null;
  constructor(
    readonly toxic: ToxicRef,
    public next: Receiver,
  ) {}
  data(c: Buffer): void {
    if (!this.stage) return this.next.data(c);
    try {
      this.stage.data(c);
    } catch {
      // A toxic must never take the proxy down: degrade to a pass-through for this connection.
      this.stage = null;
      this.next.data(c);
    }
  }
  end(): void {
    if (!this.stage) return this.next.end();
    try {
      this.stage.end();
    } catch {
      this.stage = null;
      this.next.end();
    }
  }
}

export class Link {
  private readonly slots: Slot[] = [];
  private head: Receiver;
  private readonly sink: Receiver;
  private pauses = 0;
  private sinkPaused = false;

  constructor(
    readonly stream: Stream,
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly conn: Connection,
  ) {
    const resumeFromDrain = (): void => {
      this.sinkPaused = false;
      this.resume();
    };
    this.sink = {
      data: (c) => {
        if (dest.destroyed) return;
        if (!dest.write(c) && !this.sinkPaused) {
          this.sinkPaused = true;
          this.pause();
          dest.once('drain', resumeFromDrain);
        }
      },
      end: () => {
        if (!dest.destroyed) dest.end();
      },
    };
    this.head = this.sink;
    source.on('data', (c: Buffer) => {
      touch();
      this.head.data(c);
    });
    source.on('end', () => this.head.end());
  }

  pause(): void {
    if (this.pauses++ === 0) this.source.pause();
  }
  resume(): void {
    if (this.pauses > 0 && --this.pauses === 0) this.source.resume();
  }

  /** Appends a toxic at the end of this link's chain; toxicity is rolled here, once per connection. */
  add(t: ToxicRef): void {
    if (this.slots.some((s) => s.toxic === t)) return;
    const slot = new Slot(t, this.sink);
    slot.stage = this.roll(t, slot);
    const last = this.slots[this.slots.length - 1];
    if (last) last.next = slot;
    else this.head = slot;
    this.slots.push(slot);
  }

  /** Removes a toxic: its held bytes go on first, then the chain closes over the gap. */
  remove(t: ToxicRef): void {
    const i = this.slots.findIndex((s) => s.toxic === t);
    if (i < 0) return;
    const slot = this.slots[i] as Slot;
    this.flushStage(slot);
    const prev = this.slots[i - 1];
    if (prev) prev.next = slot.next;
    else this.head = slot.next;
    this.slots.splice(i, 1);
  }

  /** New attributes or toxicity: the old stage hands on what it holds, a new one takes its place. */
  replace(t: ToxicRef): void {
    const slot = this.slots.find((s) => s.toxic === t);
    if (!slot) return;
    this.flushStage(slot);
    slot.stage = this.roll(t, slot);
  }

  private flushStage(slot: Slot): void {
    const st = slot.stage;
    slot.stage = null;
    try {
      st?.flush();
    } catch {
      /* a broken toxic has nothing left to give */
    }
  }

  private roll(t: ToxicRef, slot: Slot): Stage | null {
    if (!(t.toxicity >= 1 || Math.random() < t.toxicity)) return null;
    const ctx: StageContext = {
      push: (c) => slot.next.data(c),
      end: () => slot.next.end(),
      close: () => this.conn.close(this.dest),
      reset: () => this.conn.reset(),
      reply: (c, thenClose) => {
        if (this.source.destroyed) return;
        this.source.write(c);
        if (thenClose) this.conn.close(this.source);
      },
      pauseSource: () => this.pause(),
      resumeSource: () => this.resume(),
    };
    return t.type.create(t.attributes, ctx);
  }
}

export class Connection {
  readonly up: Link;
  readonly down: Link;
  private closed = false;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    toxics: Iterable<ToxicRef>,
    private readonly onGone: (c: Connection) => void,
  ) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.up = new Link('upstream', client, upstream, this);
    this.down = new Link('downstream', upstream, client, this);
    for (const t of toxics) this.link(t.stream).add(t);
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'ECONNRESET') this.reset();
      else this.destroy();
    };
    client.on('error', onError);
    upstream.on('error', onError);
    let open = 2;
    const onClose = (): void => {
      if (--open === 0) this.gone();
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
  }

  link(stream: Stream): Link {
    return stream === 'upstream' ? this.up : this.down;
  }

  /** Graceful close: what was written to `first` goes out, then both sides are closed. */
  close(first: Socket): void {
    if (this.closed) return;
    this.closed = true;
    this.client.pause();
    this.upstream.pause();
    if (first.destroyed || first.writableEnded) return this.destroy();
    first.end(() => this.destroy());
    // a peer that never reads must not keep the connection around forever
    setTimeout(() => this.destroy(), 5_000).unref();
  }

  /** Closes both sockets now (FIN, or RST where the kernel has unread data). */
  destroy(): void {
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
  }

  /** TCP RST on both sides. */
  reset(): void {
    this.closed = true;
    for (const s of [this.client, this.upstream]) {
      if (s.destroyed) continue;
      try {
        s.resetAndDestroy();
      } catch {
        s.destroy();
      }
    }
  }

  private gone(): void {
    this.onGone(this);
  }
}
