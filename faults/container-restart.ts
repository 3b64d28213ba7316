// container.restart: restart once at injection; revert makes sure it runs.
import { z } from 'zod';
import { faultBase, gracePeriodField } from './common-schema.ts';
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
  kind: z.literal('container.restart'),
  ...faultBase,
  gracePeriod: gracePeriodField,
});
export type ContainerRestartSpec = z.infer<typeof spec>;

export const containerRestart: FaultKind<typeof spec, ContainerHandle> = {
  name: 'container.restart',
  spec,
  needsContainer: true,
  describe: (s, t) => `restart ${t.container?.name} (grace ${s.gracePeriod}s)`,
  prepare: async (ports, _s, t) => containerOf(ports, t),
  inject: async (ports, s, h) => {
    const now = await ports.containers.inspect(h.containerId);
    // A new start time means a retried inject after the restart happened: never restart twice.
    if (now && (now.state === 'running' || now.state === 'paused') && !processEnded(h)(now))
      await ports.containers.restart(h.containerId, s.gracePeriod);
    await expectEffect(
      ports,
      h,
      'restart',
      (c) => c.state === 'running' && processEnded(h)(c),
      'running again',
      10_000,
    );
  },
  revert: async (ports, h) => {
    const changed = await restoreState(ports, h);
    await expectRestored(ports, h, 'restart');
    return { changed };
  },
  undoneAt: containerUndoneAt,
};
