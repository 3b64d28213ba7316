// http_abort (Faultline extension): answer matching HTTP requests with `status` instead of sending them
// upstream. The answer carries Content-Length, so keep-alive connections go on with the next request.
import { z } from 'zod';
import { MAX_HTTP_ABORT_BODY_LENGTH, MAX_HTTP_ABORT_STATUS, MIN_HTTP_ABORT_STATUS } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';
import { httpStage, matchAttributes, matchDefaults, matches } from './http.ts';

const attributes = z.object({
  status: z.number().int().min(MIN_HTTP_ABORT_STATUS).max(MAX_HTTP_ABORT_STATUS),
  body: z.string().max(MAX_HTTP_ABORT_BODY_LENGTH),
  ...matchAttributes,
});
type Attrs = z.infer<typeof attributes>;

export const httpAbort: ToxicType<Attrs> = {
  type: 'http_abort',
  attributes,
  defaults: { status: 503, body: 'fault injected by faultline\n', ...matchDefaults },
  streams: ['upstream'],
  create: (a, ctx) =>
    httpStage(ctx, (h) => (matches(a, h) ? { kind: 'answer', status: a.status, body: a.body } : { kind: 'pass' })),
};
