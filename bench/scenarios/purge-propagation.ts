// Purge propagation: from publish to applied on every one of N edges, each edge a separate
// process on a Redis of the bench's own. Each round changes a resource at the demo origin,
// publishes its purge with the publisher SDK and waits for the receipt. Two figures: the
// publisher's publish-to-complete (from the publish call to the complete receipt: what an origin
// waits, and what the goals judge) and each edge's publish-to-applied (tookMs, the ack each edge
// measured, same host clock). Each N runs twice: quiet (nothing but the purges)
// and probing (a client keeps asking every edge for the resource and counts the answers that
// still carried the old version although the request was sent after the publish).
import { performance } from 'node:perf_hooks';
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
/** Publish-to-complete p99 limits (quiet), per edge count (issue 11). */
const GOALS: ReadonlyArray<{ edges: number; p99Ms: number }> = [
  { edges: 8, p99Ms: 10 },
  { edges: 32, p99Ms: 20 },
];
const TITLE = 'Purge propagation: publish to applied on N edges over Redis';

type Load = 'quiet' | 'probing';

interface Phase {
  edges: number;
  load: Load;
  rounds: number;
  /** Per-edge acks (tookMs of every confirmed holder), ascending. */
  took: number[];
  /** Publish call to complete receipt, per complete receipt, ascending (fractional ms). */
  complete: number[];
  incomplete: number;
  stale: number;
  answers: number;
}

async function version(baseUrl: string): Promise<number> {
  const res = await request(baseUrl + PATH);
  const text = await res.body.text();
  return Number(/^v(\d+)$/.exec(text)?.[1] ?? -1);
}

/** Edges started at once: 32 node processes starting together on two shared cores miss startNode's 15 s. */
const START_BATCH = 8;

/**
 * Starts `count` edges, START_BATCH at a time; stops those that started if any fails. Pinned,
 * they alternate between the two cores: a fan-out to N processes on one core would measure their
 * queueing on it.
 */
async function startEdges(originUrl: string, redisUrl: string, count: number, pinned: boolean): Promise<Edge[]> {
  const env = cleanEnv({ MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: KEY_ID });
  const edges: Edge[] = [];
  for (let from = 0; from < count; from += START_BATCH) {
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(START_BATCH, count - from) }, (_, k) => from + k).map((i) =>
        startEdge(originUrl, { name: `edge-${i}`, args: ['--redis', redisUrl, '--id', `bench-edge-${i}`], env, ...(pinned ? { cpu: i % 2 } : {}) }),
      ),
    );
    edges.push(...settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(edges.map((e) => e.stop()));
      throw failed.reason;
    }
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
  const phase: Phase = { edges: edgeCount, load, rounds, took: [], complete: [], incomplete: 0, stale: 0, answers: 0 };
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
    const publishedAt = performance.now();
    const { message, receipt } = await publisher.invalidate({ urls: [`${origin.url}${PATH}`], waitMs: RECEIPT_WAIT_MS }).finally(() => {
      publishing = false;
    });
    const returnedAt = performance.now();
    await Promise.all(probes);
    // "After the publish": sent once the message had its number (issuedAtMs, the edges' tookMs origin too).
    for (const answer of seen) {
      if (answer.sentAt < message.issuedAtMs) continue;
      phase.answers++;
      if (answer.version < round) phase.stale++;
    }
    if (receipt?.complete) phase.complete.push(returnedAt - publishedAt);
    else phase.incomplete++;
    for (const edge of receipt?.confirmed ?? []) phase.took.push(edge.tookMs);
  }
  phase.took.sort((a, b) => a - b);
  phase.complete.sort((a, b) => a - b);
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

function p(values: readonly number[] | undefined, q: number): number | undefined {
  return values?.length ? percentile(values, q) : undefined;
}

/** Rounds per edge count and load: fewer at 32 edges, where a round costs 32 fills and 32 acks on two cores. */
function roundsFor(edges: number, quick: boolean): number {
  if (quick) return 20;
  return edges >= 32 ? 100 : 200;
}

/** A fractional figure to 0.1 ms for the table (complete times are measured with performance.now()). */
function tenth(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value) ? null : Math.round(value * 10) / 10;
}

export const purgePropagation: Scenario = {
  name: 'purge-propagation',
  title: TITLE,
  needsRedis: true,
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const began = Date.now();
    const edgeCounts = ctx.quick ? [1, 2] : [1, 4, ...GOALS.map((g) => g.edges)];
    const phases: Phase[] = [];
    const failures = new Map<number, string>();
    for (const n of edgeCounts) {
      const rounds = roundsFor(n, ctx.quick);
      ctx.progress.line(`  ${n} edge(s), ${rounds} rounds quiet + ${rounds} probing`);
      // One edge count that fails (an edge that does not start) does not lose the others' figures.
      try {
        phases.push(...(await measure(n, rounds, rounds / 10, ctx)));
      } catch (err) {
        failures.set(n, err instanceof Error ? err.message : String(err));
      }
    }
    if (failures.size === edgeCounts.length) throw new Error([...failures.values()].join('; '));

    const rows: Array<Record<string, Cell>> = phases.map((ph) => ({
      edges: ph.edges,
      load: ph.load,
      rounds: ph.rounds,
      completeP50: tenth(p(ph.complete, 50)),
      completeP99: tenth(p(ph.complete, 99)),
      completeMax: tenth(ph.complete.at(-1)),
      p50: p(ph.took, 50) ?? null,
      p99: p(ph.took, 99) ?? null,
      max: ph.took.at(-1) ?? null,
      incomplete: ph.incomplete,
      stale: ph.load === 'quiet' ? null : `${ph.stale} / ${ph.answers}`,
    }));
    const chart: Chart = {
      kind: 'bar',
      title: 'Publish to complete receipt (publisher) and to applied (per edge ack), per edge count and load',
      unit: 'ms',
      groups: phases.map((ph) => ({
        label: `${ph.edges} edge${ph.edges > 1 ? 's' : ''}, ${ph.load}`,
        bars: [
          { name: 'complete p50', value: p(ph.complete, 50) ?? 0 },
          { name: 'complete p99', value: p(ph.complete, 99) ?? 0 },
          { name: 'ack p50', value: p(ph.took, 50) ?? 0 },
          { name: 'ack p99', value: p(ph.took, 99) ?? 0 },
        ],
      })),
    };
    const incomplete = phases.reduce((sum, ph) => sum + ph.incomplete, 0);
    const totalRounds = phases.reduce((sum, ph) => sum + ph.rounds, 0);
    const goals: GoalResult[] = GOALS.map((g) => {
      const phase = phases.find((ph) => ph.edges === g.edges && ph.load === 'quiet');
      return judge(`publish-to-complete p99 across ${g.edges} edges`, p(phase?.complete, 99), g.p99Ms, {
        atLeast: false,
        strict: true,
        unit: 'ms',
        detail: phase ? `quiet, ${phase.complete.length} complete receipts over ${phase.rounds} rounds, max ${fixed(phase.complete.at(-1), 1)} ms; per-edge ack p99 ${fixed(p(phase.took, 99))} ms` : undefined,
        why: failures.has(g.edges) ? `${g.edges} edges failed: ${failures.get(g.edges) ?? ''}` : `quick mode runs ${edgeCounts.join(' and ')} edges, not ${g.edges}`,
      });
    });
    goals.push(judge('incomplete receipts', incomplete, 0, { atLeast: false, detail: `${totalRounds} purges, receipt wait ${RECEIPT_WAIT_MS} ms` }));
    const notes: string[] = [...failures].map(([n, why]) => `${n} edge(s) failed, no figures: ${why}`);
    if (ctx.durationS !== undefined) notes.push('--duration does not apply: this scenario runs a fixed number of rounds per edge count and load');
    if (!ctx.pinned) notes.push('processes are not pinned: the edges share the cores with the bench and with each other');
    const roundsLine = [...new Set(edgeCounts.map((n) => roundsFor(n, ctx.quick)))].length === 1 ? `${roundsFor(edgeCounts[0] as number, ctx.quick)} rounds` : edgeCounts.map((n) => `${roundsFor(n, ctx.quick)} rounds at ${n}`).join(', ');
    return {
      scenario: 'purge-propagation',
      title: TITLE,
      method:
        `Per edge count (${edgeCounts.join(', ')}), its own redis-server and demo origin, edges pinned alternately to cores 0 and 1; ${roundsLine} (per load), each: change ${PATH} at the origin, publish its purge with the publisher SDK and wait ≤ ${RECEIPT_WAIT_MS} ms for the receipt (after a tenth as many uncounted warm-up rounds). ` +
        'Complete = from the publish call to the receipt returning complete, measured by the publisher (performance.now(), complete receipts only): the figure the goals judge. ' +
        'Ack = the edges\' own publish-to-applied (tookMs of each confirmed holder, one host clock), in whole ms. Probing: a client keeps requesting the resource from every edge meanwhile; stale = answers with the old version to requests sent at or after the purge message was issued (issuedAtMs).',
      columns: [
        { key: 'edges', label: 'edges' },
        { key: 'load', label: 'load' },
        { key: 'rounds', label: 'rounds' },
        { key: 'completeP50', label: 'complete p50 ms' },
        { key: 'completeP99', label: 'complete p99 ms' },
        { key: 'completeMax', label: 'complete max ms' },
        { key: 'p50', label: 'ack p50 ms' },
        { key: 'p99', label: 'ack p99 ms' },
        { key: 'max', label: 'ack max ms' },
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
