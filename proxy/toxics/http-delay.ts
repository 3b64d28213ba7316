// http_delay (Faultline extension): hold matching HTTP requests for `delay` ms before they go upstream.
import { z } from 'zod';
import { MAX_HTTP_DELAY_MS } from '../limits.ts';
import type { ToxicType } from '../toxic.ts';
import { httpStage, holdUntil, matchAttributes, matchDefaults, matches } from './http.ts';

const attributes = z.object({ delay: z.number().int().min(0).max(MAX_HTTP_DELAY_MS), ...matchAttributes });
type Attrs = z.infer<typeof attributes>;

export const httpDelay: ToxicType<Attrs> = {
  type: 'http_delay',
  attributes,
  defaults: { delay: 0, ...matchDefaults },
  streams: ['upstream'],
  create: (a, ctx) => httpStage(ctx, (h) => (matches(a, h) ? holdUntil(a.delay) : { kind: 'pass' })),
};
