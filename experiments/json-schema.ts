// The JSON Schema of the experiment language, generated from the one zod schema. The committed copy
// (experiment.schema.json) lets editors autocomplete; a test keeps it in sync.
import { z } from 'zod';
import { experimentSchema } from './schema.ts';

export function experimentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://faultline.dev/schemas/experiment.schema.json',
    title: 'Faultline experiment',
  };
}

export const JSON_SCHEMA_TEXT = (): string => `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
