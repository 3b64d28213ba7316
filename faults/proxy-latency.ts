// proxy.latency: add latency (with optional jitter) to traffic through fault proxy routes.
import { z } from 'zod';
import { durationBetween, faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_JITTER_MS, MAX_LATENCY_MS } from '../proxy/limits.ts';
import { asList, proxyKind, proxyNames, streamsOf, toxicityField } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('proxy.latency'),
  ...faultBase,
  proxy: proxyNames,
  latency: durationBetween(1, MAX_LATENCY_MS, "the proxy's limit").describe('Added delay, e.g. "300ms" (1ms to 1h).'),
  jitter: durationBetween(0, MAX_JITTER_MS, "the proxy's limit")
    .default('0ms')
    .describe('Uniform jitter, plus or minus (0 to 1h).'),
  stream: z
    .enum(['upstream', 'downstream', 'both'])
    .default('downstream')
    .describe('downstream: responses; upstream: requests.'),
  toxicity: toxicityField,
});
export type ProxyLatencySpec = z.infer<typeof spec>;

export const proxyLatency = proxyKind({
  name: 'proxy.latency',
  spec,
  describe: (s) =>
    `add ${formatMs(durationMs(s.latency))}${durationMs(s.jitter) ? ` ±${formatMs(durationMs(s.jitter))}` : ''} latency (${s.stream}) on ${asList(s.proxy).join(', ')} for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) => ({
    type: 'latency',
    streams: streamsOf(s.stream),
    toxicity: s.toxicity,
    attributes: { latency: durationMs(s.latency), jitter: durationMs(s.jitter) },
  }),
});
