// container.stop: stop with a grace period; revert starts it again.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { INJECT_ACTIVITY_MS, MAX_GRACE_SECONDS } from './limits.ts';
import {
  containerOf,
  expectEffect,
  expectRestored,
  processEnded,
  restoreState,
  type ContainerHandle,
} from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('container.stop'),
  ...faultBase,
  gracePeriod: z
    .number()
    .int()
    .min(0)
    .max(MAX_GRACE_SECONDS, {
      message: `must be at most ${MAX_GRACE_SECONDS} seconds: the inject step has ${INJECT_ACTIVITY_MS / 1000}s and waits the grace period inside it`,
    })
    .default(10)
    .describe(`Seconds between SIGTERM and SIGKILL, 0 to ${MAX_GRACE_SECONDS} (fits the inject step).`),
});
export type ContainerStopSpec = z.infer<typeof spec>;

export const containerStop: FaultKind<typeof spec, ContainerHandle> = {
  name: 'container.stop',
  spec,
  needsContainer: true,
  describe: (s, t) => `stop ${t.container?.name} (grace ${s.gracePeriod}s) for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, _s, t) => containerOf(ports, t),
  inject: async (ports, s, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (now && (now.state === 'running' || now.state === 'paused') && !processEnded(h)(now))
      await ports.containers.stop(h.containerId, s.gracePeriod);
    await expectEffect(ports, h, 'stop', processEnded(h), 'exited');
  },
  revert: async (ports, h) => {
    await restoreState(ports, h);
    await expectRestored(ports, h, 'stop');
  },
};
