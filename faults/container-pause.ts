// container.pause: freeze every process (cgroup freezer); revert unpauses.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import {
  containerOf,
  expectEffect,
  expectRestored,
  restoreState,
  containerUndoneAt,
  type ContainerHandle,
} from './container-common.ts';

const spec = z.strictObject({ kind: z.literal('container.pause'), ...faultBase });
export type ContainerPauseSpec = z.infer<typeof spec>;

export const containerPause: FaultKind<typeof spec, ContainerHandle> = {
  name: 'container.pause',
  spec,
  needsContainer: true,
  describe: (s, t) => `pause ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, _s, t) => containerOf(ports, t),
  inject: async (ports, _s, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (now?.state === 'running') await ports.containers.pause(h.containerId); // paused already: a retried inject
    await expectEffect(ports, h, 'pause', (c) => c.state === 'paused', 'paused');
  },
  revert: async (ports, h) => {
    const changed = await restoreState(ports, h);
    await expectRestored(ports, h, 'pause');
    return { changed };
  },
  undoneAt: containerUndoneAt,
};
