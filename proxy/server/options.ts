// What one proxy node is built from. Every bound has a default and a unit in its name.
import { DEFAULT_FRESHNESS } from '../policy/index.js';
import type { FreshnessOptions } from '../policy/index.js';
import { DEFAULT_ORIGIN_CLIENT } from '../upstream/origin-client.js';
import type { OriginClientOptions } from '../upstream/origin-client.js';

export interface ProxyOptions {
  /** Base URL of the origin (or of a parent tier). */
  origin: string;
  /** The cache's name in Cache-Status and Via. */
  cacheName: string;
  /** Memory the cache may hold, counting body, headers and key of each entry. */
  maxBytes: number;
  /** Larger responses stream through without being stored. */
  maxObjectBytes: number;
  /** Bound on stored variants of one URL (RFC 9111 §4.1). */
  maxVariantsPerUrl: number;
  freshness: FreshnessOptions;
  upstream: Omit<OriginClientOptions, 'origin'>;
  /** Forward CDN-Cache-Control to clients (RFC 9213 leaves it to the cache; off by default). */
  forwardCdnCacheControl: boolean;
  /** Incoming request limits. */
  maxRequestHeaderBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const DEFAULT_PROXY_OPTIONS: Omit<ProxyOptions, 'origin'> = {
  cacheName: 'mini-cdn',
  maxBytes: 256 * 1024 * 1024,
  maxObjectBytes: 16 * 1024 * 1024,
  maxVariantsPerUrl: 32,
  freshness: DEFAULT_FRESHNESS,
  upstream: DEFAULT_ORIGIN_CLIENT,
  forwardCdnCacheControl: false,
  maxRequestHeaderBytes: 16 * 1024,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
};

/** Defaults, overridden by what the caller gives; nested groups merge one level deep. */
export function resolveProxyOptions(given: Partial<ProxyOptions> & { origin: string }): ProxyOptions {
  return {
    ...DEFAULT_PROXY_OPTIONS,
    ...given,
    freshness: { ...DEFAULT_PROXY_OPTIONS.freshness, ...given.freshness },
    upstream: { ...DEFAULT_PROXY_OPTIONS.upstream, ...given.upstream },
  };
}
