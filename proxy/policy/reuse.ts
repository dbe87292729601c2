// Whether a stored response may answer a request (RFC 9111 §4, §4.2, §4.2.4, §5.2.1, §5.2.2),
// with the stale-serving extensions of RFC 5861 and immutable of RFC 8246. `nowMs` is passed in.
import type { HeaderMap } from '../types.js';
import { currentAgeMs } from './age.js';
import { parseCacheControl } from './cache-control.js';
import type { CacheControl } from './cache-control.js';
import { fieldList, hasField } from './fields.js';
import { effectiveDirectives, freshnessLifetimeFrom } from './freshness.js';
import type { FreshnessOptions } from './freshness.js';

export interface StoredView {
  status: number;
  headers: HeaderMap;
  initialAgeMs: number;
  responseTimeMs: number;
  invalidated: boolean;
}

export interface ReuseOptions extends FreshnessOptions {
  /**
   * Stale windows the operator grants beyond the origin's own (RFC 5861 lets a cache be
   * configured so); 0 or absent = none. Never where must-revalidate, proxy-revalidate, s-maxage
   * or no-cache forbid serving stale.
   */
  staleWhileRevalidateMs?: number;
  staleIfErrorMs?: number;
}

export type RevalidateReason =
  | 'stale'
  | 'no-cache'
  | 'request-no-cache'
  | 'request-max-age'
  | 'request-min-fresh'
  | 'invalidated';

export type ReuseDecision =
  | { action: 'serve'; ageMs: number; /** remaining freshness; negative when serving stale */ ttlMs: number; stale: boolean; detail?: string }
  | { action: 'serve-stale-revalidate'; ageMs: number; ttlMs: number }
  | { action: 'revalidate'; ageMs: number; ttlMs: number; reason: RevalidateReason }
  | { action: 'unsatisfiable-only-if-cached' };

/** RFC 9111 §5.4: Pragma: no-cache counts only when the request has no Cache-Control. */
export function requestWantsNoCache(reqHeaders: HeaderMap, reqCc: CacheControl): boolean {
  // RFC 9111 §5.2.1.4: request no-cache.
  if (reqCc.noCache) return true;
  if (hasField(reqHeaders, 'cache-control') || !hasField(reqHeaders, 'pragma')) return false;
  // RFC 9111 §5.4: Pragma is the HTTP/1.0 form of a no-cache request.
  for (const member of fieldList(reqHeaders, 'pragma')) if (member.toLowerCase() === 'no-cache') return true;
  return false;
}

/** RFC 9111 §4.2.4: directives that forbid serving the response stale in a shared cache. */
function staleForbidden(cc: CacheControl): boolean {
  // RFC 9111 §5.2.2.2 must-revalidate, §5.2.2.8 proxy-revalidate, §5.2.2.10 s-maxage.
  return cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge !== undefined;
}

interface StoredFacts {
  status: number;
  opts: FreshnessOptions;
  directives: ReturnType<typeof effectiveDirectives>;
  lifetimeMs: number;
  /** No explicit and no heuristic lifetime: the response was kept only to be validated. */
  noFreshness: boolean;
}

/**
 * Parsed directives and freshness lifetime of a stored response, computed once per header map.
 * Pure in effect: stored header maps are never mutated (a 304 merge makes a new one), and the
 * facts depend only on the map, the status and the options, all checked here.
 */
const factsByHeaders = new WeakMap<HeaderMap, StoredFacts>();

function storedFacts(stored: { status: number; headers: HeaderMap }, opts: FreshnessOptions): StoredFacts {
  const known = factsByHeaders.get(stored.headers);
  if (known && known.opts === opts && known.status === stored.status) return known;
  const directives = effectiveDirectives(stored.headers, opts);
  const lifetime = freshnessLifetimeFrom(stored.status, stored.headers, directives, opts);
  const facts = { status: stored.status, opts, directives, lifetimeMs: lifetime.lifetimeMs, noFreshness: lifetime.source === 'none' };
  factsByHeaders.set(stored.headers, facts);
  return facts;
}

const NO_REQUEST_DIRECTIVES: CacheControl = Object.freeze(parseCacheControl(undefined));

/**
 * RFC 9111 §4: how to answer `req` (a GET or HEAD; unsafe methods are written through by the
 * caller, §4) with the stored response at time `nowMs`.
 */
export function decideReuse(
  stored: StoredView,
  req: { method: string; headers: HeaderMap },
  nowMs: number,
  opts: ReuseOptions,
): ReuseDecision {
  const ageMs = currentAgeMs(stored, nowMs);
  const facts = storedFacts(stored, opts);
  const cc = facts.directives.cc;
  const ttlMs = facts.lifetimeMs - ageMs;
  const requestCc = req.headers['cache-control'];
  const reqCc = requestCc === undefined ? NO_REQUEST_DIRECTIVES : parseCacheControl(requestCc);
  const revalidate = (reason: RevalidateReason): ReuseDecision =>
    // RFC 9111 §5.2.1.7: only-if-cached turns any need to contact the origin into a 504.
    reqCc.onlyIfCached ? { action: 'unsatisfiable-only-if-cached' } : { action: 'revalidate', ageMs, ttlMs, reason };

  // RFC 9111 §4.4: an invalidated entry needs validation before its next use.
  if (stored.invalidated) return revalidate('invalidated');
  // RFC 9111 §4, §5.2.2.4: unqualified no-cache (from Cache-Control or CDN-Cache-Control).
  // A qualified no-cache lets the response be used without the listed fields (fieldsToOmitOnReuse).
  if (cc.noCache && cc.noCacheFields.length === 0) return revalidate('no-cache');
  // RFC 9111 §5.2.1.4, §5.4: the client asks for validation.
  if (requestWantsNoCache(req.headers, reqCc)) return revalidate('request-no-cache');
  const fresh = ttlMs > 0;
  // RFC 8246 §2: an immutable response does not change while fresh, so an age limit from the
  // client (a reload's max-age=0) is satisfied by it; a forced reload (no-cache) still validates.
  const immutableFresh = fresh && cc.immutable;
  // RFC 9111 §5.2.1.1: the client accepts an age up to N seconds.
  if (!immutableFresh && reqCc.maxAge !== undefined && ageMs > reqCc.maxAge * 1000) return revalidate('request-max-age');
  // RFC 9111 §5.2.1.3: the client wants the response to stay fresh for N more seconds.
  if (reqCc.minFresh !== undefined && ttlMs < reqCc.minFresh * 1000) return revalidate('request-min-fresh');
  // RFC 9111 §4.2: response_is_fresh = freshness_lifetime > current_age.
  if (fresh) return immutableFresh ? { action: 'serve', ageMs, ttlMs, stale: false, detail: 'immutable' } : { action: 'serve', ageMs, ttlMs, stale: false };

  // Stale from here on; immutable no longer matters (RFC 8246 §2).
  const stalenessMs = -ttlMs;
  // RFC 9111 §4.2.4: must-revalidate, proxy-revalidate and s-maxage forbid serving stale.
  if (staleForbidden(cc)) return revalidate('stale');
  // RFC 9111 §5.2.1.2: max-stale without a value accepts any staleness, with N up to N seconds.
  // Documented choice (§4.2.4 lets a cache decline): never for a response that had no freshness
  // at all; it was kept only to be validated for each request, and may be another user's page.
  if (reqCc.maxStale !== undefined && !facts.noFreshness && stalenessMs <= reqCc.maxStale * 1000) {
    return { action: 'serve', ageMs, ttlMs, stale: true, detail: 'max-stale' };
  }
  // RFC 5861 §3: stale-while-revalidate=N serves stale up to N seconds while revalidating.
  const swrMs = Math.max(cc.staleWhileRevalidate === undefined ? -1 : cc.staleWhileRevalidate * 1000, opts.staleWhileRevalidateMs || -1);
  if (swrMs >= 0 && stalenessMs <= swrMs) {
    return { action: 'serve-stale-revalidate', ageMs, ttlMs };
  }
  // RFC 9111 §4.2.4: otherwise a stale response is validated first.
  return revalidate('stale');
}

/**
 * RFC 5861 §4, RFC 9111 §4.2.4: whether the stored response may be served when the origin
 * failed (an error, a 500, 502, 503 or 504): its staleness is within the response's or the
 * request's stale-if-error window and nothing forbids serving it stale.
 */
export function staleIfErrorAllowed(
  stored: StoredView,
  req: { headers: HeaderMap },
  nowMs: number,
  opts: ReuseOptions,
): boolean {
  const facts = storedFacts(stored, opts);
  const cc = facts.directives.cc;
  // RFC 9111 §4.2.4: no-cache, must-revalidate, proxy-revalidate and s-maxage forbid it.
  if (staleForbidden(cc) || (cc.noCache && cc.noCacheFields.length === 0)) return false;
  // A soft-purged (invalidated) entry is treated as stale, and RFC 5861 §4 still lets it stand
  // in for an error: the origin promised a newer version, but none can be had.
  const ttlMs = facts.lifetimeMs - currentAgeMs(stored, nowMs);
  const stalenessMs = Math.max(0, -ttlMs);
  const reqCc = parseCacheControl(req.headers['cache-control']);
  // RFC 5861 §4: stale-if-error in the response, or in the request.
  if (cc.staleIfError !== undefined && stalenessMs <= cc.staleIfError * 1000) return true;
  if (opts.staleIfErrorMs && stalenessMs <= opts.staleIfErrorMs) return true;
  return reqCc.staleIfError !== undefined && stalenessMs <= reqCc.staleIfError * 1000;
}

/**
 * RFC 9111 §5.2.2.4: field names a qualified no-cache keeps out of a response reused without
 * validation (lower case; empty when there are none). The caller removes them when serving.
 */
export function fieldsToOmitOnReuse(stored: { headers: HeaderMap }, opts: FreshnessOptions): string[] {
  const cc = effectiveDirectives(stored.headers, opts).cc;
  return cc.noCache ? cc.noCacheFields : [];
}
