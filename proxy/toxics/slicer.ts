// slicer: cut each chunk into pieces of about `average_size` bytes (+/- `size_variation`), with `delay`
// microseconds between pieces.
import { z } from 'zod';
import { MAX_SLICE_BYTES, MAX_SLICER_DELAY_US } from '../limits.ts';
import { DueQueue, type ToxicType } from '../toxic.ts';
import { now } from '../clock.ts';

const attributes = z.object({
  average_size: z.number().int().min(0).max(MAX_SLICE_BYTES),
  size_variation: z.number().int().min(0).max(MAX_SLICE_BYTES),
  delay: z.number().int().min(0).max(MAX_SLICER_DELAY_US),
});
type Attrs = z.infer<typeof attributes>;

/** Toxiproxy's recursive halving: boundaries [start, end, start, end, ...]. */
export function sliceBounds(a: Attrs, start: number, end: number, out: number[]): void {
  if (a.average_size <= 0 || end - start - a.average_size <= a.size_variation) {
    out.push(start, end);
    return;
  }
  let mid = start + Math.floor((end - start) / 2);
  if (a.size_variation > 0) mid += Math.floor(Math.random() * a.size_variation * 2) - a.size_variation;
  mid = Math.min(end - 1, Math.max(start + 1, mid));
  sliceBounds(a, start, mid, out);
  sliceBounds(a, mid, end, out);
}

export const slicer: ToxicType<Attrs> = {
  type: 'slicer',
  attributes,
  defaults: { average_size: 0, size_variation: 0, delay: 0 },
  create(a, ctx) {
    const q = new DueQueue(ctx);
    let last = 0;
    const bounds: number[] = [];
    return {
      data: (c) => {
        bounds.length = 0;
        sliceBounds(a, 0, c.length, bounds);
        for (let i = 0; i < bounds.length; i += 2) {
          last = i === 0 ? Math.max(last, now()) : last + a.delay / 1000;
          q.add(c.subarray(bounds[i], bounds[i + 1]), a.delay > 0 ? last : 0);
        }
      },
      end: () => q.add(null, 0),
      flush: () => q.flush(),
    };
  },
};
