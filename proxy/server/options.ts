// What one proxy node is built from. Every bound has a default and a unit in its name.
import { DEFAULT_FRESHNESS } from '../policy/index.js';
import type { ReuseOptions } from '../policy/index.js';
import { DEFAULT_ORIGIN_CLIENT } from '../upstream/origin-client.js';
import type { OriginClientOptions } from '../upstream/origin-client.js';
import type { OriginPoolOptions, PoolOrigin } from '../upstream/origin-pool.js';
import type { HeaderMap } from '../types.js';
import { DEFAULT_TAG_FIELDS } from '../store/tag-index.js';
import type { RouteRule } from './routes.js';

/**
 * How far an edge trusts its copies (the NFS / AFS contrast):
 * - ttl: HTTP freshness, then conditional requests (polling);
 * - callback: the origin promises invalidation callbacks, so while the bus is in sync a copy may
 *   be kept up to edgeTtlMs past its HTTP freshness; whenever it is not, this falls back to ttl;
 * - validate: every request is revalidated with the origin.
 */
export type ConsistencyMode = 'ttl' | 'callback' | 'validate';

export interface ProxyOptions {
  /** Base URL of the origin (or of a parent tier); used when `origins` is not given. */
  origin: string;
  /** Several origins, balanced with fail-over; when given, `origin` is ignored. */
  origins?: PoolOrigin[];
  /** How the origins are balanced, checked and retried. */
  pool: Omit<OriginPoolOptions, 'origins' | 'client'>;
  /** The cache's name in Cache-Status and Via. */
  cacheName: string;
  /** Memory the cache may hold, counting body, headers and key of each entry. */
  maxBytes: number;
  /** Larger responses stream through without being stored. */
  maxObjectBytes: number;
  /**
   * Bytes that fills under way may hold (kept for the store, or not yet taken by a client);
   * null: the same bound as maxBytes. Past it, new fills stream through unstored.
   */
  maxInflightBytes: number | null;
  /** Bound on stored variants of one URL (RFC 9111 §4.1). */
  maxVariantsPerUrl: number;
  /** Response fields whose values tag an entry for purges by tag (any case; Surrogate-Key and Cache-Tag by default). */
  tagFields: readonly string[];
  /** RFC 9111 heuristics, and stale windows the operator grants (RFC 5861). */
  freshness: ReuseOptions;
  /** The default consistency; routes may set their own. */
  consistency: { mode: ConsistencyMode; edgeTtlMs: number };
  /** Per-path rules, first match wins (see routes.ts). */
  routes: RouteRule[];
  upstream: Omit<OriginClientOptions, 'origin'>;
  /** Forward CDN-Cache-Control to clients (RFC 9213 leaves it to the cache; off by default). */
  forwardCdnCacheControl: boolean;
  /** Incoming request limits. */
  maxRequestHeaderBytes: number;
  maxUrlBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /**
   * Downstream proxies (addresses or CIDR blocks) whose X-Forwarded-For and Forwarded for= chain
   * this node extends; any other peer's are replaced. A shield lists its edges here.
   */
  trustedProxies: string[];
  /** A client whose socket takes nothing of its response for this long is cut. */
  sendTimeoutMs: number;
}

export const DEFAULT_PROXY_OPTIONS: Omit<ProxyOptions, 'origin'> = {
  cacheName: 'mini-cdn',
  maxBytes: 256 * 1024 * 1024,
  maxObjectBytes: 16 * 1024 * 1024,
  maxInflightBytes: null,
  maxVariantsPerUrl: 32,
  tagFields: DEFAULT_TAG_FIELDS,
  freshness: DEFAULT_FRESHNESS,
  consistency: { mode: 'ttl', edgeTtlMs: 3_600_000 },
  routes: [],
  upstream: DEFAULT_ORIGIN_CLIENT,
  pool: {
    balancing: 'weighted-round-robin',
    healthCheck: false,
    passiveEjection: { failures: 5, windowMs: 10_000, ejectMs: 30_000 },
    retries: { attempts: 1, backoffMs: 25 },
  },
  forwardCdnCacheControl: false,
  maxRequestHeaderBytes: 16 * 1024,
  maxUrlBytes: 8 * 1024,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  trustedProxies: [],
  sendTimeoutMs: 30_000,
};

/** Defaults, overridden by what the caller gives; nested groups merge one level deep. */
export function resolveProxyOptions(given: Partial<ProxyOptions> & { origin: string }): ProxyOptions {
  return {
    ...DEFAULT_PROXY_OPTIONS,
    // A small cache without an explicit object limit: objects up to the whole cache, not beyond it.
    ...(given.maxBytes !== undefined && given.maxObjectBytes === undefined ? { maxObjectBytes: Math.min(DEFAULT_PROXY_OPTIONS.maxObjectBytes, given.maxBytes) } : {}),
    ...given,
    freshness: { ...DEFAULT_PROXY_OPTIONS.freshness, ...given.freshness },
    consistency: { ...DEFAULT_PROXY_OPTIONS.consistency, ...given.consistency },
    upstream: { ...DEFAULT_PROXY_OPTIONS.upstream, ...given.upstream },
    pool: { ...DEFAULT_PROXY_OPTIONS.pool, ...given.pool },
  };
}

/** What the node learns at run time from the edge around it. */
export interface ProxyHooks {
  /** True while every invalidation callback has been received and applied (callback mode relies on it). */
  callbacksInSync(): boolean;
  /** Fields added to every request to the upstream (a tier says which callbacks it has applied). */
  upstreamFields(): Record<string, string>;
  /**
   * Request fields (lower-case) that belong to the tier: a client's copy is never forwarded, only
   * what upstreamFields() sets. Otherwise a client could speak for this node to its upstream.
   */
  readonly ownFields: readonly string[];
  /** True when a downstream tier's request says it has applied callbacks this node has not: its copies may be outdated. */
  behindDownstream(headers: HeaderMap): boolean;
  /**
   * A successful unsafe request just invalidated these absolute URLs in this node's cache (RFC
   * 9111 §4.4 covers only the local cache): the edge around the node tells the other caches of
   * the CDN. Fire and forget: must return at once and never throw.
   */
  onUnsafeInvalidation(urls: string[]): void;
}

export const NO_CALLBACKS: ProxyHooks = {
  callbacksInSync: () => false,
  upstreamFields: () => ({}),
  ownFields: [],
  behindDownstream: () => false,
  onUnsafeInvalidation: () => undefined,
};
