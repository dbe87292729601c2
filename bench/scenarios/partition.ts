// Partition: one of three callback-mode edges (CLI processes, default bus timing) is cut off from
// Redis through a TCP relay (bytes held both ways, half-open, reset) or Redis is frozen
// (SIGSTOP). Measured per fault: how long until the cut edge stops trusting copies past freshness
// (its lease, from /stats) and leaves 'in-sync', how long a purge published at the cut takes to
// return its receipt, what the receipt says of the cut edge, and whether the cut edge served a
// copy on the callback's word after the receipt said complete (must never happen).
import { performance } from 'node:perf_hooks';
import { createPublisher } from '../../origin/publisher.js';
import type { Publisher } from '../../origin/publisher.js';
import { ADMIN_TOKEN, cleanEnv, fetchCacheStatus, startEdge } from '../nodes.js';
import type { Edge } from '../nodes.js';
import { BIN, startNode } from '../processes.js';
import type { Started } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import type { BenchRedis } from '../redis.js';
import { judge } from '../stats.js';
import { startTcpRelay } from '../tcp-relay.js';
import type { TcpRelay } from '../tcp-relay.js';
import type { Cell, Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const SECRET = 'bench-secret-0123456789';
const KEY_ID = 'k1';
const TITLE = 'Partition: one edge of three cut off from Redis, or Redis frozen';
/** The defaults of bus.leaseMs and bus.leaseMarginMs (the edges run without a config file). */
const LEASE_MS = 3_000;
const MARGIN_MS = 1_000;
const RECEIPT_WAIT_MS = 10_000;
const WATCH_MS = 15_000;
/** How often the cut edge's /stats is read: the figures are late by up to this plus a round trip. */
const POLL_MS = 5;
const FAULTS = ['hold', 'half-open', 'reset', 'freeze'] as const;
type Fault = (typeof FAULTS)[number];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type PurgeReceipt = NonNullable<Awaited<ReturnType<Publisher['invalidate']>>['receipt']>;

interface BusStats {
  state: string;
  leaseValidForMs: number;
}

interface Round {
  fault: Fault;
  trustEndsMs?: number;
  leavesSyncMs?: number;
  publishMs?: number;
  verdict: string;
  complete?: boolean;
  staleAfterComplete: boolean;
}

async function busStats(edge: Edge): Promise<BusStats | undefined> {
  try {
    const res = await fetch(`${edge.adminUrl}/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { bus: BusStats }).bus;
  } catch {
    return undefined;
  }
}

const trusting = (stats: BusStats | undefined): boolean => stats?.state === 'in-sync' && stats.leaseValidForMs > 0;

async function untilAll(edges: Edge[], test: (stats: BusStats | undefined) => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if ((await Promise.all(edges.map(busStats))).every(test)) return true;
    await sleep(50);
  }
  return false;
}

function verdictOf(receipt: PurgeReceipt | undefined, edgeId: string): string {
  if (!receipt) return 'no receipt';
  if (receipt.confirmed.some((c) => c.edgeId === edgeId)) return 'confirmed';
  if (receipt.lapsed.includes(edgeId)) return 'lapsed';
  if (receipt.unknown.includes(edgeId)) return 'unknown';
  return 'not a holder';
}

async function oneRound(fault: Fault, n: number, setup: { redis: BenchRedis; relay: TcpRelay; edges: Edge[]; origin: Started; publish: (path: string) => Promise<PurgeReceipt | undefined> }): Promise<Round> {
  const { redis, relay, edges, origin } = setup;
  const cut = edges[2] as Edge;
  if (!(await untilAll(edges, trusting, 20_000))) throw new Error('the edges did not get back in sync with a lease');
  const path = `/status/200?cc=max-age%3D0&round=${fault}-${n}`;
  for (const edge of edges) {
    await fetchCacheStatus(edge.url + path);
    await fetchCacheStatus(edge.url + path);
  }
  const round: Round = { fault, verdict: '-', staleAfterComplete: false };
  const t0 = performance.now();
  if (fault === 'freeze') process.kill(redis.pid as number, 'SIGSTOP');
  else relay.setMode(fault);
  try {
    const watching = (async () => {
      while (performance.now() - t0 < WATCH_MS && (round.trustEndsMs === undefined || round.leavesSyncMs === undefined)) {
        const stats = await busStats(cut);
        const at = performance.now() - t0;
        if (stats && stats.leaseValidForMs === 0 && round.trustEndsMs === undefined) round.trustEndsMs = at;
        if (stats && stats.state !== 'in-sync' && round.leavesSyncMs === undefined) round.leavesSyncMs = at;
        await sleep(POLL_MS);
      }
    })();
    if (fault !== 'freeze') {
      const receipt = await setup.publish(`${origin.url}${path}`);
      round.publishMs = performance.now() - t0;
      round.verdict = verdictOf(receipt, 'bench-cut');
      round.complete = receipt?.complete;
      if (receipt?.complete) round.staleAfterComplete = /detail=callback(;|$)/.test(await fetchCacheStatus(cut.url + path));
    }
    await watching;
  } finally {
    if (fault === 'freeze') process.kill(redis.pid as number, 'SIGCONT');
    else relay.setMode('forward');
  }
  return round;
}

export const partition: Scenario = {
  name: 'partition',
  title: TITLE,
  needsRedis: true,
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const began = Date.now();
    const roundsPerFault = ctx.quick ? 1 : 3;
    const redis = await startBenchRedis();
    const relay = await startTcpRelay(redis.port);
    const started: Started[] = [];
    const publisher = createPublisher({ redisUrl: redis.url, signing: { current: KEY_ID, keys: { [KEY_ID]: SECRET } } });
    const rounds: Round[] = [];
    try {
      const origin = await startNode('origin', BIN, ['origin', '--port', '0'], { env: cleanEnv() });
      started.push(origin);
      const env = cleanEnv({ MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: KEY_ID });
      const edges: Edge[] = [];
      for (const name of ['bench-a', 'bench-b', 'bench-cut']) {
        const url = name === 'bench-cut' ? `redis://127.0.0.1:${relay.port}` : redis.url;
        const edge = await startEdge(origin.url, { name, args: ['--redis', url, '--id', name, '--mode', 'callback'], env });
        edges.push(edge);
        started.push(edge);
      }
      await sleep(LEASE_MS + MARGIN_MS); // a new registry is trusted after one lease + margin
      const publish = async (url: string): Promise<PurgeReceipt | undefined> => (await publisher.invalidate({ urls: [url], waitMs: RECEIPT_WAIT_MS })).receipt;
      for (const fault of FAULTS) {
        for (let n = 1; n <= roundsPerFault; n++) {
          ctx.progress.status(`${fault}: round ${n}/${roundsPerFault}`);
          rounds.push(await oneRound(fault, n, { redis, relay, edges, origin, publish }));
        }
      }
    } finally {
      await publisher.close();
      for (const p of started.reverse()) await p.stop();
      await relay.close();
      await redis.stop();
    }

    const max = (values: Array<number | undefined>): number | undefined => (values.some((v) => v === undefined) ? undefined : Math.max(...(values as number[])));
    const rows: Array<Record<string, Cell>> = FAULTS.map((fault) => {
      const of = rounds.filter((r) => r.fault === fault);
      return {
        fault,
        rounds: of.length,
        trustEnds: max(of.map((r) => r.trustEndsMs)) ?? null,
        leavesSync: max(of.map((r) => r.leavesSyncMs)) ?? null,
        publish: fault === 'freeze' ? null : (max(of.map((r) => r.publishMs)) ?? null),
        verdict: fault === 'freeze' ? null : [...new Set(of.map((r) => r.verdict))].join(', '),
        staleAfterComplete: of.filter((r) => r.staleAfterComplete).length,
      };
    });
    const chart: Chart = {
      kind: 'bar',
      title: 'From the cut: trust ends, in-sync left, receipt returned (max over rounds)',
      unit: 'ms',
      groups: rows.map((row) => ({
        label: String(row['fault']),
        bars: [
          { name: 'trust ends', value: Number(row['trustEnds'] ?? 0) },
          { name: 'leaves in-sync', value: Number(row['leavesSync'] ?? 0) },
          { name: 'receipt', value: Number(row['publish'] ?? 0) },
        ],
      })),
    };
    const detection = max(rounds.map((r) => r.leavesSyncMs));
    const publishes = rounds.filter((r) => r.fault !== 'freeze');
    const goals: GoalResult[] = [
      judge('cut edge leaves in-sync (max)', detection, LEASE_MS, { atLeast: false, unit: 'ms', detail: `bus.leaseMs ${LEASE_MS}` }),
      judge('receipt with one edge of three cut (max)', max(publishes.map((r) => r.publishMs)), 2 * LEASE_MS, { atLeast: false, unit: 'ms', detail: `lease + margin = ${LEASE_MS + MARGIN_MS} ms` }),
      judge('cut edge confirmed', publishes.filter((r) => r.verdict === 'confirmed').length, 0, { atLeast: false }),
      judge('served on the callback after complete', rounds.filter((r) => r.staleAfterComplete).length, 0, { atLeast: false }),
    ];
    const notes: string[] = [];
    if (ctx.durationS !== undefined) notes.push('--duration does not apply: this scenario runs rounds of faults');
    return {
      scenario: 'partition',
      title: TITLE,
      method:
        `Three callback-mode edges (CLI, default bus timing: lease ${LEASE_MS} ms, renewal 1000 ms, margin ${MARGIN_MS} ms, command timeout 2000 ms) on a redis-server of its own, the third through a TCP relay; ${roundsPerFault} round(s) per fault. ` +
        `At the cut: the cut edge's /stats polled every ${POLL_MS} ms (trust ends: leaseValidForMs 0; leaves in-sync: bus state), and (relay faults) a purge published at once with a ${RECEIPT_WAIT_MS} ms wait; times from the cut, the max over the rounds (the polling adds up to ${POLL_MS} ms plus a /stats round trip; by design the edge leaves in-sync at (send time of its last successful renewal) + leaseMs, before cut + leaseMs).`,
      columns: [
        { key: 'fault', label: 'fault' },
        { key: 'rounds', label: 'rounds' },
        { key: 'trustEnds', label: 'trust ends ms' },
        { key: 'leavesSync', label: 'leaves in-sync ms' },
        { key: 'publish', label: 'receipt ms' },
        { key: 'verdict', label: 'cut edge in receipt' },
        { key: 'staleAfterComplete', label: 'callback hits after complete' },
      ],
      rows,
      charts: [chart],
      goals,
      notes,
      durationS: (Date.now() - began) / 1000,
    };
  },
};
