// http_abort (Faultline extension): answer matching HTTP requests with `status` instead of sending them
// upstream. The answer carries Content-Length, so keep-alive connections go on with the next request.
import { z } from 'zod';
import type { ToxicType } from '../toxic.ts';
import { httpStage, matchAttributes, matchDefaults, matches } from './http.ts';

const attributes = z.object({
  status: z.number().int().min(200).max(599),
  body: z.string().max(65_536),
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
