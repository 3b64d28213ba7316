// proxy.bandwidth: limit throughput through fault proxy routes, in KB/s.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { MAX_RATE_KBPS } from '../proxy/limits.ts';
import {
  handle,
  proxyFaultOps,
  proxyNames,
  streamsOf,
  toxicityField,
  toxicsFor,
  asList,
  type ProxyFaultHandle,
} from './proxy-common.ts';

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

export const proxyBandwidth: FaultKind<typeof spec, ProxyFaultHandle> = {
  name: 'proxy.bandwidth',
  spec,
  ...proxyFaultOps,
  describe: (s) =>
    `limit ${asList(s.proxy).join(', ')} to ${s.rate} KB/s (${s.stream}) for ${formatMs(durationMs(s.duration))}`,
  prepare: async (_p, s) =>
    handle(s.proxy, toxicsFor(s.kind, 'bandwidth', streamsOf(s.stream), s.toxicity, { rate: s.rate })),
};
