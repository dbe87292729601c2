// Purge propagation: from publish to applied on every one of N edges, each edge a separate
// process on a Redis of the bench's own. Each round changes a resource at the demo origin,
// publishes its purge with the publisher SDK and waits for the receipt; the edges measure
// publish-to-applied (tookMs, same host clock). Each N runs twice: quiet (nothing but the purges)
// and probing (a client keeps asking every edge for the resource and counts the answers that
// still carried the old version although the request was sent after the publish).
import { request } from 'undici';
import { createPublisher } from '../../origin/publisher.js';
import type { Publisher } from '../../origin/publisher.js';
import { ADMIN_TOKEN, cleanEnv, startEdge } from '../nodes.js';
import type { Edge } from '../nodes.js';
import { BIN, startNode } from '../processes.js';
import type { Started } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import { fixed, judge, percentile } from '../stats.js';
import type { Cell, Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const SECRET = 'bench-secret-0123456789';
const KEY_ID = 'k1';
const PATH = '/static/app.js'; // max-age one year at the demo origin: only a purge makes edges refetch it
const RECEIPT_WAIT_MS = 2_000;
const GOAL_EDGES = 8;
const GOAL_P99_MS = 10;
const TITLE = 'Purge propagation: publish to applied on N edges over Redis';

type Load = 'quiet' | 'probing';

interface Phase {
  edges: number;
  load: Load;
  rounds: number;
  took: number[];
  incomplete: number;
  stale: number;
  answers: number;
}

async function version(baseUrl: string): Promise<number> {
  const res = await request(baseUrl + PATH);
  const text = await res.body.text();
  return Number(/^v(\d+)$/.exec(text)?.[1] ?? -1);
}

/**
 * Starts `count` edges at once; stops those that started if any fails. Pinned, they alternate
 * between the two cores: a fan-out to N processes on one core would measure their queueing on it.
 */
async function startEdges(originUrl: string, redisUrl: string, count: number, pinned: boolean): Promise<Edge[]> {
  const env = cleanEnv({ MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: KEY_ID });
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => startEdge(originUrl, { name: `edge-${i}`, args: ['--redis', redisUrl, '--id', `bench-edge-${i}`], env, ...(pinned ? { cpu: i % 2 } : {}) })),
  );
  const edges = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(edges.map((e) => e.stop()));
    throw failed.reason;
  }
  return edges;
}

/** bus.leaseMs + bus.leaseMarginMs at their defaults (the edges run without a config file). */
const REGISTRY_TRUST_MS = 4_000;

/**
 * Until the registry lists every edge (a receipt only waits for the lease holders of its
 * publish), and has outlived one lease + margin: a registry younger than that (a new Redis) is
 * treated as reset, and its receipts are never complete.
 */
async function waitUntilRegistered(edge: Edge, count: number): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const res = await fetch(`${edge.adminUrl}/edges`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { edges } = (await res.json()) as { edges: unknown[] };
    if (edges.length >= count) {
      await new Promise((r) => setTimeout(r, REGISTRY_TRUST_MS));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the registry did not list ${count} edges within 10 s`);
}

async function runPhase(edgeCount: number, load: Load, rounds: number, origin: Started, edges: Edge[], publisher: Publisher, ctx: ScenarioContext): Promise<Phase> {
  const phase: Phase = { edges: edgeCount, load, rounds, took: [], incomplete: 0, stale: 0, answers: 0 };
  for (let round = 1; round <= rounds; round++) {
    ctx.progress.status(`${edgeCount} edge(s), ${load}: round ${round}/${rounds}`);
    await request(origin.url + PATH, { method: 'PUT', body: `v${round}`, headers: { 'content-type': 'text/plain' } }).then((r) => r.body.dump());
    // Every edge holds a copy for the purge to delete (a hit, or a fill now).
    await Promise.all(edges.map((edge) => version(edge.url)));
    let publishing = load === 'probing';
    const seen: Array<{ sentAt: number; version: number }> = [];
    const probe = async (edge: Edge): Promise<void> => {
      while (publishing) {
        const sentAt = Date.now();
        seen.push({ sentAt, version: await version(edge.url) });
      }
    };
    const probes = edges.map((edge) => probe(edge));
    const { message, receipt } = await publisher.invalidate({ urls: [`${origin.url}${PATH}`], waitMs: RECEIPT_WAIT_MS }).finally(() => {
      publishing = false;
    });
    await Promise.all(probes);
    // "After the publish": sent once the message had its number (issuedAtMs, the edges' tookMs origin too).
    for (const answer of seen) {
      if (answer.sentAt < message.issuedAtMs) continue;
      phase.answers++;
      if (answer.version < round) phase.stale++;
    }
    if (!receipt?.complete) phase.incomplete++;
    for (const edge of receipt?.confirmed ?? []) phase.took.push(edge.tookMs);
  }
  phase.took.sort((a, b) => a - b);
  return phase;
}

async function measure(edgeCount: number, rounds: number, warmup: number, ctx: ScenarioContext): Promise<Phase[]> {
  const redis = await startBenchRedis();
  const started: Started[] = [];
  const publisher = createPublisher({ redisUrl: redis.url, signing: { current: KEY_ID, keys: { [KEY_ID]: SECRET } } });
  try {
    // The origin gets no bus (cleanEnv): the bench publishes each purge itself, after the change.
    const origin = await startNode('origin', BIN, ['origin', '--port', '0'], { env: cleanEnv(), ...(ctx.pinned ? { cpu: 1 } : {}) });
    started.push(origin);
    const edges = await startEdges(origin.url, redis.url, edgeCount, ctx.pinned);
    started.push(...edges);
    await waitUntilRegistered(edges[0] as Edge, edgeCount);
    // Rounds not counted: the first ones pay for connections and cold code in every process.
    await runPhase(edgeCount, 'quiet', warmup, origin, edges, publisher, ctx);
    const phases: Phase[] = [];
    for (const load of ['quiet', 'probing'] as const) phases.push(await runPhase(edgeCount, load, rounds, origin, edges, publisher, ctx));
    return phases;
  } finally {
    await publisher.close();
    for (const p of started.reverse()) await p.stop();
    await redis.stop();
  }
}

function p(phase: Phase | undefined, q: number): number | undefined {
  return phase ? percentile(phase.took, q) : undefined;
}

export const purgePropagation: Scenario = {
  name: 'purge-propagation',
  title: TITLE,
  needsRedis: true,
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const began = Date.now();
    const edgeCounts = ctx.quick ? [1, 2] : [1, 4, GOAL_EDGES];
    const rounds = ctx.quick ? 20 : 200;
    const warmup = rounds / 10;
    const phases: Phase[] = [];
    for (const n of edgeCounts) {
      ctx.progress.line(`  ${n} edge(s), ${rounds} rounds quiet + ${rounds} probing`);
      phases.push(...(await measure(n, rounds, warmup, ctx)));
    }

    const rows: Array<Record<string, Cell>> = phases.map((ph) => ({
      edges: ph.edges,
      load: ph.load,
      rounds: ph.rounds,
      p50: p(ph, 50) ?? null,
      p99: p(ph, 99) ?? null,
      max: ph.took.length ? (ph.took[ph.took.length - 1] as number) : null,
      incomplete: ph.incomplete,
      stale: ph.load === 'quiet' ? null : `${ph.stale} / ${ph.answers}`,
    }));
    const chart: Chart = {
      kind: 'bar',
      title: 'Publish to applied, per edge count and load',
      unit: 'ms',
      groups: phases.map((ph) => ({ label: `${ph.edges} edge${ph.edges > 1 ? 's' : ''}, ${ph.load}`, bars: [{ name: 'p50', value: p(ph, 50) ?? 0 }, { name: 'p99', value: p(ph, 99) ?? 0 }] })),
    };
    const goalPhase = phases.find((ph) => ph.edges === GOAL_EDGES && ph.load === 'quiet');
    const incomplete = phases.reduce((sum, ph) => sum + ph.incomplete, 0);
    const totalRounds = phases.reduce((sum, ph) => sum + ph.rounds, 0);
    const goals: GoalResult[] = [
      judge(`purge propagation p99 across ${GOAL_EDGES} edges`, p(goalPhase, 99), GOAL_P99_MS, {
        atLeast: false,
        strict: true,
        unit: 'ms',
        detail: goalPhase ? `quiet, ${goalPhase.took.length} acks over ${goalPhase.rounds} rounds, max ${fixed(goalPhase.took.at(-1))} ms` : undefined,
        why: `quick mode runs ${edgeCounts.join(' and ')} edges, not ${GOAL_EDGES}`,
      }),
      judge('incomplete receipts', incomplete, 0, { atLeast: false, detail: `${totalRounds} purges, receipt wait ${RECEIPT_WAIT_MS} ms` }),
    ];
    const notes: string[] = [];
    if (ctx.durationS !== undefined) notes.push(`--duration does not apply: this scenario runs ${rounds} rounds per edge count and load`);
    if (!ctx.pinned) notes.push('processes are not pinned: the edges share the cores with the bench and with each other');
    return {
      scenario: 'purge-propagation',
      title: TITLE,
      method:
        `Per edge count (${edgeCounts.join(', ')}), its own redis-server and demo origin; ${rounds} rounds of: change ${PATH} at the origin, publish its purge with the publisher SDK and wait ≤ ${RECEIPT_WAIT_MS} ms for the receipt (after ${warmup} uncounted warm-up rounds). ` +
        'Times are the edges\' own publish-to-applied (tookMs, one host clock), in whole ms. Probing: a client keeps requesting the resource from every edge meanwhile; stale = answers with the old version to requests sent at or after the purge message was issued (issuedAtMs).',
      columns: [
        { key: 'edges', label: 'edges' },
        { key: 'load', label: 'load' },
        { key: 'rounds', label: 'rounds' },
        { key: 'p50', label: 'p50 ms' },
        { key: 'p99', label: 'p99 ms' },
        { key: 'max', label: 'max ms' },
        { key: 'incomplete', label: 'incomplete receipts' },
        { key: 'stale', label: 'stale answers after publish / answers after publish' },
      ],
      rows,
      charts: [chart],
      goals,
      notes,
      durationS: (Date.now() - began) / 1000,
    };
  },
};
