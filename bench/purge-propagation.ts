// Purge propagation: from publish to applied on every one of N edges (N = 1, 4, 8), each edge a
// separate process on a Redis of the bench's own. Each round changes a resource at the origin,
// publishes its purge and waits for the receipt; the edges measure publish-to-applied (tookMs,
// same host clock). Meanwhile a client keeps asking every edge for the resource and counts the
// answers that still carried the old version although the request was sent after the publish.
// Each N runs twice: quiet (nothing but the purges) and probing (every edge busy answering).
// Usage: node dist/bench/purge-propagation.js [--rounds N] [--edges 1,4,8] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { createBus } from '../edge/bus/index.js';
import { publishInvalidation } from '../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../edge/bus/types.js';
import { BIN, startNode } from './processes.js';
import type { Started } from './processes.js';
import { startBenchRedis } from './redis.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' }, edges: { type: 'string', default: '1,4,8' }, json: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const EDGE_COUNTS = (values.edges ?? '1,4,8').split(',').map(Number);
const SECRET = 'bench-secret-0123456789';
const signing = { current: 'k1', keys: { k1: SECRET } };
const PATH = '/static/app.js'; // max-age one year at the demo origin: only a purge makes edges refetch it

interface Row {
  edges: number;
  load: 'quiet' | 'probing';
  rounds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  incompleteReceipts: number;
  staleAfterPublish: number;
  answersAfterPublish: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function version(url: string): Promise<number> {
  const res = await request(url + PATH);
  const text = await res.body.text();
  return Number(/^v(\d+)$/.exec(text)?.[1] ?? -1);
}

async function scenario(edgeCount: number): Promise<Row[]> {
  const redis = await startBenchRedis();
  const edgeEnv = { ...process.env, MINI_CDN_REDIS_URL: redis.url, MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: 'k1' };
  // The origin gets no bus: the bench publishes each purge itself, after the change.
  const originEnv = { ...process.env };
  delete originEnv['MINI_CDN_REDIS_URL'];
  const started: Started[] = [];
  const bus = createBus({ ...DEFAULT_BUS_OPTIONS, signing, redisUrl: redis.url });
  try {
    const origin = await startNode('origin', BIN, ['origin', '--port', '0'], { env: originEnv });
    started.push(origin);
    const edges: Started[] = [];
    for (let i = 0; i < edgeCount; i++) edges.push(await startNode(`edge-${i}`, BIN, ['edge', '--origin', origin.url, '--port', '0', '--id', `bench-edge-${i}`, '--no-access-log'], { env: edgeEnv }));
    started.push(...edges);
    for (let tries = 0; (await bus.liveEdges()).length < edgeCount && tries < 100; tries++) await new Promise((r) => setTimeout(r, 50));

    const rows: Row[] = [];
    for (const load of ['quiet', 'probing'] as const) {
      const took: number[] = [];
      let incomplete = 0;
      let stale = 0;
      let answers = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        await request(origin.url + PATH, { method: 'PUT', body: `v${round}`, headers: { 'content-type': 'text/plain' } }).then((r) => r.body.dump());
        // Every edge still holds the previous version until the purge reaches it.
        await Promise.all(edges.map((edge) => version(edge.url)));
        let publishedAt = Infinity;
        let publishing = load === 'probing';
        const probe = async (edge: Started): Promise<void> => {
          while (publishing) {
            const sentAt = Date.now();
            const seen = await version(edge.url);
            if (sentAt >= publishedAt) {
              answers++;
              if (seen < round) stale++;
            }
          }
        };
        const probes = edges.map((edge) => probe(edge));
        publishedAt = Date.now();
        const { receipt } = await publishInvalidation(bus, { urls: [`${origin.url}${PATH}`] }, { waitMs: 2_000 });
        publishing = false;
        await Promise.all(probes);
        if (!receipt?.complete) incomplete++;
        for (const edge of receipt?.confirmed ?? []) took.push(edge.tookMs);
      }
      took.sort((a, b) => a - b);
      rows.push({ edges: edgeCount, load, rounds: ROUNDS, p50Ms: percentile(took, 50), p99Ms: percentile(took, 99), maxMs: took[took.length - 1] ?? NaN, incompleteReceipts: incomplete, staleAfterPublish: stale, answersAfterPublish: answers });
    }
    return rows;
  } finally {
    await bus.close();
    for (const p of started.reverse()) await p.stop();
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const n of EDGE_COUNTS) {
    process.stderr.write(`purge propagation with ${n} edge(s), ${ROUNDS} rounds...\n`);
    rows.push(...(await scenario(n)));
  }
  const lines = ['| edges | load | rounds | p50 ms | p99 ms | max ms | incomplete receipts | stale answers after publish |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.edges} | ${r.load} | ${r.rounds} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.incompleteReceipts} | ${r.load === 'quiet' ? '-' : `${r.staleAfterPublish} of ${r.answersAfterPublish}`} |`);
  process.stdout.write(lines.join('\n') + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify({ scenario: 'purge-propagation', rows }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
