// container.restart: restart once at injection; revert makes sure it runs.
import { z } from 'zod';
import { faultBase, gracePeriodField } from './common-schema.ts';
import { containerKind, processEnded, upAsBefore } from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('container.restart'),
  ...faultBase,
  gracePeriod: gracePeriodField,
});
export type ContainerRestartSpec = z.infer<typeof spec>;

export const containerRestart = containerKind({
  name: 'container.restart',
  spec,
  verb: 'restart',
  describe: (s, t) => `restart ${t.container?.name} (grace ${s.gracePeriod}s)`,
  // A new start time means a retried inject after the restart happened: never restart twice.
  due: upAsBefore,
  act: (ports, s, h) => ports.containers.restart(h.containerId, s.gracePeriod),
  effect: (_s, h) => ({
    holds: (c) => c.state === 'running' && processEnded(h)(c),
    wanted: 'running again',
    waitMs: 10_000,
  }),
});
