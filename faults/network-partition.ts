// network.partition: disconnect a container from a named Docker network; revert reconnects it with
// the aliases it had, recorded in the handle before the disconnect.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';
import type { FaultKind } from './types.ts';
import { containerOf } from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('network.partition'),
  ...faultBase,
  network: z.string().min(1).max(256).describe('Docker network to disconnect the target from.'),
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
    if (!now) throw new FaultTargetGone(`container ${h.containerName} no longer exists`);
    if (h.network in now.networks) await ports.containers.disconnect(h.network, h.containerId); // else: a retried inject
    const after = await ports.containers.inspect(h.containerId);
    if (after && h.network in after.networks)
      throw new FaultNotInEffect(`partition of ${h.containerName} has no effect: it is still on network ${h.network}`);
  },
  revert: async (ports, h) => {
    const now = await ports.containers.inspect(h.containerId);
    if (!now) return { changed: false }; // removed by someone else: nothing left to revert
    const on = now.networks[h.network];
    const partial = !!on && h.aliases.some((a) => !on.includes(a));
    // Back on the network without its aliases (an earlier, half-done revert): reconnect properly.
    if (partial) await ports.containers.disconnect(h.network, h.containerId);
    if (!on || partial) await ports.containers.connect(h.network, h.containerId, h.aliases);
    // Observed, not assumed: back on the network with every alias it had before the experiment.
    const after = await ports.containers.inspect(h.containerId);
    if (!after) return { changed: !on || partial };
    const aliases = after.networks[h.network];
    if (!aliases)
      throw new RevertIncomplete(`partition of ${h.containerName} not reverted: it is not on network ${h.network}`);
    const missing = h.aliases.filter((a) => !aliases.includes(a));
    if (missing.length)
      throw new RevertIncomplete(
        `partition of ${h.containerName} not reverted: on network ${h.network} without the aliases ${missing.join(', ')} it had before`,
      );
    return { changed: !on || partial };
  },
  // The daemon's network events: the first connect to the network after the partition's disconnect.
  undoneAt: async (ports, h, since) => {
    const log = await ports.containers.events?.(h.containerId, since, h.network);
    if (!log) return undefined;
    const cut = log.findIndex((e) => e.action === 'disconnect');
    const at = log.slice(cut + 1).find((e) => e.action === 'connect')?.at;
    return at ? { at } : undefined;
  },
};
