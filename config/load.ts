// Loading a config: defaults ← file ← environment ← command line, validated as a whole (every
// problem at once, each with its path, and its line and column when a file holds it), then
// deep-frozen.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { z } from 'zod';
import { applyEnv, envNameOf, envSourceOf } from './env.js';
import { applyOverrides, conflictsWithFile, type ConfigOverride } from './overrides.js';
import { ConfigError, problemsFromIssues, type ConfigProblem } from './problems.js';
import { configSchema } from './schema.js';
import type { ConfigPath } from './shape.js';
import { parseJson, parseYaml, type ParsedText } from './text.js';

export { ConfigError, type ConfigProblem } from './problems.js';
export type { ConfigOverride } from './overrides.js';

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

interface Layers {
  env: NodeJS.ProcessEnv;
  overrides?: readonly ConfigOverride[] | undefined;
  /** No file: a problem nothing located says how to set its key (its flag, when `flagOf` names one, and its variable). */
  withoutFile?: boolean;
  flagOf?: ((path: ConfigPath) => string | undefined) | undefined;
}

function validate(parsed: Extract<ParsedText, { ok: true }>, source: string, layers: Layers): Config {
  const overlay = applyEnv(parsed.value, layers.env);
  const overrides = layers.overrides ?? [];
  const value = applyOverrides(overlay.value, overrides);
  const result = configSchema.safeParse(value, { reportInput: true });
  const problems: ConfigProblem[] = [...overlay.problems];
  if (!result.success) {
    // Flags come last: where a flag and a variable set one key, the problem is the flag's.
    const sources = [...overlay.sources, ...overrides.map((o) => ({ path: o.path, name: o.source }))];
    const hint = layers.withoutFile
      ? (path: ConfigPath) => {
          const flag = layers.flagOf?.(path);
          return `set it with ${flag ? `${flag} or ` : ''}${envNameOf(path)}`;
        }
      : undefined;
    problems.push(...problemsFromIssues(result.error.issues, parsed.locate, (path) => envSourceOf(sources, path), hint));
  }
  if (problems.length > 0 || !result.success) {
    // The command line alone is wrong (flags and environment, no file; or only flags beside a file): a usage error.
    const usage = layers.withoutFile || problems.every((p) => p.path.startsWith('--'));
    throw new ConfigError(usage ? 'MCDN_USAGE' : 'MCDN_CONFIG_INVALID', source, problems, result.success ? {} : { cause: result.error });
  }
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
  return validate(parsed, source, { env });
}

/** The format a file's extension names, or undefined. */
export function formatOf(file: string): ConfigFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return undefined;
}

async function readParsed(file: string): Promise<Extract<ParsedText, { ok: true }>> {
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
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = format === 'json' ? parseJson(body) : parseYaml(body);
  if (!parsed.ok) throw new ConfigError('MCDN_CONFIG_UNREADABLE', file, parsed.problems);
  return parsed;
}

/** Reads a .yaml, .yml or .json file and validates it with the environment over it. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return validate(await readParsed(file), file, { env });
}

/** The defaults with the environment over them: the config of a node started without a file. */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return validate({ ok: true, value: {}, locate: () => undefined }, 'environment', { env });
}

export interface ConfigSources {
  /** A .yaml, .yml or .json file; none: the defaults. */
  file?: string | undefined;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** What the command line sets, last. */
  overrides?: readonly ConfigOverride[];
  /** The flag that sets a key, if any (named in problems of a node started without a file). */
  flagOf?: (path: ConfigPath) => string | undefined;
}

/**
 * The one way a node's config is built: defaults ← file (when given) ← environment ← overrides
 * (the command line), validated once. An override for a key the file sets to another value is
 * refused (MCDN_USAGE naming the flag and the key) unless it is one that may replace the file's
 * value (`overridesFile`). Problems with flag values alone, or any problem without a file, are
 * MCDN_USAGE; a file's are MCDN_CONFIG_INVALID.
 */
export async function resolveConfig(sources: ConfigSources): Promise<Config> {
  const env = sources.env ?? process.env;
  const overrides = sources.overrides ?? [];
  if (sources.file === undefined) return validate({ ok: true, value: {}, locate: () => undefined }, 'command line', { env, overrides, withoutFile: true, flagOf: sources.flagOf });
  const parsed = await readParsed(sources.file);
  const conflicts = conflictsWithFile(parsed.value, overrides, sources.file);
  if (conflicts.length > 0) throw new ConfigError('MCDN_USAGE', sources.file, conflicts);
  return validate(parsed, sources.file, { env, overrides });
}
