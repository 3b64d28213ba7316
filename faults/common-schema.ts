// Small zod building blocks shared by the experiment schema and the fault kind specs.
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';

export const durationSchema = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), { message: 'must be a duration such as 250ms, 30s or 2m' })
  .describe('A duration: a number followed by ms, s, m or h, e.g. "30s".');

/** Fields every fault entry has, whatever its kind. */
export const faultBase = {
  duration: durationSchema.describe('How long the fault stays injected before it is reverted.'),
  description: z.string().optional(),
};
