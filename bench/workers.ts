// Hit throughput of one edge with 1 and with 2 workers, measured in one run: its own Redis (workers
// need the Redis bus), the demo origin, both edges started by the CLI; targets alternate over
// rounds and the median counts. Usage: node dist/bench/workers.js [--rounds N] [--duration S]
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { BIN, startNode } from './processes.js';
import type { Started } from './processes.js';
import { startBenchRedis } from './redis.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' } } });
const PATH = '/big?kb=1';

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const started: Started[] = [];
  try {
    const env = { ...process.env, MINI_CDN_REDIS_URL: redis.url, MINI_CDN_BUS_SECRET: 'bench-secret-0123456789' };
    const originEnv = { ...process.env };
    delete originEnv['MINI_CDN_REDIS_URL']; // the origin publishes nothing here
    const origin = await startNode('origin', BIN, ['origin', '--port', '0'], { env: originEnv });
    started.push(origin);
    const targets: Array<[string, Started]> = [];
    for (const workers of [1, 2]) {
      const edge = await startNode(`edge x${workers}`, BIN, ['edge', '--origin', origin.url, '--port', '0', '--workers', String(workers), '--no-access-log', '--id', `bench-w${workers}`], { env });
      started.push(edge);
      targets.push([`${workers} worker${workers > 1 ? 's' : ''}`, edge]);
    }
    // Warm every worker's cache: new connections are spread over the workers.
    for (const [, edge] of targets) for (let i = 0; i < 20; i++) await fetch(edge.url + PATH, { headers: { connection: 'close' } }).then((r) => r.arrayBuffer());
    const results = new Map<string, number[]>();
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [name, edge] of round % 2 ? [...targets].reverse() : targets) {
        const r = await autocannon({ url: edge.url + PATH, connections: 50, duration: Number(values.duration) });
        results.set(name, [...(results.get(name) ?? []), r.requests.average]);
        process.stderr.write(`  round ${round + 1}: ${name}: ${Math.round(r.requests.average)} req/s (${r.non2xx + r.errors} errors)\n`);
      }
    }
    const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
    const one = median(results.get('1 worker') ?? [NaN]);
    const two = median(results.get('2 workers') ?? [NaN]);
    process.stdout.write(`| workers | hit req/s (median, 50 connections) | vs 1 worker |\n|---|---|---|\n| 1 | ${Math.round(one)} | 1.00 |\n| 2 | ${Math.round(two)} | ${(two / one).toFixed(2)} |\n`);
  } finally {
    for (const p of started.reverse()) await p.stop();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
