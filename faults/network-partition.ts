// network.partition: disconnect a container from a named Docker network; revert reconnects it with
// the aliases it had, recorded in the handle before the disconnect.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import { FaultTargetGone } from '../errors.ts';
import type { FaultKind } from './types.ts';
import { containerOf } from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('network.partition'),
  ...faultBase,
  network: z.string().min(1).describe('Docker network to disconnect the target from.'),
});
export type NetworkPartitionSpec = z.infer<typeof spec>;

export interface PartitionHandle extends Record<string, unknown> {
  containerId: string;
  containerName: string;
  network: string;
  aliases: string[];
}

export const networkPartition: FaultKind<typeof spec, PartitionHandle> = {
  name: 'network.partition',
  spec,
  needsContainer: true,
  describe: (s, t) => `partition ${t.container?.name} from ${s.network} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const c = await containerOf(ports, t);
    const info = await ports.containers.inspect(c.containerId);
    const aliases = info?.networks[s.network];
    if (!aliases) throw new FaultTargetGone(`container ${c.containerName} is not attached to network ${s.network}`);
    return { containerId: c.containerId, containerName: c.containerName, network: s.network, aliases };
  },
  inject: async (ports, _s, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (!now || !(h.network in now.networks)) return; // already disconnected
    await ports.containers.disconnect(h.network, h.containerId);
  },
  revert: async (ports, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (!now || h.network in now.networks) return;
    await ports.containers.connect(h.network, h.containerId, h.aliases);
  },
};
