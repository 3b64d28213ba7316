// timeout: stop all data (it is dropped: that is this toxic's job) and, when `timeout` > 0, close the
// connection after that many ms. A partition. Removing it closes the connections it held, as Toxiproxy
// does: bytes were dropped, so the stream cannot go on.
import { z } from 'zod';
import { MAX_CLOSE_AFTER_MS } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';
import { at, now, type Timer } from '../clock.ts';

const attributes = z.object({ timeout: z.number().int().min(0).max(MAX_CLOSE_AFTER_MS) });
type Attrs = z.infer<typeof attributes>;

export const timeout: ToxicType<Attrs> = {
  type: 'timeout',
  attributes,
  defaults: { timeout: 0 },
  create(a, ctx) {
    let dropped = false;
    const timer: Timer | undefined = a.timeout > 0 ? at(now() + a.timeout, () => ctx.close()) : undefined;
    return {
      data: () => {
        dropped = true;
      },
      end: () => {
        timer?.cancel();
        ctx.close();
      },
      flush: () => {
        timer?.cancel();
        if (dropped) ctx.close();
      },
    };
  },
};
