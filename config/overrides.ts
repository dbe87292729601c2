// Values the command line sets (flags), laid over the file and the environment, and the check that
// a flag does not silently contradict the file: a node started with `--config edge.yaml --max-bytes
// 1000` while edge.yaml says another maxBytes has two answers, and one of them would be ignored.
import { setAt } from './env.js';
import type { ConfigProblem } from './problems.js';
import { formatPath, type ConfigPath } from './shape.js';

export interface ConfigOverride {
  /** The key it sets. */
  path: ConfigPath;
  value: unknown;
  /** Who set it, as the user wrote it: "--max-bytes". */
  source: string;
  /** May replace the value the file gives this key (--port, --host: several nodes of one file). */
  overridesFile?: boolean;
}

/** The config with every override applied, in order (a copy; the input is not changed). */
export function applyOverrides(value: unknown, overrides: readonly ConfigOverride[]): unknown {
  if (overrides.length === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const root = structuredClone(value) as Record<string, unknown>;
  for (const override of overrides) setAt(root, override.path, structuredClone(override.value));
  return root;
}

/** The value at `path` in a parsed document, or undefined when the document does not set it. */
function valueAt(document: unknown, path: ConfigPath): unknown {
  let at: unknown = document;
  for (const segment of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string | number, unknown>)[segment];
  }
  return at;
}

/** Same JSON value (key order aside). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Secrets and tokens are never echoed into a terminal or a log. */
function shown(path: ConfigPath, value: unknown): string {
  const last = String(path[path.length - 1] ?? '');
  return /secret|token/i.test(last) ? '(hidden)' : JSON.stringify(value);
}

/** One problem per override that gives a key the file sets a different value (unless it may replace it). */
export function conflictsWithFile(document: unknown, overrides: readonly ConfigOverride[], file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const override of overrides) {
    if (override.overridesFile) continue;
    const inFile = valueAt(document, override.path);
    if (inFile === undefined || sameValue(inFile, override.value)) continue;
    const key = formatPath(override.path);
    problems.push({
      path: override.source,
      message: `conflicts with ${key} in ${file} (the file sets ${shown(override.path, inFile)}, the flag ${shown(override.path, override.value)}); set ${key} in one place`,
    });
  }
  return problems;
}
