// proxy.partition: cut traffic through fault proxy routes. mode "timeout" (default) keeps connections
// open but lets no byte through (optionally closing them after closeAfter), the way a network
// partition looks to a client; mode "down" disables the routes, so connections are refused.
import { z } from 'zod';
import { durationBetween, faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_CLOSE_AFTER_MS } from '../proxy/limits.ts';
import { asList, proxyKind, proxyNames, streamsOf } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('proxy.partition'),
  ...faultBase,
  proxy: proxyNames,
  mode: z.enum(['timeout', 'down']).default('timeout'),
  closeAfter: durationBetween(1, MAX_CLOSE_AFTER_MS, "the proxy's limit")
    .optional()
    .describe('mode timeout: close held connections after this long (default: hold them).'),
  stream: z.enum(['upstream', 'downstream', 'both']).default('both'),
});
export type ProxyPartitionSpec = z.infer<typeof spec>;

export const proxyPartition = proxyKind({
  name: 'proxy.partition',
  spec,
  describe: (s) =>
    `partition ${asList(s.proxy).join(', ')} (${s.mode === 'down' ? 'route down' : `blackhole ${s.stream}`}) for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) =>
    s.mode === 'down'
      ? 'disable'
      : {
          type: 'timeout',
          streams: streamsOf(s.stream),
          toxicity: 1,
          attributes: { timeout: s.closeAfter ? durationMs(s.closeAfter) : 0 },
        },
});
