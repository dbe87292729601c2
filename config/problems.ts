// What is wrong with a config, and where: problems with a path (and a line and column when the
// text has them), the one error that carries them all, and zod issues turned into problems.
import type { z } from 'zod';
import { MiniCdnError } from '../common/errors.js';
import { formatPath, keysAt, suggest, type ConfigPath } from './shape.js';

export interface ConfigProblem {
  /**
   * Where in the config: "origins[0].url", "cache.maxBytes"; "" is the whole document;
   * "env:MINI_CDN_..." an environment variable; "--max-bytes" a command-line flag.
   */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** One line per problem: `<file>:<line>:<col> <path>: <message>`. */
export function formatProblem(source: string, problem: ConfigProblem): string {
  if (problem.path.startsWith('env:') || problem.path.startsWith('--')) return `${problem.path}: ${problem.message}`;
  const at = problem.line !== undefined ? `${source}:${problem.line}:${problem.column ?? 1}` : source;
  return `${at} ${problem.path || '(document)'}: ${problem.message}`;
}

export class ConfigError extends MiniCdnError {
  readonly problems: ConfigProblem[];
  /** The file (or other source) the problems were found in. */
  readonly source: string;

  /** MCDN_USAGE: every problem comes from the command line (a flag's value, a flag against the file). */
  constructor(code: 'MCDN_CONFIG_INVALID' | 'MCDN_CONFIG_UNREADABLE' | 'MCDN_USAGE', source: string, problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(code, problems.map((p) => formatProblem(source, p)).join('\n'), options);
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}

/** An issue with the path it applies to: one per unknown key, unions resolved to their deepest branch. */
interface PlacedIssue {
  path: ConfigPath;
  /** Set when the problem is a key itself (its position is the key's, not the value's). */
  key?: string;
  message: string;
}

function describeValue(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return input.length === 0 ? 'an empty list' : 'a list';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'string') return `the text ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`;
  return `${typeof input} ${String(input)}`;
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, low: boolean): string {
  const limit = String(low ? issue.minimum : issue.maximum);
  if (issue.origin === 'array' || issue.origin === 'set') return low ? `needs at least ${limit} item(s)` : `may have at most ${limit} item(s)`;
  if (issue.origin === 'string') return low ? `must be at least ${limit} character(s)` : `must be at most ${limit} character(s)`;
  const op = low ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
  return `must be ${op} ${limit}`;
}

function message(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'a whole number' : issue.expected;
      return issue.input === undefined ? `is required (${expected})` : `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      return `${bound(issue, true)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      return `${bound(issue, false)}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}, got ${describeValue(issue.input)}`;
    default:
      return issue.message;
  }
}

function place(issue: z.core.$ZodIssue, base: ConfigPath, out: PlacedIssue[]): void {
  const path = [...base, ...(issue.path as (string | number)[])];
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(path);
    for (const key of issue.keys) {
      const hint = suggest(key, known);
      out.push({ path: [...path, key], key, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}` });
    }
    return;
  }
  if (issue.code === 'invalid_union') {
    // The branch that got deepest into the value is the one that was meant (`false | {...}`).
    const depth = (branch: z.core.$ZodIssue[]): number => Math.min(...branch.map((i) => i.path.length));
    const deepest = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
    if (deepest && deepest.length > 0 && depth(deepest) > 0) {
      for (const inner of deepest) place(inner, path, out);
      return;
    }
  }
  out.push({ path, message: message(issue) });
}

/**
 * Zod issues as problems, each located by `locate` (a path, and the key when the key itself is
 * wrong). `sourceOf` names the variable or flag that set a path: a flag's problem is placed at the
 * flag ("--max-bytes: cache.maxBytes must be ≥ 1"). `hint` may add a note to a problem nothing
 * located (which variable sets the key, for a node started without a file).
 */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  locate: (path: ConfigPath, key?: string) => { line: number; column: number } | undefined,
  sourceOf: (path: ConfigPath) => string | undefined,
  hint: (path: ConfigPath) => string | undefined = () => undefined,
): ConfigProblem[] {
  const placed: PlacedIssue[] = [];
  for (const issue of issues) place(issue, [], placed);
  const problems = placed.map(({ path, key, message: text }): ConfigProblem => {
    const source = sourceOf(path);
    if (source?.startsWith('--')) return { path: source, message: `${formatPath(path)} ${text}` };
    if (source) return { path: formatPath(path), message: `${text} (from ${source})` };
    const at = locate(key === undefined ? path : path.slice(0, -1), key);
    const note = at ? undefined : hint(path);
    return { path: formatPath(path), message: note ? `${text} (${note})` : text, ...(at ? { line: at.line, column: at.column } : {}) };
  });
  // In the order of the file; problems without a position keep theirs, after the others.
  const key = (p: ConfigProblem): number => (p.line === undefined ? Number.MAX_SAFE_INTEGER : p.line * 1e6 + (p.column ?? 0));
  return problems.sort((a, b) => key(a) - key(b));
}
