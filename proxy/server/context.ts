// What the parts of one node's request handling share: options, the cache, the origin client,
// the counters, and invalidation. Built once by the engine.
import type { VariantCache } from '../store/variant-cache.js';
import type { Upstream } from '../upstream/origin-pool.js';
import type { ForwardingPolicy } from './forwarding.js';
import type { InflightBudget } from './inflight-budget.js';
import type { ProxyHooks, ProxyOptions } from './options.js';
import type { ResponseLabels } from './respond.js';

export interface EngineStats {
  hits: number;
  misses: number;
  revalidations: number;
  notModified: number;
  collapsed: number;
  staleServed: number;
  passThrough: number;
  upstreamErrors: number;
  invalidations: number;
  rangeHits: number;
  /** Hits kept past HTTP freshness because callbacks were in sync (callback mode). */
  callbackHits: number;
  /** Callback-mode copies revalidated because the bus was not in sync. */
  callbackFallbacks: number;
  /** Clients cut because their socket took nothing for limits.sendTimeoutMs. */
  sendTimeouts: number;
  /** Fills not stored (streamed through) because fills in flight held the in-flight budget. */
  inflightRefused: number;
}

export function emptyStats(): EngineStats {
  return { hits: 0, misses: 0, revalidations: 0, notModified: 0, collapsed: 0, staleServed: 0, passThrough: 0, upstreamErrors: 0, invalidations: 0, rangeHits: 0, callbackHits: 0, callbackFallbacks: 0, sendTimeouts: 0, inflightRefused: 0 };
}

export interface NodeContext {
  /** Replaced as a whole by a reload (reconfigure), never mutated in place. */
  options: ProxyOptions;
  labels: ResponseLabels;
  /** Via name and trusted proxies, compiled from the options (replaced with them). */
  forwarding: ForwardingPolicy;
  readonly cache: VariantCache;
  /** Replaced by a reload that changes the origins. */
  client: Upstream;
  readonly counters: EngineStats;
  /** Bytes held by the node's fills under way (every body tee reserves from it). */
  readonly budget: InflightBudget;
  readonly hooks: ProxyHooks;
  /** Drops every variant of a URL and keeps fetches under way from storing their result. */
  invalidateUrl(primaryKey: string): number;
}
