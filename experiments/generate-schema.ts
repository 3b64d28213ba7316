// npm run schema: rewrites experiments/experiment.schema.json from the zod schema.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_TEXT } from './json-schema.ts';

const out = fileURLToPath(new URL('./experiment.schema.json', import.meta.url));
writeFileSync(out, JSON_SCHEMA_TEXT());
console.log(`wrote ${out}`);
