// bandwidth: limit the rate to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy). Large chunks are cut so
// the stream flows smoothly.
import { z } from 'zod';
import { MAX_RATE_KBPS } from '../limits.ts';
import { DueQueue, type ToxicType } from '../toxic.ts';
import { now } from '../clock.ts';

const attributes = z.object({ rate: z.number().int().min(0).max(MAX_RATE_KBPS) });
type Attrs = z.infer<typeof attributes>;

export const bandwidth: ToxicType<Attrs> = {
  type: 'bandwidth',
  attributes,
  defaults: { rate: 0 },
  create(a, ctx) {
    // Keep about a second's worth queued (at least 64 KB): the source waits for the rest.
    const q = new DueQueue(ctx, Math.max(65_536, a.rate * 1000));
    let nextFree = 0;
    const slice = Math.max(1, a.rate * 100); // bytes per 100 ms
    return {
      data: (c) => {
        if (a.rate <= 0) return q.add(c, 0);
        for (let off = 0; off < c.length; off += slice) {
          const part = off === 0 && c.length <= slice ? c : c.subarray(off, off + slice);
          nextFree = Math.max(nextFree, now()) + part.length / a.rate; // bytes / (bytes per ms)
          q.add(part, nextFree);
        }
      },
      end: () => q.add(null, 0),
      flush: () => q.flush(),
    };
  },
};
