// noop: hands everything on; useful to test the framework (and Toxiproxy has it).
import { z } from 'zod';
import { passthrough, type ToxicType } from '../toxic.ts';

const attributes = z.object({});
export const noop: ToxicType<Record<string, never>> = {
  type: 'noop',
  attributes: attributes as unknown as z.ZodType<Record<string, never>>,
  defaults: {},
  create: (_a, ctx) => passthrough(ctx),
};
