// reset_peer: on the first data, wait `timeout` ms and reset the connection (TCP RST on both sides);
// the data is dropped, which is this toxic's job.
import { z } from 'zod';
import { MAX_RESET_AFTER_MS } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';
import { at, now, type Timer } from '../clock.ts';

const attributes = z.object({ timeout: z.number().int().min(0).max(MAX_RESET_AFTER_MS) });
type Attrs = z.infer<typeof attributes>;

export const resetPeer: ToxicType<Attrs> = {
  type: 'reset_peer',
  attributes,
  defaults: { timeout: 0 },
  create(a, ctx) {
    let timer: Timer | undefined;
    let dropped = false;
    return {
      data: () => {
        dropped = true;
        timer ??= at(now() + a.timeout, () => ctx.reset());
      },
      end: () => {
        timer ??= at(now() + a.timeout, () => ctx.reset());
      },
      flush: () => {
        timer?.cancel();
        if (dropped) ctx.close();
      },
    };
  },
};
