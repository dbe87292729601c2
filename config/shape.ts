// Walking the config schema key by key: which keys an object has (for environment names and
// "did you mean" hints), what a leaf accepts, and how paths are written ("origins[0].url").
import { z } from 'zod';
import { configShape } from './schema.js';

export type ConfigPath = (string | number)[];

/** The schema under defaults, optionals, nullables and pipes. */
export function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
      schema = schema.unwrap() as z.ZodType;
    } else if (schema instanceof z.ZodPipe) {
      // A preprocess is a transform piped into the real schema: walk the schema.
      schema = (schema.in instanceof z.ZodTransform ? schema.out : schema.in) as z.ZodType;
    } else {
      return schema;
    }
  }
}

/** The object inside a schema (a union such as `false | {...}` counts as its object option). */
function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return inner;
  if (inner instanceof z.ZodUnion) {
    for (const option of inner.options as z.ZodType[]) {
      const found = objectOf(option);
      if (found) return found;
    }
  }
  return undefined;
}

/** The schema at a path of the config, or undefined when no key there exists. */
export function schemaAt(path: ConfigPath, root: z.ZodType = configShape): z.ZodType | undefined {
  let schema: z.ZodType = root;
  for (const segment of path) {
    const inner = unwrap(schema);
    if (typeof segment === 'number') {
      if (!(inner instanceof z.ZodArray)) return undefined;
      schema = inner.element as z.ZodType;
      continue;
    }
    const object = objectOf(schema);
    const next = object?.shape[segment] as z.ZodType | undefined;
    if (!next) return undefined;
    schema = next;
  }
  return schema;
}

/** The keys of the object at a path (empty when there is none). */
export function keysAt(path: ConfigPath): string[] {
  const schema = schemaAt(path);
  const object = schema && objectOf(schema);
  return object ? Object.keys(object.shape).filter((k) => !k.startsWith('$')) : [];
}

/** A text value is kept as text (not parsed as JSON) where the schema expects a string. */
export function expectsText(schema: z.ZodType): boolean {
  return unwrap(schema) instanceof z.ZodString;
}

export function acceptsNull(schema: z.ZodType): boolean {
  return schema.safeParse(null).success;
}

/** camelCase → UPPER_SNAKE: maxObjectBytes → MAX_OBJECT_BYTES. */
export function upperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** "origins[0].url"; the empty path is the whole document. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The known key a mistyped one most likely meant: same letters in another case, a missing unit suffix, or a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const normal = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const lower = normal(word);
  let best: { key: string; score: number } | undefined;
  for (const key of candidates) {
    const keyLower = normal(key);
    const score = keyLower === lower ? 0 : keyLower.startsWith(lower) && lower.length >= 3 ? 1 : distance(lower, keyLower);
    if (score <= 2 && (!best || score < best.score)) best = { key, score };
  }
  return best?.key;
}
