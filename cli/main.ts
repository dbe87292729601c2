// The command line. Stable: scripts and checks rely on these commands and flags.
import { MiniCdnError } from '../common/errors.js';
import { runConfig, runEdges, runPurge } from './bus-commands.js';
import { runDemo, runEdge, runOrigin } from './serve.js';

const HELP = `mini-cdn: a caching HTTP reverse proxy and mini CDN

Usage:
  mini-cdn demo   [--port N] [--redis URL | --no-redis]
                  origin, a shield and two edges on one bus; prints URLs and curl lines
  mini-cdn edge   --config FILE [--watch] [--port N] [--host H] [--id ID] [FLAGS]  (SIGHUP reloads FILE)
  mini-cdn edge   --origin URL... [--port N] [--host H] [--redis URL] [--id ID]
                  [--admin-port N --admin-token T] [--mode ttl|callback|validate] [--edge-ttl-ms N]
                  [--max-bytes N] [--max-object-bytes N] [--no-access-log] [--access-log-format json|combined]
                  [--workers N|auto]   N > 1: N processes on one port (needs a Redis bus)
                  [--print-config]     print the resolved config as JSON (secrets hidden), exit 0
                  Each flag sets one config key: defaults, then FILE, then MINI_CDN_*, then flags.
                  Beside --config a flag may not contradict FILE (--port, --host, --id may).
  mini-cdn origin [--port N] [--host H] [--redis URL]   the demo origin (publishes its changes)
  mini-cdn purge  (--url U | --prefix P | --tag T | --all)... [--soft] [--wait MS] [--redis URL]
  mini-cdn edges  [--redis URL]                          live edges from the registry
  mini-cdn config check FILE                             validate a config file, print every problem
  mini-cdn bench  [SCENARIO...] [--quick] [--duration S] [--client auto|wrk|autocannon] [--out DIR] [--report FILE.html] [--list]
                  load scenarios against real processes on 127.0.0.1; JSON + Markdown report
  mini-cdn help

--redis URL: redis://host:port (or rediss://), or Redis Sentinel: redis-sentinel://host:port,host:port/MASTER.

Environment: every config key as MINI_CDN_<PATH> (MINI_CDN_CACHE__MAX_BYTES), with or without
--config; MINI_CDN_REDIS_URL (the same forms as --redis), MINI_CDN_BUS_SECRET (+ _KEY_ID, _PREVIOUS_SECRET, _PREVIOUS_KEY_ID),
MINI_CDN_ADMIN_TOKEN, MINI_CDN_BUS_NAMESPACE. With Redis, MINI_CDN_BUS_SECRET (16+ characters, the
same on every node) is required; admin tokens are 16+ characters.
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  demo: runDemo,
  edge: runEdge,
  origin: runOrigin,
  purge: runPurge,
  edges: runEdges,
  config: runConfig,
  // Loaded on demand: the load generator and its scenarios are not part of serving.
  bench: async (args) => {
    const { runBench, BenchUsageError } = await import('../bench/run.js');
    try {
      return await runBench(args);
    } catch (err) {
      if (err instanceof BenchUsageError) throw new MiniCdnError('MCDN_USAGE', err.message);
      throw err;
    }
  },
  help: async () => {
    process.stdout.write(HELP);
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  const command = COMMANDS[name === '--help' || name === '-h' ? 'help' : name];
  if (!command) {
    process.stderr.write(`MCDN_USAGE: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof MiniCdnError || code.startsWith('ERR_PARSE_ARGS_')) {
      const shown = err instanceof MiniCdnError ? err.code : 'MCDN_USAGE';
      process.stderr.write(`${shown}: ${(err as Error).message}\n`);
      return shown === 'MCDN_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
