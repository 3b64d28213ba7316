// latency: delay every chunk by `latency` ms, plus or minus up to `jitter` ms (uniform, as Toxiproxy).
// Chunks keep their order; removal releases what is held at once.
import { z } from 'zod';
import { MAX_JITTER_MS, MAX_LATENCY_MS } from '../limits.ts';
import { DueQueue, type ToxicType } from '../toxic.ts';
import { now } from '../clock.ts';

const attributes = z.object({
  latency: z.number().int().min(0).max(MAX_LATENCY_MS),
  jitter: z.number().int().min(0).max(MAX_JITTER_MS),
});
type Attrs = z.infer<typeof attributes>;

export const latency: ToxicType<Attrs> = {
  type: 'latency',
  attributes,
  defaults: { latency: 0, jitter: 0 },
  create(a, ctx) {
    const q = new DueQueue(ctx);
    const delay = (): number => (a.jitter > 0 ? a.latency + (Math.random() * 2 - 1) * a.jitter : a.latency);
    return {
      data: (c) => q.add(c, now() + delay()),
      end: () => q.add(null, 0),
      flush: () => q.flush(),
    };
  },
};
