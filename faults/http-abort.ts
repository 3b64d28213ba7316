// http.abort: answer matching HTTP/1.1 requests on fault proxy routes with an error status instead of
// passing them on (service-mesh style fault injection).
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { MAX_HTTP_ABORT_BODY_LENGTH, MAX_HTTP_ABORT_STATUS, MIN_HTTP_ABORT_STATUS } from '../proxy/limits.ts';
import {
  handle,
  httpMatch,
  httpMatchAttributes,
  httpMatchText,
  proxyFaultOps,
  proxyNames,
  toxicsFor,
  asList,
  type ProxyFaultHandle,
} from './proxy-common.ts';

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

export const httpAbort: FaultKind<typeof spec, ProxyFaultHandle> = {
  name: 'http.abort',
  spec,
  ...proxyFaultOps,
  describe: (s) =>
    `answer ${httpMatchText(s)} with ${s.status} on ${asList(s.proxy).join(', ')} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (_p, s) =>
    handle(
      s.proxy,
      toxicsFor(s.kind, 'http_abort', ['upstream'], 1, {
        status: s.status,
        ...(s.body === undefined ? {} : { body: s.body }),
        ...httpMatchAttributes(s),
      }),
    ),
};
