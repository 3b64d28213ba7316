// proxy.bandwidth: limit throughput through fault proxy routes, in KB/s.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_RATE_KBPS } from '../proxy/limits.ts';
import { asList, proxyKind, proxyNames, streamsOf, toxicityField } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('proxy.bandwidth'),
  ...faultBase,
  proxy: proxyNames,
  rate: z
    .number()
    .int()
    .min(1, { message: 'must be at least 1 KB/s (0 would mean no limit: the fault would do nothing)' })
    .max(MAX_RATE_KBPS)
    .describe('KB/s (1 KB = 1000 bytes).'),
  stream: z.enum(['upstream', 'downstream', 'both']).default('downstream'),
  toxicity: toxicityField,
});
export type ProxyBandwidthSpec = z.infer<typeof spec>;

export const proxyBandwidth = proxyKind({
  name: 'proxy.bandwidth',
  spec,
  describe: (s) =>
    `limit ${asList(s.proxy).join(', ')} to ${s.rate} KB/s (${s.stream}) for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) => ({
    type: 'bandwidth',
    streams: streamsOf(s.stream),
    toxicity: s.toxicity,
    attributes: { rate: s.rate },
  }),
});
