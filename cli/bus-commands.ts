// Commands that talk to the bus: purge (with an optional receipt) and the list of live edges.
import { parseArgs } from 'node:util';
import { MiniCdnError } from '../common/errors.js';
import { createBus } from '../edge/bus/index.js';
import { publishInvalidation } from '../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../edge/bus/types.js';
import type { InvalidationBus, InvalidationRequest } from '../edge/bus/types.js';
import { checkConfigFile } from '../config/check.js';
import { intFlag, redisUrlFlag, signingFromEnv } from './args.js';

function redisBus(value: string | undefined): InvalidationBus {
  const redisUrl = redisUrlFlag(value ?? process.env['MINI_CDN_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  return createBus({ ...DEFAULT_BUS_OPTIONS, namespace: process.env['MINI_CDN_BUS_NAMESPACE'] ?? DEFAULT_BUS_OPTIONS.namespace, signing: signingFromEnv(process.env, true), redisUrl });
}

/** Exit status: 0 published (and, with --wait, complete: every lease holder confirmed or lapsed); 3 when the receipt is not complete. */
export async function runPurge(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string', multiple: true },
      prefix: { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      soft: { type: 'boolean' },
      wait: { type: 'string' },
      redis: { type: 'string' },
    },
  });
  const request: InvalidationRequest = { urls: values.url, prefixes: values.prefix, tags: values.tag, all: values.all, soft: values.soft };
  if (!request.urls && !request.prefixes && !request.tags && !request.all) {
    throw new MiniCdnError('MCDN_USAGE', 'purge needs --url U, --prefix P, --tag T or --all');
  }
  const waitMs = intFlag(values.wait, 'wait', 0);
  const bus = redisBus(values.redis);
  try {
    const { message, receipt } = await publishInvalidation(bus, request, { waitMs, retryForMs: 2_000 });
    process.stdout.write(`published invalidation ${message.id} (seq ${message.seq})\n`);
    if (!receipt) return 0;
    for (const edge of receipt.confirmed) process.stdout.write(`  confirmed  ${edge.edgeId}  ${edge.tookMs} ms\n`);
    for (const edgeId of receipt.lapsed) process.stdout.write(`  lapsed     ${edgeId}  (no ack; its lease ran out: it trusts no copy past freshness)\n`);
    for (const edgeId of receipt.unknown) process.stdout.write(`  UNKNOWN    ${edgeId}  (no ack, lease still running after ${waitMs} ms)\n`);
    if (receipt.registryReset) process.stdout.write('  REGISTRY RESET  (Redis lost its state within one lease: edges it forgot may still trust their copies)\n');
    const counts = `${receipt.confirmed.length} confirmed, ${receipt.lapsed.length} lapsed, ${receipt.unknown.length} unknown`;
    process.stdout.write(receipt.complete ? `complete: no edge can serve the purged copies past freshness (${counts})\n` : `NOT complete (${counts}${receipt.registryReset ? ', registry reset' : ''})\n`);
    return receipt.complete ? 0 : 3;
  } finally {
    await bus.close();
  }
}

export async function runEdges(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { redis: { type: 'string' } } });
  const bus = redisBus(values.redis);
  try {
    const edges = await bus.liveEdges();
    if (edges.length === 0) process.stdout.write('no live edges\n');
    for (const edge of edges) {
      const seen = edge.lastSeenMs ? `${Math.round((Date.now() - edge.lastSeenMs) / 100) / 10}s ago` : '?';
      process.stdout.write(`${edge.id}\t${edge.address}\tup since ${new Date(edge.startedAtMs).toISOString()}\tseen ${seen}\n`);
    }
    return 0;
  } finally {
    await bus.close();
  }
}

/** `mini-cdn config check FILE`: exit 0 with a summary, or 1 with every problem and its path. */
export async function runConfig(args: string[]): Promise<number> {
  const [sub, file, ...rest] = args;
  if (sub !== 'check' || !file || rest.length > 0) throw new MiniCdnError('MCDN_USAGE', 'usage: mini-cdn config check FILE');
  const result = await checkConfigFile(file);
  if (result.ok) {
    process.stdout.write(`${result.summary}\n`);
    return 0;
  }
  process.stderr.write(`${result.report}\n`);
  return 1;
}
