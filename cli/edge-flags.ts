// The flags of `mini-cdn edge`, as one table: each flag sets one config key, so flags, the file
// and the environment meet in one config, validated by one schema with one set of defaults
// (config/load.ts resolveConfig). A new flag is one row.
import type { ParseArgsConfig } from 'node:util';
import { MiniCdnError } from '../common/errors.js';
import type { ConfigOverride } from '../config/load.js';
import type { ConfigPath } from '../config/shape.js';
import { adminTokenFlag, intFlag } from './args.js';

type FlagValue = string | boolean | string[];

export interface FlagRow {
  /** The flag without its dashes. */
  name: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The config key it sets. */
  path: ConfigPath;
  /** The flag's text (true for a boolean, the list for a repeated flag) as the key's value; MCDN_USAGE for text that is no value of its kind. */
  parse(value: FlagValue, flag: string): unknown;
  /** Beside --config, replaces the file's value instead of conflicting with it (several edges of one file). */
  overridesFile?: boolean;
}

const wholeNumber = (value: FlagValue, flag: string): number => intFlag(String(value), flag, 0);
const text = (value: FlagValue): string => String(value);

export const EDGE_FLAGS: readonly FlagRow[] = [
  { name: 'origin', type: 'string', multiple: true, path: ['origins'], parse: (urls) => (urls as string[]).map((url) => ({ url })) },
  { name: 'port', type: 'string', path: ['listen', 'port'], parse: wholeNumber, overridesFile: true },
  { name: 'host', type: 'string', path: ['listen', 'host'], parse: text, overridesFile: true },
  { name: 'redis', type: 'string', path: ['bus', 'redisUrl'], parse: text },
  { name: 'admin-port', type: 'string', path: ['admin', 'port'], parse: wholeNumber },
  { name: 'admin-token', type: 'string', path: ['admin', 'token'], parse: (value) => adminTokenFlag(String(value), '--admin-token') ?? null },
  { name: 'mode', type: 'string', path: ['defaults', 'mode'], parse: text },
  { name: 'edge-ttl-ms', type: 'string', path: ['defaults', 'edgeTtlMs'], parse: wholeNumber },
  { name: 'max-bytes', type: 'string', path: ['cache', 'maxBytes'], parse: wholeNumber },
  { name: 'max-object-bytes', type: 'string', path: ['cache', 'maxObjectBytes'], parse: wholeNumber },
  { name: 'no-access-log', type: 'boolean', path: ['logging', 'accessLog'], parse: () => false },
  { name: 'access-log-format', type: 'string', path: ['logging', 'accessLogFormat'], parse: text },
  {
    name: 'workers',
    type: 'string',
    path: ['workers'],
    parse: (value) => {
      if (value === 'auto') return 'auto';
      if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new MiniCdnError('MCDN_USAGE', `--workers takes a positive whole number or auto, got '${String(value)}'`);
      return Number(value);
    },
  },
];

/**
 * Flags about this process rather than settings: which file, whether to watch it, this edge's id
 * on the bus (per process: several edges share one file), and print-and-exit.
 */
export const PROCESS_FLAGS = {
  config: { type: 'string' },
  watch: { type: 'boolean' },
  id: { type: 'string' },
  'print-config': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** The parseArgs options of `edge`: every row of the table and the process flags. */
export function edgeParseOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { ...PROCESS_FLAGS };
  for (const row of EDGE_FLAGS) options[row.name] = row.multiple ? { type: row.type, multiple: true } : { type: row.type };
  return options;
}

/** The config keys the given flags set, in table order. */
export function overridesFromFlags(values: Record<string, FlagValue | undefined>): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  for (const row of EDGE_FLAGS) {
    const value = values[row.name];
    if (value === undefined) continue;
    const flag = `--${row.name}`;
    overrides.push({ path: row.path, value: row.parse(value, row.name), source: flag, ...(row.overridesFile ? { overridesFile: true } : {}) });
  }
  return overrides;
}

/** The flag that sets the key at `path`, or undefined. */
export function flagOf(path: ConfigPath): string | undefined {
  const row = EDGE_FLAGS.find((r) => r.path.length === path.length && r.path.every((p, i) => p === path[i]));
  return row ? `--${row.name}` : undefined;
}
