// proxy.reset: reset connections through fault proxy routes (TCP RST) once data flows, after a delay.
import { z } from 'zod';
import { durationBetween, faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_RESET_AFTER_MS } from '../proxy/limits.ts';
import { asList, proxyKind, proxyNames, toxicityField } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('proxy.reset'),
  ...faultBase,
  proxy: proxyNames,
  after: durationBetween(0, MAX_RESET_AFTER_MS, "the proxy's limit")
    .default('0ms')
    .describe('Time after the first data before the reset.'),
  stream: z.enum(['upstream', 'downstream']).default('upstream'),
  toxicity: toxicityField,
});
export type ProxyResetSpec = z.infer<typeof spec>;

export const proxyReset = proxyKind({
  name: 'proxy.reset',
  spec,
  describe: (s) =>
    `reset ${Math.round(s.toxicity * 100)}% of connections on ${asList(s.proxy).join(', ')} for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) => ({
    type: 'reset_peer',
    streams: [s.stream],
    toxicity: s.toxicity,
    attributes: { timeout: durationMs(s.after) },
  }),
});
