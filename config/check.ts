// `mini-cdn config check FILE`: load a config as a node would, and say in one line what it sets
// up, or list every problem.
import { describeRedisTarget, parseRedisTarget } from '../common/redis-target.js';
import { ConfigError, loadConfigFile, type Config } from './load.js';

export type CheckResult = { ok: true; summary: string } | { ok: false; report: string };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The bus in one phrase, without credentials. */
function busSummary(bus: Config['bus']): string {
  if (bus.redisUrl !== null) return describeRedisTarget(parseRedisTarget(bus.redisUrl));
  if (bus.sentinelMaster !== null) return describeRedisTarget({ kind: 'sentinel', sentinels: [...bus.sentinels], name: bus.sentinelMaster });
  return 'in-process';
}

/** One line: "ok: 2 origins, 3 routes, bus redis://host:6379, admin on :9000". */
export function summarize(config: Config): string {
  const parts = [
    plural(config.origins.length, 'origin'),
    plural(config.routes.length, 'route'),
    `bus ${busSummary(config.bus)}`,
    config.admin.port === null ? 'no admin API' : `admin on ${config.admin.host === '127.0.0.1' ? '' : config.admin.host}:${config.admin.port}`,
    `listen ${config.listen.host}:${config.listen.port}`,
    `workers ${config.workers}`,
  ];
  return `ok: ${parts.join(', ')}`;
}

/** Loads `file` with the environment over it; never throws for a bad config, only for faults of its own. */
export async function checkConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  try {
    return { ok: true, summary: summarize(await loadConfigFile(file, env)) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const count = err.problems.length;
    return { ok: false, report: `${err.code}: ${file}: ${plural(count, 'problem')}\n${err.message}` };
  }
}
