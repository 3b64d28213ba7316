// The JSON Schema of the experiment language, generated from the one zod schema. The committed copy
// (experiment.schema.json) lets editors autocomplete; a test keeps it in sync.
import { z } from 'zod';
import { experimentSchema, judgedMetricSchema, sloTargetSchema } from './schema.ts';

export function experimentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(experimentSchema, {
    io: 'input',
    unrepresentable: 'any',
    // A judged metric's slo is written as a file name (the resolve step reads it, experiments/slo.ts): events
    // and the name come from the SLO file then.
    override: (ctx) => {
      const js = ctx.jsonSchema as Record<string, unknown>;
      if (ctx.zodSchema === sloTargetSchema) {
        for (const k of Object.keys(js)) if (k !== 'description') delete js[k];
        js.type = 'string';
        js.minLength = 1;
      } else if (ctx.zodSchema === judgedMetricSchema) {
        delete js.required;
        js.anyOf = [{ required: ['name', 'events'] }, { required: ['slo'] }];
      }
    },
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://faultline.dev/schemas/experiment.schema.json',
    title: 'Faultline experiment',
  };
}

export const JSON_SCHEMA_TEXT = (): string => `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
