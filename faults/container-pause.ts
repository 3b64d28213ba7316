// container.pause: freeze every process (cgroup freezer); revert unpauses.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import { containerKind } from './container-common.ts';

const spec = z.strictObject({ kind: z.literal('container.pause'), ...faultBase });
export type ContainerPauseSpec = z.infer<typeof spec>;

export const containerPause = containerKind({
  name: 'container.pause',
  spec,
  verb: 'pause',
  describe: (s, t) => `pause ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  due: (now) => now.state === 'running', // paused already: a retried inject
  act: (ports, _s, h) => ports.containers.pause(h.containerId),
  effect: () => ({ holds: (c) => c.state === 'paused', wanted: 'paused' }),
});
