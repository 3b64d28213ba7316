// container.kill: send a signal to the container; revert starts it again if it is not running.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { containerOf, ensureRunning, type ContainerHandle } from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('container.kill'),
  ...faultBase,
  signal: z
    .string()
    .regex(/^(SIG)?[A-Z0-9]+$/, { message: 'must be a signal name such as SIGKILL or SIGTERM' })
    .default('SIGKILL'),
});
export type ContainerKillSpec = z.infer<typeof spec>;

export const containerKill: FaultKind<typeof spec, ContainerHandle> = {
  name: 'container.kill',
  spec,
  needsContainer: true,
  describe: (s, t) => `kill ${t.container?.name} with ${s.signal}, down for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, _s, t) => containerOf(ports, t),
  inject: async (ports, s, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (!now || (now.state !== 'running' && now.state !== 'paused')) return; // already down: retried inject
    await ports.containers.kill(h.containerId, s.signal);
  },
  revert: async (ports, h) => ensureRunning(ports, h),
};
