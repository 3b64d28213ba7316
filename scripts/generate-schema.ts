// npm run schema: rewrites experiments/experiment.schema.json from the zod schema. A script, so the language
// folder (experiments/) needs no file writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_TEXT } from '../experiments/json-schema.ts';

const out = fileURLToPath(new URL('../experiments/experiment.schema.json', import.meta.url));
writeFileSync(out, JSON_SCHEMA_TEXT());
console.log(`wrote ${out}`);
