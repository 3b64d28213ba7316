// http.abort: answer matching HTTP/1.1 requests on fault proxy routes with an error status instead of
// passing them on (service-mesh style fault injection).
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import { MAX_HTTP_ABORT_BODY_LENGTH, MAX_HTTP_ABORT_STATUS, MIN_HTTP_ABORT_STATUS } from '../proxy/limits.ts';
import { asList, httpMatch, httpMatchAttributes, httpMatchText, proxyKind, proxyNames } from './proxy-common.ts';

const spec = z.strictObject({
  kind: z.literal('http.abort'),
  ...faultBase,
  proxy: proxyNames,
  status: z
    .number()
    .int()
    .min(MIN_HTTP_ABORT_STATUS)
    .max(MAX_HTTP_ABORT_STATUS)
    .default(503)
    .describe('Status of the injected answer.'),
  body: z.string().max(MAX_HTTP_ABORT_BODY_LENGTH).optional().describe('Body of the injected answer.'),
  ...httpMatch,
});
export type HttpAbortSpec = z.infer<typeof spec>;

export const httpAbort = proxyKind({
  name: 'http.abort',
  spec,
  describe: (s) =>
    `answer ${httpMatchText(s)} with ${s.status} on ${asList(s.proxy).join(', ')} for ${formatMs(durationMs(s.duration))}`,
  toxic: (s) => ({
    type: 'http_abort',
    streams: ['upstream'],
    toxicity: 1,
    attributes: { status: s.status, ...(s.body === undefined ? {} : { body: s.body }), ...httpMatchAttributes(s) },
  }),
});
