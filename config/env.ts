// Environment overrides: MINI_CDN_<PATH>, `__` between levels, each key in UPPER_SNAKE
// (MINI_CDN_CACHE__MAX_BYTES → cache.maxBytes, MINI_CDN_ORIGINS__0__URL → origins[0].url), plus
// the short names the CLI has always read (MINI_CDN_REDIS_URL, MINI_CDN_BUS_SECRET, ...).
import type { ConfigProblem } from './problems.js';
import { acceptsNull, expectsText, keysAt, schemaAt, suggest, upperSnake, type ConfigPath } from './shape.js';

export const ENV_PREFIX = 'MINI_CDN_';

/** The short names, applied before the long ones (a long name for the same key wins). */
export const SHORT_ENV_NAMES: Readonly<Record<string, ConfigPath>> = {
  MINI_CDN_REDIS_URL: ['bus', 'redisUrl'],
  MINI_CDN_BUS_SECRET: ['bus', 'secret'],
  MINI_CDN_BUS_KEY_ID: ['bus', 'keyId'],
  MINI_CDN_BUS_PREVIOUS_SECRET: ['bus', 'previousSecret'],
  MINI_CDN_BUS_PREVIOUS_KEY_ID: ['bus', 'previousKeyId'],
  MINI_CDN_ADMIN_TOKEN: ['admin', 'token'],
  MINI_CDN_BUS_NAMESPACE: ['bus', 'namespace'],
};

export interface EnvOverlay {
  /** The config with every override applied (a copy; the input is not changed). */
  value: unknown;
  problems: ConfigProblem[];
  /** Which variable set which path. */
  sources: { path: ConfigPath; name: string }[];
}

/** The config path a long variable names, or a problem. */
function pathOf(name: string): ConfigPath | ConfigProblem {
  const path: ConfigPath = [];
  for (const segment of name.slice(ENV_PREFIX.length).split('__')) {
    if (/^\d+$/.test(segment) && schemaAt([...path, 0])) {
      path.push(Number(segment));
      continue;
    }
    const keys = keysAt(path);
    const key = keys.find((k) => upperSnake(k) === segment);
    if (key === undefined) {
      const hint = suggest(segment, keys.map(upperSnake));
      const prefix = ENV_PREFIX + path.map((p) => (typeof p === 'number' ? String(p) : upperSnake(p)) + '__').join('');
      const help = hint ? `did you mean ${prefix}${hint}?` : keys.length ? `known here: ${keys.map(upperSnake).join(', ')}` : 'this key has no sub-keys';
      return { path: `env:${name}`, message: `unknown setting ${JSON.stringify(segment)} (${help})` };
    }
    path.push(key);
  }
  return path;
}

/** The value of a variable for the key at `path`: text where text is expected, JSON when it parses, else text. */
function valueFor(path: ConfigPath, raw: string): unknown {
  const schema = schemaAt(path);
  if (schema && expectsText(schema)) return (raw === '' || raw === 'null') && acceptsNull(schema) ? null : raw;
  if (raw === '' && schema && acceptsNull(schema)) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** Sets `value` at `path` in `root`, making the objects and arrays on the way. */
export function setAt(root: Record<string, unknown>, path: ConfigPath, value: unknown): void {
  let at: Container = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string | number;
    const slot = (at as Record<string | number, unknown>)[key];
    if (!isContainer(slot) || (typeof path[i + 1] === 'number') !== Array.isArray(slot)) {
      (at as Record<string | number, unknown>)[key] = typeof path[i + 1] === 'number' ? [] : {};
    }
    at = (at as Record<string | number, unknown>)[key] as Container;
  }
  (at as Record<string | number, unknown>)[path[path.length - 1] as string | number] = value;
}

/** The variable that sets the key at `path`: its short name when it has one, else MINI_CDN_<PATH>. */
export function envNameOf(path: ConfigPath): string {
  const short = Object.entries(SHORT_ENV_NAMES).find(([, at]) => at.length === path.length && at.every((p, i) => p === path[i]));
  if (short) return short[0];
  return ENV_PREFIX + path.map((p) => (typeof p === 'number' ? String(p) : upperSnake(p))).join('__');
}

/** Applies every MINI_CDN_ variable of `env` over `value` (a parsed config file, or {}). */
export function applyEnv(value: unknown, env: NodeJS.ProcessEnv): EnvOverlay {
  const problems: ConfigProblem[] = [];
  const sources: EnvOverlay['sources'] = [];
  const names = Object.keys(env).filter((n) => n.startsWith(ENV_PREFIX) && env[n] !== undefined);
  if (names.length === 0) return { value, problems, sources };
  // A document that is not an object is reported by the schema; the environment cannot fix it.
  if (!isContainer(value) || Array.isArray(value)) return { value, problems, sources };
  const root = structuredClone(value) as Record<string, unknown>;
  const short = names.filter((n) => n in SHORT_ENV_NAMES).sort();
  const long = names.filter((n) => !(n in SHORT_ENV_NAMES)).sort();
  for (const name of [...short, ...long]) {
    const path = SHORT_ENV_NAMES[name] ?? pathOf(name);
    if (!Array.isArray(path)) {
      problems.push(path);
      continue;
    }
    setAt(root, path, valueFor(path, env[name] as string));
    sources.push({ path, name });
  }
  return { value: root, problems, sources };
}

/** The variable that set `path` or one of its ancestors (the latest wins). */
export function envSourceOf(sources: EnvOverlay['sources'], path: ConfigPath): string | undefined {
  let found: string | undefined;
  for (const source of sources) {
    if (source.path.length <= path.length && source.path.every((p, i) => p === path[i])) found = source.name;
  }
  return found;
}
