// mixed: a bounded cache under a realistic mix: Zipf-popular URLs over a catalogue four times
// the cache, small objects with a few large ones, short-lived objects the edge revalidates and
// client conditionals it answers with 304. Watches hit ratio, RSS and store size every second;
// the long run is what the memory goals are defined on.
import type autocannon from 'autocannon';
import { runLoad } from '../load.js';
import { ADMIN_TOKEN, readEdgeStats, readOriginStats, resetOrigin, startBenchOrigin, startEdge } from '../nodes.js';
import type { Edge, EdgeStats } from '../nodes.js';
import { peakRssBytes, rssBytes } from '../processes.js';
import type { Started } from '../processes.js';
import { fixed, judge, median } from '../stats.js';
import type { Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult, Series } from '../types.js';
import { mulberry32, zipf } from '../zipf.js';

const MIB = 1024 * 1024;
const CONNECTIONS = 50;
/**
 * s = 1 and ttl 2–5 s: with the catalogue 4× the cache, misses dominate origin traffic; an LRU
 * simulation of this workload puts 304s near 9% of origin requests at 64 MiB (s = 0.9 with ttl
 * 5–10 s: under 2%, too few to exercise revalidation). The 4 MiB quick cache keeps too few
 * short-lived objects long enough to revalidate many: quick runs show almost none.
 */
const ZIPF_S = 1;
const CATALOGUE_FACTOR = 4;
const LARGE_SHARE = 0.05;
const SHORT_TTL_SHARE = 0.3;
const SHORT_TTL_MIN_S = 2;
const SHORT_TTL_MAX_S = 5;
const LONG_TTL_S = 3600;
const CONDITIONAL_SHARE = 0.12;
/**
 * RSS the edge may hold beyond its cache bytes under this load, none of it growing with the
 * cache bound: the V8 heap growing from idle to its working size (young generation up to 2 × 16
 * MiB semispaces, old-space slack between major collections: +51 MiB seen in a trial), Buffers
 * not yet collected (evicted bodies, socket reads and writes for 50 clients and the origin pool:
 * 10–38 MiB seen), and allocator fragmentation. A trial with a 4 MiB cache grew 107 MiB.
 */
const OVERHEAD_BYTES = 128 * MIB;
/** The leak check: median RSS over the last 20% of the run against the median over 40–60%. */
const TREND_LIMIT = 1.1;
/** Shorter runs end while the heap still grows to its working size (a few seconds in trials). */
const TREND_MIN_S = 30;

interface CatalogueObject {
  path: string;
  etag: string;
  bytes: number;
  shortTtl: boolean;
}

/** Size and lifetime follow from the id alone, so every run has the same catalogue. */
function objectOf(id: number): CatalogueObject {
  const random = mulberry32(id * 2_654_435_761);
  const kb = random() < LARGE_SHARE ? 32 + Math.floor(random() * 33) : 1 + Math.floor(random() * 8);
  const shortTtl = random() < SHORT_TTL_SHARE;
  const ttl = shortTtl ? SHORT_TTL_MIN_S + Math.floor(random() * (SHORT_TTL_MAX_S - SHORT_TTL_MIN_S + 1)) : LONG_TTL_S;
  // The bench origin's ETag is "ID-KB", ID being the path after /obj/.
  return { path: `/obj/m${id}?kb=${kb}&ttl=${ttl}`, etag: `"m${id}-${kb}"`, bytes: kb * 1024, shortTtl };
}

/** Objects 1, 2, ... until their bodies add up to `factor` times the cache bytes. */
function catalogue(cacheBytes: number): CatalogueObject[] {
  const objects: CatalogueObject[] = [];
  for (let total = 0, id = 1; total < CATALOGUE_FACTOR * cacheBytes; id++) {
    const object = objectOf(id);
    objects.push(object);
    total += object.bytes;
  }
  return objects;
}

interface Counts {
  notModified: number;
  otherNon2xx: number;
}

/** Zipf-ranked paths (rank 1 = object 1); a share carries If-None-Match with the object's ETag. */
function workload(objects: CatalogueObject[], counts: Counts): autocannon.Request[] {
  const ranks = zipf(objects.length, ZIPF_S, mulberry32(1));
  const coin = mulberry32(2);
  return [
    {
      method: 'GET',
      // A new headers object each time: autocannon keeps the one it was given for the next request.
      setupRequest: (req) => {
        const object = objects[ranks.next() - 1] as CatalogueObject;
        return { ...req, path: object.path, headers: coin() < CONDITIONAL_SHARE ? { 'if-none-match': object.etag } : {} };
      },
      onResponse: (status) => {
        if (status === 304) counts.notModified++;
        else if (status < 200 || status > 299) counts.otherNon2xx++;
      },
    },
  ];
}

interface Sample {
  t: number;
  rss: number | undefined;
  stats: EdgeStats;
  /** V8 heap and Buffer memory (prom-client's gauges), to tell what RSS is made of. */
  heap: number | undefined;
  external: number | undefined;
}

async function readMemoryMetrics(edge: Edge): Promise<{ heap: number | undefined; external: number | undefined }> {
  const res = await fetch(`${edge.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.text();
  const gauge = (name: string): number | undefined => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  return { heap: gauge('nodejs_heap_size_total_bytes'), external: gauge('nodejs_external_memory_bytes') };
}

/** Requests that reached the cache lookup: hits, misses, revalidations, waiters on a fetch. */
function cacheable(s: EdgeStats): number {
  return s.engine.hits + s.engine.misses + s.engine.revalidations + s.engine.collapsed;
}

function hitRatio(from: EdgeStats, to: EdgeStats): number {
  const all = cacheable(to) - cacheable(from);
  return all > 0 ? (to.engine.hits - from.engine.hits) / all : NaN;
}

/** Reads the edge's stats and RSS once a second, skipping a tick while a read is under way. */
function sampleEvery(edge: Edge, startedAt: number): { samples: Sample[]; stop(): void } {
  const samples: Sample[] = [];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all([readEdgeStats(edge), readMemoryMetrics(edge)])
      .then(([stats, memory]) => samples.push({ t: (Date.now() - startedAt) / 1000, rss: rssBytes(edge.child.pid), stats, ...memory }))
      .catch(() => undefined) // a missed second is a gap in the chart, not a failed run
      .finally(() => (busy = false));
  }, 1000);
  return { samples, stop: () => clearInterval(timer) };
}

function medianRssIn(samples: Sample[], from: number, to: number): number | undefined {
  const values = samples.filter((s) => s.t >= from && s.t <= to && s.rss !== undefined).map((s) => s.rss as number);
  return values.length ? median(values) : undefined;
}

export const mixed: Scenario = {
  name: 'mixed',
  title: 'Mixed workload: Zipf popularity, bounded cache, revalidations',
  needsRedis: false,
  run: runMixed,
};

async function runMixed(ctx: ScenarioContext): Promise<ScenarioResult> {
  const began = Date.now();
  const durationS = ctx.durationS ?? (ctx.quick ? 5 : 300);
  const maxBytes = (ctx.quick ? 4 : 64) * MIB;
  const objects = catalogue(maxBytes);
  const catalogueBytes = objects.reduce((sum, o) => sum + o.bytes, 0);
  const cpu = ctx.pinned ? { cpu: 1 } : {};
  const started: Started[] = [];
  const counts: Counts = { notModified: 0, otherNon2xx: 0 };
  const notes: string[] = [];
  let sampler: ReturnType<typeof sampleEvery> | undefined;
  try {
    const origin = await startBenchOrigin(cpu);
    started.push(origin);
    // Objects are at most 64 KiB; the default 16 MiB object bound would exceed a 4 MiB cache.
    const edge = await startEdge(origin.url, { ...cpu, args: ['--max-bytes', String(maxBytes), '--max-object-bytes', String(MIB)] });
    started.push(edge);
    await new Promise((r) => setTimeout(r, 500)); // let start-up work settle before the base reading
    const baseRss = rssBytes(edge.child.pid);
    await resetOrigin(origin);
    const before = await readEdgeStats(edge);
    ctx.progress.line(`mixed: ${objects.length} objects (${fixed(catalogueBytes / MIB, 1)} MiB) over a ${maxBytes / MIB} MiB cache, ${durationS} s`);
    sampler = sampleEvery(edge, Date.now());
    const load = await runLoad({ label: 'mixed', url: edge.url, connections: CONNECTIONS, durationS, requests: workload(objects, counts), serverPid: edge.child.pid, progress: ctx.progress });
    sampler.stop();
    const after = await readEdgeStats(edge);
    const endRss = rssBytes(edge.child.pid);
    const samples = sampler.samples;
    const sampledPeak = Math.max(...samples.map((s) => s.rss ?? 0));
    const peakRss = peakRssBytes(edge.child.pid) ?? (sampledPeak > 0 ? sampledPeak : undefined);
    const originStats = await readOriginStats(origin);
    const last = samples[samples.length - 1];

    const hits: Series = { name: 'hit ratio', points: [] };
    let previous = before;
    for (const s of samples) {
      const ratio = hitRatio(previous, s.stats);
      if (Number.isFinite(ratio)) hits.points.push({ t: Math.round(s.t), value: round3(ratio) });
      previous = s.stats;
    }
    const mib = (name: string, value: (s: Sample) => number | undefined): Series => ({
      name,
      points: samples.flatMap((s) => {
        const v = value(s);
        return v === undefined ? [] : [{ t: Math.round(s.t), value: round1(v / MIB) }];
      }),
    });
    const limitBytes = (baseRss ?? 0) + maxBytes + OVERHEAD_BYTES;
    const charts: Chart[] = [
      { kind: 'line', title: 'Hit ratio per second', unit: 'ratio', series: [hits] },
      { kind: 'line', title: 'Edge memory', unit: 'MiB', series: [mib('RSS', (s) => s.rss), mib('limit (base + cache + overhead)', () => (baseRss === undefined ? undefined : limitBytes)), mib('store bytes', (s) => s.stats.store.bytes), mib('V8 heap', (s) => s.heap), mib('external (Buffers)', (s) => s.external)] },
      { kind: 'line', title: 'Throughput', unit: 'req/s', series: [load.throughput] },
    ];

    const overall = hitRatio(before, after);
    const cacheableRequests = cacheable(after) - cacheable(before);
    const midRss = medianRssIn(samples, 0.4 * durationS, 0.6 * durationS);
    const lateRss = medianRssIn(samples, 0.8 * durationS, Infinity);
    const growth = baseRss === undefined || peakRss === undefined ? undefined : (peakRss - baseRss) / MIB;
    const trend = midRss === undefined || lateRss === undefined || durationS < TREND_MIN_S ? undefined : lateRss / midRss;
    const row = (metric: string, value: string | number): Record<string, string | number> => ({ metric, value });
    const rows = [
      row('req/s', Math.round(load.requestsPerSec)),
      row('p50 / p99 ms', `${fixed(load.p50Ms, 3)} / ${fixed(load.p99Ms, 3)}`),
      row('errors + non-2xx other than 304', load.errors + counts.otherNon2xx),
      row('hit ratio (overall)', fixed(overall, 3)),
      row('requests at the cache (hits + misses + revalidations + collapsed)', cacheableRequests),
      row('origin requests', originStats.requests),
      row('origin offload (1 − origin requests / client requests)', fixed(1 - originStats.requests / load.total, 3)),
      row('origin 304 share (304s / origin requests)', fixed(originStats.notModified / originStats.requests, 3)),
      row('client 304s', counts.notModified),
      row('evictions', after.store.evictions - before.store.evictions),
      row('store MiB at end (entries)', `${fixed(after.store.bytes / MIB, 1)} (${after.store.entries})`),
      row('V8 heap / external MiB at end', last ? `${fixed((last.heap ?? NaN) / MIB, 1)} / ${fixed((last.external ?? NaN) / MIB, 1)}` : '-'),
      row('RSS MiB base / peak / end', [baseRss, peakRss, endRss].map((b) => (b === undefined ? '-' : fixed(b / MIB, 1))).join(' / ')),
    ];
    const d = (key: keyof EdgeStats['engine']): number => after.engine[key] - before.engine[key];
    notes.push(`edge counters: ${d('hits')} hits, ${d('staleServed')} stale served, ${d('misses')} misses, ${d('revalidations')} revalidations (${d('notModified')} 304 outcomes), ${d('collapsed')} collapsed, ${d('upstreamErrors')} upstream errors`);
    if (load.errors + counts.otherNon2xx > 0) notes.push(`${load.errors} connection errors or timeouts and ${counts.otherNon2xx} non-2xx answers other than 304`);
    if (ctx.quick) notes.push('quick: the 4 MiB cache keeps few short-lived objects long enough to be revalidated, so origin 304s are rare');
    if (samples.length < durationS * 0.8) notes.push(`${samples.length} stats samples in ${durationS} s: the admin API answered late under load`);
    const allowance = (maxBytes + OVERHEAD_BYTES) / MIB;
    const goals = [
      withNote(
        judge('memory within cache bytes plus bounded overhead: peak RSS − base RSS', growth, allowance, { atLeast: false, unit: 'MiB', detail: `peak ${fixed((peakRss ?? NaN) / MIB, 1)} − base ${fixed((baseRss ?? NaN) / MIB, 1)}`, why: 'RSS is read from /proc (Linux only)' }),
        `allowance = ${maxBytes / MIB} MiB cache + ${OVERHEAD_BYTES / MIB} MiB fixed overhead (V8 heap growth under load, Buffers awaiting GC, socket buffers, fragmentation); peak is the kernel's VmHWM`,
      ),
      withNote(
        judge('no memory growth trend: median RSS over the last 20% / median RSS at 40–60% of the run', trend, TREND_LIMIT, { atLeast: false, detail: `${fixed((lateRss ?? NaN) / MIB, 1)} vs ${fixed((midRss ?? NaN) / MIB, 1)} MiB`, why: durationS < TREND_MIN_S ? `a ${durationS} s run is too short for a trend (needs ${TREND_MIN_S} s)` : 'too few RSS samples' }),
        'by mid-run the cache is full, so RSS should be flat from there; medians keep a GC sawtooth from deciding it',
      ),
    ];
    return {
      scenario: 'mixed',
      title: mixed.title,
      method:
        `${CONNECTIONS} connections for ${durationS} s over ${objects.length} objects (${fixed(catalogueBytes / MIB, 1)} MiB, ${CATALOGUE_FACTOR}× the ${maxBytes / MIB} MiB cache; 1–8 KiB, ${LARGE_SHARE * 100}% 32–64 KiB), Zipf s = ${ZIPF_S} popularity, ` +
        `${SHORT_TTL_SHARE * 100}% of objects with ttl ${SHORT_TTL_MIN_S}–${SHORT_TTL_MAX_S} s (the edge revalidates them, the origin answers 304), ${CONDITIONAL_SHARE * 100}% of requests conditional (If-None-Match). ` +
        'Hit ratio = hits / (hits + misses + revalidations + collapsed), from the engine counters: answered from the cache without the origin, over all cacheable requests (a client 304 from the cache is a hit; revalidations answered 304 and waiters on a fetch are not). ' +
        'RSS and store bytes are read every second; the base RSS is the idle edge with an empty cache, the peak the kernel\'s high-water mark (VmHWM).',
      columns: [
        { key: 'metric', label: 'metric' },
        { key: 'value', label: 'value' },
      ],
      rows,
      charts,
      goals,
      notes,
      durationS: (Date.now() - began) / 1000,
    };
  } finally {
    sampler?.stop(); // also when the load failed: a live timer would keep the bench running
    for (const p of started.reverse()) await p.stop();
  }
}

/** A judged goal with what it means, unless it was skipped (then its note says why). */
function withNote(goal: GoalResult, note: string): GoalResult {
  return goal.status === 'skipped' ? goal : { ...goal, note };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
