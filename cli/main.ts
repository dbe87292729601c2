// The command line. Stable: scripts and checks rely on these commands and flags.
import { parseArgs } from 'node:util';
import { MiniCdnError } from '../common/errors.js';
import { createDemoOrigin } from '../origin/demo-origin.js';
import { createProxyNode } from '../proxy/server/proxy-node.js';

const HELP = `mini-cdn: a caching HTTP reverse proxy and mini CDN

Usage:
  mini-cdn demo   [--port N]                   demo origin + an edge in front of it; prints URLs
  mini-cdn edge   --origin URL [--port N] [--host H] [--max-bytes N] [--max-object-bytes N]
  mini-cdn origin [--port N] [--host H]        the demo origin
  mini-cdn help
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  demo: runDemo,
  edge: runEdge,
  origin: runOrigin,
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

function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new MiniCdnError('MCDN_USAGE', `--${name} takes a whole number, got '${value}'`);
  return Number(value);
}

async function runOrigin(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const origin = createDemoOrigin();
  const url = await origin.listen(intFlag(values.port, 'port', 8080), values.host ?? '127.0.0.1');
  process.stdout.write(`mini-cdn origin listening on ${url}\n`);
  await untilSignal();
  await origin.close();
  return 0;
}

async function runEdge(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      origin: { type: 'string', multiple: true },
      port: { type: 'string' },
      host: { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-object-bytes': { type: 'string' },
    },
  });
  const [origin] = values.origin ?? [];
  if (!origin) throw new MiniCdnError('MCDN_USAGE', 'edge needs --origin URL');
  assertUrl(origin);
  const node = createProxyNode({
    origin,
    ...(values['max-bytes'] ? { maxBytes: intFlag(values['max-bytes'], 'max-bytes', 0) } : {}),
    ...(values['max-object-bytes'] ? { maxObjectBytes: intFlag(values['max-object-bytes'], 'max-object-bytes', 0) } : {}),
  });
  const url = await node.listen(intFlag(values.port, 'port', 8000), values.host ?? '127.0.0.1');
  process.stdout.write(`mini-cdn edge listening on ${url}, origin ${origin}\n`);
  await untilSignal();
  await node.close();
  return 0;
}

async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' } } });
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const edge = createProxyNode({ origin: originUrl });
  const edgeUrl = await edge.listen(intFlag(values.port, 'port', 8000));
  process.stdout.write(
    [
      `origin  ${originUrl}`,
      `edge    ${edgeUrl}`,
      '',
      'Try (watch the Cache-Status header):',
      `  curl -si ${edgeUrl}/news | grep -i cache-status          # miss, then a hit`,
      `  curl -si ${edgeUrl}/news | grep -i cache-status`,
      `  curl -si -H 'If-None-Match: *' ${edgeUrl}/news           # 304 from the cache`,
      `  sleep 6; curl -si ${edgeUrl}/news | grep -i cache-status # stale: revalidated, 304 from the origin`,
      `  curl -si -X PUT --data 'changed' ${edgeUrl}/news          # an unsafe method invalidates it`,
      `  curl -si ${edgeUrl}/news                                  # the new content, fetched again`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  await untilSignal();
  await edge.close();
  await origin.close();
  return 0;
}

function assertUrl(value: string): void {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:') throw new Error('only http: origins');
  } catch (err) {
    throw new MiniCdnError('MCDN_USAGE', `--origin must be an http:// URL (${(err as Error).message})`);
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
