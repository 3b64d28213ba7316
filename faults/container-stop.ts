// container.stop: stop with a grace period; revert starts it again.
import { z } from 'zod';
import { faultBase, gracePeriodField } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import { containerKind, processEnded, upAsBefore } from './container-common.ts';

const spec = z.strictObject({
  kind: z.literal('container.stop'),
  ...faultBase,
  gracePeriod: gracePeriodField,
});
export type ContainerStopSpec = z.infer<typeof spec>;

export const containerStop = containerKind({
  name: 'container.stop',
  spec,
  verb: 'stop',
  describe: (s, t) => `stop ${t.container?.name} (grace ${s.gracePeriod}s) for ${formatMs(durationMs(s.duration))}`,
  due: upAsBefore,
  act: (ports, s, h) => ports.containers.stop(h.containerId, s.gracePeriod),
  effect: (_s, h) => ({ holds: processEnded(h), wanted: 'exited' }),
});
