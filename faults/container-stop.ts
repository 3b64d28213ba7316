// container.stop: stop with a grace period; revert starts it again.
import { z } from 'zod';
import { faultBase, gracePeriodField } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import {
  containerOf,
  expectEffect,
  expectRestored,
  processEnded,
  restoreState,
  containerUndoneAt,
  type ContainerHandle,
} from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('container.stop'),
  ...faultBase,
  gracePeriod: gracePeriodField,
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
    const changed = await restoreState(ports, h);
    await expectRestored(ports, h, 'stop');
    return { changed };
  },
  undoneAt: containerUndoneAt,
};
