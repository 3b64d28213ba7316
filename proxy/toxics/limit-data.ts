// limit_data: hand on the first `bytes` bytes of the connection, then close it. Bytes past the limit
// are dropped: that is this toxic's job.
import { z } from 'zod';
import { MAX_LIMIT_DATA_BYTES } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';

const attributes = z.object({ bytes: z.number().int().min(0).max(MAX_LIMIT_DATA_BYTES) });
type Attrs = z.infer<typeof attributes>;

export const limitData: ToxicType<Attrs> = {
  type: 'limit_data',
  attributes,
  defaults: { bytes: 0 },
  create(a, ctx) {
    let sent = 0;
    let done = false;
    return {
      data: (c) => {
        if (done) return;
        const left = a.bytes - sent;
        const part = c.length <= left ? c : c.subarray(0, left);
        if (part.length > 0) ctx.push(part);
        sent += part.length;
        if (sent >= a.bytes) {
          done = true;
          ctx.close();
        }
      },
      end: () => ctx.end(),
      flush: () => undefined,
    };
  },
};
