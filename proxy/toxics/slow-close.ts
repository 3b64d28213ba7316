// slow_close: hand data on unchanged but delay the close (EOF) by `delay` ms.
import { z } from 'zod';
import { MAX_SLOW_CLOSE_MS } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';
import { at, now, type Timer } from '../clock.ts';

const attributes = z.object({ delay: z.number().int().min(0).max(MAX_SLOW_CLOSE_MS) });
type Attrs = z.infer<typeof attributes>;

export const slowClose: ToxicType<Attrs> = {
  type: 'slow_close',
  attributes,
  defaults: { delay: 0 },
  create(a, ctx) {
    let timer: Timer | undefined;
    return {
      data: (c) => ctx.push(c),
      end: () => {
        timer = at(now() + a.delay, () => ctx.end());
      },
      flush: () => {
        if (timer) {
          timer.cancel();
          ctx.end();
        }
      },
    };
  },
};
