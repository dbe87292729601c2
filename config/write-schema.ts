// Writes config/schema.json from the schema: `npm run build && node dist/config/write-schema.js [OUT]`.
// Run it after changing config/schema.ts and commit the output (a unit test checks it is current).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchema } from './schema-export.js';

/** Where the committed schema lives, from this file (config/ in the sources, dist/config/ once built). */
export function schemaFilePath(): string {
  const fromDist = import.meta.url.includes('/dist/config/');
  return fileURLToPath(new URL(fromDist ? '../../config/schema.json' : './schema.json', import.meta.url));
}

export function schemaFileText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? schemaFilePath();
  writeFileSync(out, schemaFileText());
  process.stdout.write(`wrote ${out}\n`);
}
