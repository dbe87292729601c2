// Prometheus metrics of one node, on a registry of its own (never prom-client's global one), so
// several nodes in one process do not clash. Counters the node already keeps (engine, store, bus,
// origin pool) are read at scrape time; per-request ones come from each request's Outcome
// (observeResponse: its typed decision, no header parsed) and the edge's applied invalidations
// (observeInvalidationLag).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreStats } from '../store/store.js';
import type { OriginPoolStats } from '../upstream/origin-pool.js';
import { cacheLabel, codeLabel, originOutcome } from './outcome.js';
import type { Outcome } from './outcome.js';
import type { EngineStats } from './context.js';

/**
 * What the metrics read from an invalidation bus: the shape of edge/bus's BusStats, restated
 * here because proxy/ does not import edge/.
 */
export interface BusCounts {
  state: string;
  lastAppliedSeq: number;
  received: number;
  applied: number;
  duplicates: number;
  replayed: number;
  gaps: number;
  resyncs: number;
  forged: number;
  garbled: number;
  foreignEpoch: number;
  aheadOfCounter: number;
  reconnects: number;
}

export interface MetricSources {
  engine: () => EngineStats;
  store: () => StoreStats;
  /** Read at each scrape (undefined: no pool now), so that a pool replaced by a reload shows. */
  pool?: () => OriginPoolStats | undefined;
  bus?: () => BusCounts;
  /** Bytes held by fills under way and their bound. */
  inflight?: () => { usedBytes: number; limitBytes: number };
  /** Set as the `edge` label of every series. */
  edgeId?: string;
  /** prom-client's process and Node.js metrics (collectDefaultMetrics); default true. */
  processMetrics?: boolean;
}

export interface NodeMetrics {
  readonly registry: Registry;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
  /** The exposition text. */
  text(): Promise<string>;
  /** Counts one finished request; observes its duration when it went to the origin. */
  observeResponse(outcome: Outcome): void;
  /** One applied invalidation, publish to applied. */
  observeInvalidationLag(ms: number): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Every state of edge/bus's BusState, so that each has a series (0 when not current). */
const BUS_STATES = ['connecting', 'in-sync', 'replaying', 'down'];

/** EngineStats field → metric name (without prefix and `_total`). */
const ENGINE_COUNTERS: ReadonlyArray<[keyof EngineStats, string, string]> = [
  ['hits', 'hits', 'Requests served from the cache.'],
  ['misses', 'misses', 'Requests with no usable stored response, fetched from the origin.'],
  ['revalidations', 'revalidations', 'Conditional requests sent to the origin for stale entries.'],
  ['notModified', 'not_modified', 'Revalidations the origin answered 304 Not Modified (per origin fetch; waiters count as collapsed).'],
  ['collapsed', 'collapsed', 'Requests that waited for another request\'s origin fetch.'],
  ['staleServed', 'stale_served', 'Stale responses served (stale-while-revalidate, stale-if-error, callback mode).'],
  ['passThrough', 'pass_through', 'Requests passed to the origin without the cache (other methods, bypass).'],
  ['upstreamErrors', 'upstream_errors', 'Origin requests that failed (per origin fetch).'],
  ['invalidations', 'invalidations_applied', 'Invalidations applied to the cache (purges, unsafe methods).'],
  ['callbackHits', 'callback_hits', 'Hits kept past HTTP freshness because callbacks were in sync.'],
  ['callbackFallbacks', 'callback_fallbacks', 'Callback-mode copies revalidated because the bus was not in sync.'],
  ['rangeHits', 'range_hits', 'Range requests served from the cache.'],
  ['sendTimeouts', 'send_timeouts', 'Clients cut because their socket took nothing of the response for limits.sendTimeoutMs.'],
  ['inflightRefused', 'inflight_refused', 'Fills streamed through unstored because fills in flight held the in-flight budget.'],
];

const BUS_COUNTERS: ReadonlyArray<[Exclude<keyof BusCounts, 'state'>, string, string]> = [
  ['received', 'received', 'Invalidation messages received.'],
  ['applied', 'applied', 'Invalidations applied in order.'],
  ['duplicates', 'duplicates', 'Duplicate invalidation messages ignored.'],
  ['replayed', 'replayed', 'Invalidations recovered from the replay log.'],
  ['gaps', 'gaps', 'Gaps detected in the sequence.'],
  ['resyncs', 'resyncs', 'Times the cache was marked stale because invalidations could not be recovered.'],
  ['forged', 'forged', 'Messages that failed signature verification.'],
  ['garbled', 'garbled', 'Messages that could not be parsed or validated.'],
  ['foreignEpoch', 'foreign_epoch', "Signed messages of an epoch other than the bus's own state reports, dropped."],
  ['aheadOfCounter', 'ahead_of_counter', "Signed messages numbered beyond the bus's own counter, dropped."],
  ['reconnects', 'reconnects', 'Reconnections of the bus subscriber.'],
];

export function createNodeMetrics(sources: MetricSources): NodeMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (sources.edgeId !== undefined) registry.setDefaultLabels({ edge: sources.edgeId });
  if (sources.processMetrics !== false) collectDefaultMetrics({ register: registry });

  /** A counter whose value is a monotonic count the node keeps, read at scrape time. */
  const snapshotCounter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const snapshotGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };

  for (const [field, name, help] of ENGINE_COUNTERS) snapshotCounter(`minicdn_${name}_total`, help, () => sources.engine()[field]);

  snapshotGauge('minicdn_store_bytes', 'Bytes held by the cache (body, headers and key of each entry).', () => sources.store().bytes);
  snapshotGauge('minicdn_store_entries', 'Entries held by the cache.', () => sources.store().entries);
  snapshotCounter('minicdn_store_evictions_total', 'Entries dropped to make room.', () => sources.store().evictions);
  snapshotCounter('minicdn_store_rejected_too_large_total', 'Responses not stored because they exceeded the object limit.', () => sources.store().rejectedTooLarge);
  const inflight = sources.inflight;
  if (inflight) {
    snapshotGauge('minicdn_inflight_bytes', 'Bytes held by fills under way (kept for the store, or not yet taken by a client).', () => inflight().usedBytes);
    snapshotGauge('minicdn_inflight_limit_bytes', 'Bound on those bytes (cache.maxInflightBytes, or cache.maxBytes).', () => inflight().limitBytes);
  }

  // Counted in plain numbers and handed to prom-client at scrape time: its per-call label
  // hashing cost more than the rest of a cache hit.
  const responseCounts = new Map<string, { cache: string; code: string; n: number }>();
  new Counter({
    name: 'minicdn_responses_total',
    help: 'Finished client requests, by this cache\'s Cache-Status result (hit, fwd=uri-miss, ...) and status class.',
    labelNames: ['cache', 'code'] as const,
    registers,
    collect() {
      this.reset();
      for (const { cache, code, n } of responseCounts.values()) this.inc({ cache, code }, n);
    },
  });
  const originDuration = new Histogram({
    name: 'minicdn_origin_request_duration_seconds',
    help: 'Whole response time of client requests that went to the origin, by Cache-Status result and the origin\'s status class (error: no answer).',
    labelNames: ['cache', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  /**
   * The series a finished response counts in, by its cache label (hit, fwd=...; a few constants)
   * and then by status class and origin outcome: no key string built per request, and a bounded
   * number of entries (labels × 6 classes × 7 outcomes).
   */
  type Series = { count: { n: number }; duration: { observe(value: number): void } | undefined };
  const seriesByLabel = new Map<string, Map<string, Series>[]>();

  const pool = sources.pool;
  if (pool) {
    const perOrigin = (name: string, help: string, read: (o: OriginPoolStats['origins'][number]) => number, kind: 'gauge' | 'counter'): void => {
      const config = { name, help, labelNames: ['origin'] as const, registers };
      if (kind === 'gauge') {
        new Gauge({
          ...config,
          collect() {
            this.reset();
            for (const o of pool()?.origins ?? []) this.set({ origin: o.url }, read(o));
          },
        });
      } else {
        new Counter({
          ...config,
          collect() {
            this.reset();
            for (const o of pool()?.origins ?? []) this.inc({ origin: o.url }, read(o));
          },
        });
      }
    };
    perOrigin('minicdn_origin_up', '1 while the origin may take traffic (healthy and not ejected), else 0.', (o) => (o.healthy && o.ejectedUntilMs === undefined ? 1 : 0), 'gauge');
    perOrigin('minicdn_origin_in_flight', 'Requests under way to the origin.', (o) => o.inFlight, 'gauge');
    perOrigin('minicdn_origin_attempts_total', 'Attempts sent to the origin (retries and fail-overs included).', (o) => o.requests, 'counter');
    perOrigin('minicdn_origin_failures_total', 'Connection-level failures of those attempts.', (o) => o.failures, 'counter');
    snapshotCounter('minicdn_origin_failed_fast_total', 'Requests refused without an attempt while every origin was down (one request at a time still tries them).', () => pool()?.failedFast ?? 0);
  }

  const bus = sources.bus;
  const lag = bus
    ? new Histogram({ name: 'minicdn_invalidation_lag_seconds', help: 'Publish to applied, per applied invalidation.', buckets: LAG_BUCKETS, registers })
    : undefined;
  if (bus) {
    new Gauge({
      name: 'minicdn_bus_state',
      help: 'State of the invalidation bus subscriber: 1 for the current state, 0 for the others.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const now = bus().state;
        this.reset();
        for (const state of new Set([...BUS_STATES, now])) this.set({ state }, state === now ? 1 : 0);
      },
    });
    snapshotGauge('minicdn_bus_last_applied_seq', 'Highest sequence number applied in order (restarts with a new epoch).', () => bus().lastAppliedSeq);
    for (const [field, name, help] of BUS_COUNTERS) snapshotCounter(`minicdn_bus_${name}_total`, help, () => bus()[field]);
  }

  return {
    registry,
    get contentType() {
      return registry.contentType;
    },
    text: () => registry.metrics(),
    observeResponse(outcome) {
      const cache = cacheLabel(outcome.cache);
      const code = codeLabel(outcome.status);
      const origin = originOutcome(outcome.cache);
      let byClass = seriesByLabel.get(cache);
      if (byClass === undefined) {
        byClass = [];
        seriesByLabel.set(cache, byClass);
      }
      // 0 for no response (and anything outside 1xx-5xx), else the class.
      const statusClass = code === 'none' ? 0 : Math.floor(outcome.status / 100);
      const byOrigin = (byClass[statusClass] ??= new Map());
      const originKey = origin ?? '';
      let series = byOrigin.get(originKey);
      if (series === undefined) {
        const countKey = `${cache} ${code}`;
        let count = responseCounts.get(countKey);
        if (count === undefined) {
          count = { cache, code, n: 0 };
          responseCounts.set(countKey, count);
        }
        // Hashing label sets costs more than the rest of a hit: once per series.
        series = { count, duration: origin === undefined ? undefined : originDuration.labels(cache, origin) };
        byOrigin.set(originKey, series);
      }
      series.count.n++;
      series.duration?.observe(outcome.durationMs / 1000);
    },
    observeInvalidationLag(ms) {
      lag?.observe(Math.max(0, ms) / 1000);
    },
  };
}
