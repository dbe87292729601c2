// The config's JSON Schema, for editors (yaml-language-server, VS Code's json.schemas) and for
// reviewing the config's shape at a glance. config/schema.json is this, written by write-schema.ts.
import { z } from 'zod';
import { configSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of a config file: what may be written, with defaults. */
export function jsonSchema(): object {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return { ...schema, title: 'mini-cdn config', description: 'The config file of a mini-cdn node (YAML or JSON). Unknown keys are errors.' };
}
