// Redis outage: no purge may be lost when the bus's Redis goes away and comes back empty (no
// persistence: the stream and the sequence counter are gone, a new epoch begins). Edges warm M
// long-lived objects; a publisher (SDK, retrying) purges them one by one while the bench stops
// Redis a third of the way in and starts it again on the same port. Once every edge is back in
// sync, each object is requested from each edge: a hit is a lost purge; a miss means the purge
// was applied, a revalidation that the edge's resync (whole-cache soft purge) covered it.
import { createPublisher } from '../../origin/publisher.js';
import type { Publisher } from '../../origin/publisher.js';
import { ADMIN_TOKEN, cleanEnv, fetchCacheStatus, startBenchOrigin, startEdge } from '../nodes.js';
import type { Edge } from '../nodes.js';
import type { Started } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import type { BenchRedis } from '../redis.js';
import { judge } from '../stats.js';
import type { Chart, Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const SECRET = 'bench-secret-0123456789';
const KEY_ID = 'k1';
const TITLE = 'Redis outage: purges published across a Redis restart reach every edge';
const INTERVAL_MS = 20;
const RETRY_FOR_MS = 30_000; // the publisher rides out the outage
const objectPath = (i: number): string => `/obj/p-${i}?ttl=31536000`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AdminStats {
  edge: { id: string; applied: number; resyncs: number };
  bus: { state: string; epoch?: string; lastAppliedSeq: number; replayed: number; reconnects: number; gaps: number };
}

async function readStats(edge: Edge): Promise<AdminStats> {
  const res = await fetch(`${edge.adminUrl}/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${edge.adminUrl}/stats answered ${res.status}`);
  return (await res.json()) as AdminStats;
}

/** This cache's verdict from its own (the last) Cache-Status member. */
function verdict(cacheStatus: string): 'hit' | 'revalidated' | 'miss' | 'other' {
  const params = (cacheStatus.split(',').at(-1) ?? '').split(';').slice(1).map((s) => s.trim());
  if (params.includes('hit')) return 'hit';
  if (params.includes('fwd=stale')) return 'revalidated';
  if (params.some((p) => /^fwd=(uri-|vary-)?miss$/.test(p))) return 'miss';
  return 'other';
}

/** Polls every edge's /stats: did it leave 'in-sync' during the outage, and when was it back? */
function watchSync(edges: Edge[], restarted: { at?: number }) {
  const left = edges.map(() => false);
  const backAt: Array<number | undefined> = edges.map(() => undefined);
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        edges.map(async (edge, i) => {
          const stats = await readStats(edge).catch(() => undefined);
          if (stats === undefined) return;
          if (stats.bus.state !== 'in-sync') left[i] = true;
          else if (left[i] && restarted.at !== undefined && backAt[i] === undefined) backAt[i] = Date.now();
        }),
      );
      await sleep(25);
    }
  })();
  return {
    left,
    backAt,
    async stop(): Promise<void> {
      running = false;
      await loop;
    },
  };
}

async function outage(redis: BenchRedis, downMs: number, restarted: { at?: number }): Promise<{ lengthMs: number; stoppedAt: number }> {
  const stoppedAt = Date.now();
  await redis.stop();
  await sleep(downMs);
  await redis.start();
  restarted.at = Date.now();
  return { lengthMs: restarted.at - stoppedAt, stoppedAt };
}

type Invalidation = Awaited<ReturnType<Publisher['invalidate']>>['message'];
type Outcome = { index: number; message: Invalidation } | { index: number; error: string };

export const redisOutage: Scenario = {
  name: 'redis-outage',
  title: TITLE,
  needsRedis: true,
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const began = Date.now();
    const edgeCount = ctx.quick ? 2 : 3;
    const objects = ctx.quick ? 60 : 300;
    const downMs = ctx.quick ? 1_000 : 2_000;
    const syncTimeoutMs = 30_000;
    const settleMs = ctx.quick ? 500 : 1_000;
    const cpu = ctx.pinned ? { cpu: 1 } : {};
    const notes: string[] = [];

    const redis = await startBenchRedis();
    const started: Started[] = [];
    const publisher = createPublisher({ redisUrl: redis.url, signing: { current: KEY_ID, keys: { [KEY_ID]: SECRET } }, retryForMs: RETRY_FOR_MS });
    let watch: ReturnType<typeof watchSync> | undefined;
    try {
      const origin = await startBenchOrigin(cpu);
      started.push(origin);
      const env = cleanEnv({ MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: KEY_ID });
      const edges: Edge[] = [];
      for (let i = 0; i < edgeCount; i++) {
        const edge = await startEdge(origin.url, { name: `edge-${i}`, args: ['--redis', redis.url, '--id', `outage-edge-${i}`], env, ...cpu });
        started.push(edge);
        edges.push(edge);
      }

      ctx.progress.line(`  warming ${objects} objects on ${edgeCount} edges`);
      for (const edge of edges) {
        for (let i = 0; i < objects; i++) {
          await fetchCacheStatus(edge.url + objectPath(i));
          const status = await fetchCacheStatus(edge.url + objectPath(i));
          if (verdict(status) !== 'hit') throw new Error(`${edge.url}${objectPath(i)} is not a hit after warming: ${status}`);
        }
      }

      // One hard purge per object every INTERVAL_MS, without waiting for one before the next (the
      // origin's changes do not stop for the outage); Redis goes down a third of the way in.
      ctx.progress.line(`  publishing ${objects} purges, one every ${INTERVAL_MS} ms; Redis down for ${downMs} ms from purge ${Math.floor(objects / 3)}`);
      const restarted: { at?: number } = {};
      const sync = watchSync(edges, restarted);
      watch = sync;
      const pending: Array<Promise<Outcome>> = [];
      let outageRun: Promise<{ lengthMs: number; stoppedAt: number }> | undefined;
      const t0 = Date.now();
      for (let i = 0; i < objects; i++) {
        if (i === Math.floor(objects / 3)) {
          outageRun = outage(redis, downMs, restarted);
          outageRun.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
        }
        pending.push(
          publisher.invalidate({ urls: [origin.url + objectPath(i)] }).then(
            ({ message }) => ({ index: i, message }),
            (err: unknown) => ({ index: i, error: err instanceof Error ? err.message : String(err) }),
          ),
        );
        ctx.progress.status(`published ${i + 1}/${objects}`);
        await sleep(Math.max(0, t0 + (i + 1) * INTERVAL_MS - Date.now()));
      }
      const { lengthMs, stoppedAt } = await (outageRun as Promise<{ lengthMs: number; stoppedAt: number }>);
      const outcomes = await Promise.all(pending);
      const published = outcomes.flatMap((o) => ('message' in o ? [o] : []));
      const gaveUp = outcomes.flatMap((o) => ('error' in o ? [o] : []));
      if (gaveUp.length) notes.push(`the publisher gave up on ${gaveUp.length} purge(s), e.g. p-${gaveUp[0]?.index}: ${gaveUp[0]?.error}`);

      // In sync, and caught up to the last purge that got through.
      const last = published.map((o) => o.message).sort((a, b) => a.issuedAtMs - b.issuedAtMs || a.seq - b.seq).at(-1);
      ctx.progress.line(`  waiting for every edge to be in sync${last ? ` at epoch ${last.epoch} seq ${last.seq}` : ''}`);
      const syncDeadline = Date.now() + syncTimeoutMs;
      let lagging: string[] = [];
      for (;;) {
        const all = await Promise.all(edges.map((edge) => readStats(edge)));
        lagging = all.filter((s) => s.bus.state !== 'in-sync' || (last !== undefined && (s.bus.epoch !== last.epoch || s.bus.lastAppliedSeq < last.seq))).map((s) => `${s.edge.id} (${s.bus.state}, epoch ${s.bus.epoch ?? '-'}, seq ${s.bus.lastAppliedSeq})`);
        if (lagging.length === 0 || Date.now() > syncDeadline) break;
        await sleep(50);
      }
      await sync.stop();
      if (lagging.length) notes.push(`not in sync ${syncTimeoutMs / 1000} s after the last publish: ${lagging.join(', ')}`);
      const neverLeft = edges.filter((_, i) => !sync.left[i]).map((e) => e.url);
      if (neverLeft.length) notes.push(`edges that never reported a state other than in-sync during the outage: ${neverLeft.join(', ')}`);
      await sleep(settleMs);

      // End to end: no edge may still serve the copy it held before its purge.
      const final = await Promise.all(edges.map((edge) => readStats(edge)));
      const publishedIdx = new Set(published.map((o) => o.index));
      const perEdge = await Promise.all(
        edges.map(async (edge) => {
          const count = { miss: 0, revalidated: 0, hit: 0, other: 0, hitUnpublished: 0 };
          const lost: number[] = [];
          for (let i = 0; i < objects; i++) {
            const v = verdict(await fetchCacheStatus(edge.url + objectPath(i)));
            if (v === 'hit' && !publishedIdx.has(i)) count.hitUnpublished++;
            else count[v]++;
            if (v === 'hit' && publishedIdx.has(i)) lost.push(i);
          }
          return { count, lost };
        }),
      );
      const lostTotal = perEdge.reduce((sum, e) => sum + e.count.hit, 0);
      const resyncs = final.reduce((sum, s) => sum + s.edge.resyncs, 0);
      const backTimes = sync.backAt.map((at) => (at !== undefined && restarted.at !== undefined ? at - restarted.at : undefined));
      const backInSyncMs = backTimes.every((t) => t !== undefined) ? Math.max(...(backTimes as number[])) : null;
      final.forEach((s, i) => {
        const e = perEdge[i];
        notes.push(
          `${s.edge.id}: ${s.edge.applied} purges applied (${s.bus.replayed} from replay), ${s.edge.resyncs} resync(s), ${s.bus.reconnects} reconnect(s), ${s.bus.gaps} gap(s); ` +
            `after: ${e?.count.miss} deleted, ${e?.count.revalidated} revalidated, ${e?.count.hit} lost, ${e?.count.other} other; back in sync ${backTimes[i] ?? '-'} ms after the restart`,
        );
        if (e?.lost.length) {
          const at = (idx: number): string => {
            const o = published.find((p) => p.index === idx);
            return o ? `p-${idx} (epoch ${o.message.epoch} seq ${o.message.seq}, issued ${o.message.issuedAtMs - stoppedAt} ms after the stop)` : `p-${idx}`;
          };
          notes.push(`${s.edge.id} still served as hits: ${e.lost.slice(0, 10).map(at).join(', ')}${e.lost.length > 10 ? ', ...' : ''}`);
        }
        if (e?.count.hitUnpublished) notes.push(`${s.edge.id}: ${e.count.hitUnpublished} hit(s) for purges the publisher gave up on (not counted as lost)`);
      });

      const chart: Chart = {
        kind: 'bar',
        title: 'What became of each purge, per edge',
        unit: 'objects',
        groups: final.map((s, i) => ({
          label: s.edge.id,
          bars: [
            { name: 'applied (live or replayed)', value: perEdge[i]?.count.miss ?? 0 },
            { name: 'covered by resync', value: perEdge[i]?.count.revalidated ?? 0 },
            { name: 'lost', value: perEdge[i]?.count.hit ?? 0 },
          ],
        })),
      };
      return {
        scenario: 'redis-outage',
        title: TITLE,
        method:
          `${edgeCount} edges (own redis-server without persistence, bench origin) each warm ${objects} objects with max-age one year; the publisher SDK (retrying ${RETRY_FOR_MS / 1000} s) sends one hard purge per object every ${INTERVAL_MS} ms ` +
          `while Redis is stopped by its PID a third of the way in and started again empty on the same port ~${downMs} ms later. Once every edge is in sync, each object is requested from each edge: a hit means a lost purge; a revalidation means the edge's resync covered it.`,
        columns: [
          { key: 'edges', label: 'edges' },
          { key: 'published', label: 'purges published' },
          { key: 'gaveUp', label: 'publisher give-ups' },
          { key: 'lost', label: 'purges lost (hits after)' },
          { key: 'covered', label: 'covered by resync (revalidated)' },
          { key: 'resyncs', label: 'edge resyncs' },
          { key: 'outageMs', label: 'outage ms' },
          { key: 'backInSyncMs', label: 'back in sync ms (after restart)' },
        ],
        rows: [
          {
            edges: edgeCount,
            published: published.length,
            gaveUp: gaveUp.length,
            lost: lostTotal,
            covered: perEdge.reduce((sum, e) => sum + e.count.revalidated, 0),
            resyncs,
            outageMs: lengthMs,
            backInSyncMs,
          },
        ],
        charts: [chart],
        goals: [
          judge('purges lost across a Redis restart', lostTotal, 0, { atLeast: false, detail: `${published.length} purges × ${edgeCount} edges checked` }),
          judge('purges the publisher gave up on', gaveUp.length, 0, { atLeast: false, detail: `of ${objects}, retrying for ${RETRY_FOR_MS / 1000} s` }),
        ],
        notes,
        durationS: (Date.now() - began) / 1000,
      };
    } finally {
      await watch?.stop();
      await publisher.close();
      for (const p of started.reverse()) await p.stop();
      await redis.stop();
    }
  },
};
