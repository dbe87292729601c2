// Hit-path bench: the proxy answering from cache, against the origin fetched directly and a bare
// Node server answering from a buffer (the ceiling), at fixed connection counts, in one run.
// The measured servers run on core 1 and the load generator on core 0 (when taskset exists);
// targets alternate over several rounds and the median round counts, since this machine is
// shared and noisy. Prints a Markdown table with ratios; writes JSON with --json FILE.
// Usage: node dist/bench/hit.js [--duration S] [--rounds N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { BIN, cpuSeconds, pinSelf, startNode } from './processes.js';
import type { Started } from './processes.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '5' }, json: { type: 'string' } },
});
const DURATION_S = Number(values.duration);
const ROUNDS = Number(values.rounds);
const SERVER_CPU = 1;
const CONNECTIONS = [50, 200];
const PATH = '/big?kb=1'; // 1 KiB, max-age=60 at the demo origin

interface Row {
  target: string;
  connections: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** Server CPU per request (µs), when /proc tells. */
  cpuUsPerRequest: number | undefined;
}

async function load(url: string, connections: number): Promise<autocannon.Result> {
  return autocannon({ url: url + PATH, connections, duration: DURATION_S, pipelining: 1 });
}

async function main(): Promise<void> {
  const started: Started[] = [];
  try {
    const pinned = pinSelf(0);
    process.stderr.write(pinned ? 'servers pinned to core 1, load generator to core 0\n' : 'taskset not found: processes are not pinned\n');
    const origin = await startNode('origin', BIN, ['origin', '--port', '0'], { cpu: SERVER_CPU });
    started.push(origin);
    // Without access logs: this measures the cache (an access line per request costs its own share).
    const edge = await startNode('edge', BIN, ['edge', '--origin', origin.url, '--port', '0', '--no-access-log'], { cpu: SERVER_CPU });
    started.push(edge);
    const bare = await startNode('bare', fileURLToPath(new URL('./bare-server.js', import.meta.url)), ['0', '1024'], { cpu: SERVER_CPU });
    started.push(bare);

    const warm = await fetch(edge.url + PATH);
    await warm.arrayBuffer();
    const check = await fetch(edge.url + PATH);
    await check.arrayBuffer();
    if (!/hit/.test(check.headers.get('cache-status') ?? '')) throw new Error(`the edge did not cache ${PATH}: ${check.headers.get('cache-status')}`);

    const targets: Array<[string, Started]> = [['bare node (ceiling)', bare], ['origin direct', origin], ['mini-cdn hit', edge]];
    const rows: Row[] = [];
    for (const connections of CONNECTIONS) {
      const rounds = new Map<string, Row[]>(targets.map(([target]) => [target, []]));
      for (const [, server] of targets) await load(server.url, connections); // warm-up, discarded
      for (let round = 0; round < ROUNDS; round++) {
        // A new order each round, so that no target always runs first or last.
        for (const [target, server] of shuffled(targets)) {
          const cpuBefore = cpuSeconds(server.child.pid);
          const r = await load(server.url, connections);
          const cpuAfter = cpuSeconds(server.child.pid);
          const cpuUsPerRequest = cpuBefore === undefined || cpuAfter === undefined || r.requests.total === 0 ? undefined : ((cpuAfter - cpuBefore) * 1e6) / r.requests.total;
          rounds.get(target)?.push({ target, connections, requestsPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx, cpuUsPerRequest });
          process.stderr.write(`  round ${round + 1}: ${target} @${connections}: ${Math.round(r.requests.average)} req/s, ${cpuUsPerRequest?.toFixed(1) ?? '?'} µs CPU/request\n`);
        }
      }
      for (const [, list] of rounds) rows.push(median(list));
    }
    printTable(rows);
    if (values.json) writeFileSync(values.json, JSON.stringify({ scenario: 'hit', durationS: DURATION_S, rounds: ROUNDS, pinned, path: PATH, rows }, null, 2));
  } finally {
    for (const p of started.reverse()) await p.stop();
  }
}

/** Median throughput and median CPU per request over the rounds (latency from the median round). */
function median(list: Row[]): Row {
  const byThroughput = [...list].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  const mid = byThroughput[Math.floor(list.length / 2)] as Row;
  const cpu = list.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return { ...mid, cpuUsPerRequest: cpu.length ? cpu[Math.floor(cpu.length / 2)] : undefined };
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function printTable(rows: Row[]): void {
  const lines = [
    '| target | conns | req/s (median) | p50 ms | p99 ms | errors | CPU µs/req | req/s vs ceiling | CPU efficiency vs ceiling | req/s vs origin |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ceiling = rows.find((r) => r.connections === row.connections && r.target.startsWith('bare'));
    const origin = rows.find((r) => r.connections === row.connections && r.target === 'origin direct');
    const ratio = (base: Row | undefined): string => (base ? (row.requestsPerSec / base.requestsPerSec).toFixed(2) : '-');
    const efficiency = ceiling?.cpuUsPerRequest && row.cpuUsPerRequest ? (ceiling.cpuUsPerRequest / row.cpuUsPerRequest).toFixed(2) : '-';
    lines.push(
      `| ${row.target} | ${row.connections} | ${Math.round(row.requestsPerSec)} | ${row.p50Ms} | ${row.p99Ms} | ${row.errors + row.non2xx} | ${row.cpuUsPerRequest?.toFixed(1) ?? '-'} | ${ratio(ceiling)} | ${efficiency} | ${ratio(origin)} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
