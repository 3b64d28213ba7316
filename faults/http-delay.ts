// http.delay: hold matching HTTP/1.1 requests on fault proxy routes before they reach the service
// (service-mesh style fault injection; match a test header to hit only synthetic traffic).
import { z } from 'zod';
import { durationBetween, faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_HTTP_DELAY_MS } from '../proxy/limits.ts';
import { asList, httpMatch, httpMatchAttributes, httpMatchText, proxyKind, proxyNames } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('http.delay'),
  ...faultBase,
  proxy: proxyNames,
  delay: durationBetween(1, MAX_HTTP_DELAY_MS, "the proxy's limit").describe(
    'How long each matching request is held (1ms to 1h).',
  ),
  ...httpMatch,
});
export type HttpDelaySpec = z.infer<typeof spec>;

export const httpDelay = proxyKind({
  name: 'http.delay',
  spec,
  describe: (s) =>
    `delay ${httpMatchText(s)} by ${formatMs(durationMs(s.delay))} on ${asList(s.proxy).join(', ')} for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) => ({
    type: 'http_delay',
    streams: ['upstream'],
    toxicity: 1,
    attributes: { delay: durationMs(s.delay), ...httpMatchAttributes(s) },
  }),
});
