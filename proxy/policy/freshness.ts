// Freshness lifetime of a stored response for a shared cache (RFC 9111 §4.2.1, §4.2.2), with
// CDN-Cache-Control taking precedence when present and valid (RFC 9213 §2.2).
import type { HeaderMap } from '../types.js';
import { parseCacheControl, parseCdnCacheControl } from './cache-control.js';
import type { CacheControl } from './cache-control.js';
import { expiresMs, parseHttpDate } from './dates.js';
import { hasField, singleField } from './fields.js';

export interface FreshnessOptions {
  /** Fraction of (Date - Last-Modified) used as a heuristic lifetime; default 0.1. */
  heuristicFraction: number;
  /** Cap on a heuristic lifetime in ms; default one day. */
  heuristicMaxMs: number;
  /** Honour CDN-Cache-Control (RFC 9213); default true. */
  useCdnCacheControl: boolean;
  /** The targeted field this cache obeys; default 'cdn-cache-control'. */
  cdnCacheControlField: string;
  /**
   * When a response to a request with a Cookie may be shared (see cookie-sharing.ts):
   * 'explicit-or-static' (default), 'explicit', or 'never'.
   */
  requestsWithCookies: CookieSharing;
  /** Media types shared by heuristics to Cookie requests; an entry ending in '/' matches the whole type. */
  staticContentTypes: readonly string[];
}

export type CookieSharing = 'explicit-or-static' | 'explicit' | 'never';

/**
 * The default static types. config/schema.ts holds the same list (policy must not import
 * config/); a unit test checks that the two are equal.
 */
export const DEFAULT_STATIC_CONTENT_TYPES: readonly string[] = Object.freeze([
  'image/',
  'font/',
  'audio/',
  'video/',
  'text/css',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'application/wasm',
  'application/font-woff',
  'application/vnd.ms-fontobject',
]);

export const DEFAULT_FRESHNESS: FreshnessOptions = Object.freeze({
  heuristicFraction: 0.1,
  heuristicMaxMs: 86_400_000,
  useCdnCacheControl: true,
  cdnCacheControlField: 'cdn-cache-control',
  requestsWithCookies: 'explicit-or-static',
  staticContentTypes: DEFAULT_STATIC_CONTENT_TYPES,
});

/** RFC 9110 §15.1: status codes defined as heuristically cacheable. */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
]);

export type FreshnessSource = 'cdn-cache-control' | 's-maxage' | 'max-age' | 'expires' | 'heuristic' | 'none';

/**
 * The directives that govern a response here. RFC 9213 §2.2: a valid, non-empty
 * CDN-Cache-Control replaces Cache-Control and Expires entirely (cdn: true).
 */
export function effectiveDirectives(h: HeaderMap, opts: FreshnessOptions): { cc: CacheControl; cdn: boolean } {
  if (opts.useCdnCacheControl) {
    const cdn = parseCdnCacheControl(h[opts.cdnCacheControlField.toLowerCase()]);
    if (cdn !== undefined) return { cc: cdn, cdn: true };
  }
  return { cc: parseCacheControl(h['cache-control']), cdn: false };
}

/** Lifetime from directives already parsed (see effectiveDirectives). */
export function freshnessLifetimeFrom(
  status: number,
  h: HeaderMap,
  directives: { cc: CacheControl; cdn: boolean },
  opts: FreshnessOptions,
): { lifetimeMs: number; source: FreshnessSource } {
  const { cc, cdn } = directives;
  // RFC 9111 §4.2.1: a shared cache uses s-maxage first.
  if (cc.sMaxAge !== undefined) return { lifetimeMs: cc.sMaxAge * 1000, source: cdn ? 'cdn-cache-control' : 's-maxage' };
  // RFC 9111 §4.2.1: then max-age (and §5.3: Expires is then ignored).
  if (cc.maxAge !== undefined) return { lifetimeMs: cc.maxAge * 1000, source: cdn ? 'cdn-cache-control' : 'max-age' };
  const dateMs = parseHttpDate(singleField(h, 'date'));
  // RFC 9213 §2.2: with CDN-Cache-Control in effect, Expires is ignored.
  const expires = cdn ? undefined : expiresMs(h);
  if (expires !== undefined) {
    // RFC 9111 §5.3: an invalid Expires means "already expired".
    if (expires === 'invalid') return { lifetimeMs: 0, source: 'expires' };
    // RFC 9111 §4.2.1: Expires minus Date. The caller fills in a missing Date on receipt;
    // one still missing here leaves the lifetime unknown: 0. A past Expires gives 0, not less.
    if (dateMs === undefined) return { lifetimeMs: 0, source: 'expires' };
    return { lifetimeMs: Math.max(0, expires - dateMs), source: 'expires' };
  }
  // RFC 9111 §4.2.2: heuristics only for heuristically cacheable statuses or "public"
  // responses without explicit freshness, from Last-Modified (a fraction of Date - Last-Modified).
  if (HEURISTICALLY_CACHEABLE.has(status) || cc.public) {
    const lastModifiedMs = parseHttpDate(singleField(h, 'last-modified'));
    if (dateMs !== undefined && lastModifiedMs !== undefined && lastModifiedMs < dateMs) {
      const lifetimeMs = Math.floor((dateMs - lastModifiedMs) * opts.heuristicFraction);
      return { lifetimeMs: Math.max(0, Math.min(lifetimeMs, opts.heuristicMaxMs)), source: 'heuristic' };
    }
  }
  return { lifetimeMs: 0, source: 'none' };
}

/** RFC 9111 §4.2.1, §4.2.2: the freshness lifetime of a response in a shared cache, in ms. */
export function freshnessLifetimeMs(
  status: number,
  h: HeaderMap,
  opts: FreshnessOptions,
): { lifetimeMs: number; source: FreshnessSource } {
  return freshnessLifetimeFrom(status, h, effectiveDirectives(h, opts), opts);
}

/** Explicit freshness from directives already parsed: s-maxage, max-age, or (without CDN-Cache-Control) Expires. */
export function hasExplicitFreshnessFrom(h: HeaderMap, directives: { cc: CacheControl; cdn: boolean }): boolean {
  const { cc, cdn } = directives;
  // RFC 9111 §3: an Expires field counts even when its value is invalid (it means "expired").
  return cc.sMaxAge !== undefined || cc.maxAge !== undefined || (!cdn && hasField(h, 'expires'));
}

/** RFC 9111 §4.2.1: true when the response carries an explicit expiration time. */
export function hasExplicitFreshness(h: HeaderMap, opts: FreshnessOptions): boolean {
  return hasExplicitFreshnessFrom(h, effectiveDirectives(h, opts));
}
