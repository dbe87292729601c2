// Loading a config: defaults ← file ← environment, validated as a whole (every problem at once,
// each with its path, and its line and column when a file holds it), then deep-frozen.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { z } from 'zod';
import { applyEnv, envSourceOf } from './env.js';
import { ConfigError, problemsFromIssues, type ConfigProblem } from './problems.js';
import { configSchema } from './schema.js';
import { parseJson, parseYaml, type ParsedText } from './text.js';

export { ConfigError, type ConfigProblem } from './problems.js';

/** The whole config of a node, every key defaulted, deep-frozen. */
export type Config = z.output<typeof configSchema>;
export type ConfigFormat = 'yaml' | 'json';

/** Freezes an object and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function validate(parsed: Extract<ParsedText, { ok: true }>, source: string, env: NodeJS.ProcessEnv): Config {
  const overlay = applyEnv(parsed.value, env);
  const result = configSchema.safeParse(overlay.value, { reportInput: true });
  const problems: ConfigProblem[] = [...overlay.problems];
  if (!result.success) {
    problems.push(...problemsFromIssues(result.error.issues, parsed.locate, (path) => envSourceOf(overlay.sources, path)));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError('MCDN_CONFIG_INVALID', source, problems, result.success ? {} : { cause: result.error });
  return deepFreeze(result.data);
}

/**
 * Parses and validates config text. `source` names it in problems (a file name). Throws a
 * ConfigError listing every problem: MCDN_CONFIG_UNREADABLE for syntax (and duplicate keys),
 * MCDN_CONFIG_INVALID for values.
 */
export function parseConfigText(text: string, format: ConfigFormat, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = format === 'json' ? parseJson(body) : parseYaml(body);
  if (!parsed.ok) throw new ConfigError('MCDN_CONFIG_UNREADABLE', source, parsed.problems);
  return validate(parsed, source, env);
}

/** The format a file's extension names, or undefined. */
export function formatOf(file: string): ConfigFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return undefined;
}

/** Reads a .yaml, .yml or .json file and validates it with the environment over it. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const format = formatOf(file);
  if (!format) throw new ConfigError('MCDN_CONFIG_UNREADABLE', file, [{ path: '', message: 'unknown format: the file name must end in .yaml, .yml or .json' }]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError('MCDN_CONFIG_UNREADABLE', file, [{ path: '', message: `cannot be read: ${why}` }], { cause: err });
  }
  return parseConfigText(text, format, file, env);
}

/** The defaults with the environment over them: the config of a node started without a file. */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return validate({ ok: true, value: {}, locate: () => undefined }, 'environment', env);
}
