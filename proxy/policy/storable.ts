// Whether a shared cache may store a response (RFC 9111 §3, §3.5, §5.2.2, §7.3), and the
// documented choices that keep one user's response from another (cookie-sharing.ts).
import type { HeaderMap } from '../types.js';
import { parseCacheControl } from './cache-control.js';
import type { CacheControl } from './cache-control.js';
import { cookieRuleAllows } from './cookie-sharing.js';
import { hasField } from './fields.js';
import { effectiveDirectives, hasExplicitFreshnessFrom, HEURISTICALLY_CACHEABLE } from './freshness.js';
import type { FreshnessOptions } from './freshness.js';
import { varyFieldNames } from './vary.js';

export type NotStorableReason =
  | 'method'
  | 'status'
  | 'no-store'
  | 'private'
  | 'authorization'
  | 'must-understand'
  | 'no-freshness'
  | 'no-validator'
  | 'cookie'
  | 'vary-star'
  | 'vary-client-address'
  | 'request-no-store'
  | 'partial'
  | 'set-cookie';

/** The request as forwarded, with what the cache knows about how it is keyed. */
export interface StorableRequest {
  method: string;
  /** The fields as forwarded to the origin (without hop-by-hop and Connection-named fields). */
  headers: HeaderMap;
  /** Cookies the cache key holds (a route's cacheKey.cookies): they do not make a request per-user. */
  keyedCookies?: readonly string[];
  /** The operator gives a lifetime (a route's TTL override, callback mode): see 'no-validator'. */
  operatorLifetime?: boolean;
}

export type StorableResult = { storable: true } | { storable: false; reason: NotStorableReason };

/**
 * Status codes whose caching requirements this cache implements (RFC 9111 §3 "understood"):
 * the heuristically cacheable ones plus the redirects 302, 303 and 307.
 */
export const UNDERSTOOD_STATUS: ReadonlySet<number> = new Set([...HEURISTICALLY_CACHEABLE, 302, 303, 307]);

/**
 * RFC 9111 §7.3 (documented choice): a response with Set-Cookie is only shared when it is
 * explicitly cacheable by a shared cache (public, s-maxage, or a CDN-Cache-Control field in
 * effect), or when `private="set-cookie"` makes the caller strip the field before storing.
 */
export function setCookieShareable(cc: CacheControl, cdn: boolean): boolean {
  return cdn || cc.public || cc.sMaxAge !== undefined || cc.privateFields.includes('set-cookie');
}

function notStorable(reason: NotStorableReason): StorableResult {
  return { storable: false, reason };
}

/** RFC 9111 §3: whether this shared cache may store the response to the request. */
export function checkStorable(
  req: StorableRequest,
  res: { status: number; headers: HeaderMap },
  opts: FreshnessOptions,
  /** The response's directives, when the caller has parsed them already. */
  parsed?: ReturnType<typeof effectiveDirectives>,
): StorableResult {
  // RFC 9111 §3: the method must be understood; this cache stores responses to GET only
  // (POST with explicit freshness and a matching Content-Location is not implemented).
  if (req.method !== 'GET') return notStorable('method');
  const status = res.status;
  // RFC 9111 §3: the status code must be final; 304 only updates a stored response (§4.3.4).
  if (!Number.isInteger(status) || status < 200 || status > 599 || status === 304) return notStorable('status');
  // RFC 9111 §3, §3.3: partial content is not stored in this version.
  if (status === 206) return notStorable('partial');

  const directives = parsed ?? effectiveDirectives(res.headers, opts);
  const cc = directives.cc;
  let noStore = cc.noStore;
  if (cc.mustUnderstand) {
    // RFC 9111 §3: with must-understand, the status code must be one we understand.
    if (!UNDERSTOOD_STATUS.has(status)) return notStorable('must-understand');
    // RFC 9111 §5.2.2.3: an understood status makes the cache ignore no-store.
    noStore = false;
  }
  // RFC 9111 §5.2.2.5: response no-store.
  if (noStore) return notStorable('no-store');
  // RFC 9111 §5.2.1.5: request no-store.
  const requestCc = req.headers['cache-control'];
  if (requestCc !== undefined && parseCacheControl(requestCc).noStore) return notStorable('request-no-store');
  // RFC 9111 §5.2.2.7: unqualified private forbids a shared cache; a qualified one only the
  // listed fields, which the caller removes before storing (§3.1).
  if (cc.private && cc.privateFields.length === 0) return notStorable('private');
  // RFC 9111 §3.5: a request with Authorization only when public, s-maxage or must-revalidate.
  if (hasField(req.headers, 'authorization') && !(cc.public || cc.sMaxAge !== undefined || cc.mustRevalidate)) {
    return notStorable('authorization');
  }
  // RFC 9111 §4.1: a Vary of "*" never matches a later request: storing it is useless.
  const vary = varyFieldNames(res.headers);
  if (vary === '*') return notStorable('vary-star');
  // RFC 9111 §4.1 (documented choice): the node writes Forwarded and X-Forwarded-For itself, from
  // each client's address; a variant keyed by them would be keyed per client, which is no cache.
  if (vary.some((name) => PER_CLIENT_FORWARDED_FIELDS.includes(name))) return notStorable('vary-client-address');
  // RFC 9111 §7.3 (documented choice): Set-Cookie only in explicitly shared responses.
  if (hasField(res.headers, 'set-cookie') && !setCookieShareable(cc, directives.cdn)) return notStorable('set-cookie');
  // RFC 9111 §3: public, Expires, max-age, s-maxage, or a heuristically cacheable status.
  const explicit = hasExplicitFreshnessFrom(res.headers, directives);
  if (!(cc.public || explicit || HEURISTICALLY_CACHEABLE.has(status))) return notStorable('no-freshness');
  // RFC 9111 §4.2.2, §4.3.1 (documented choice): without explicit freshness, heuristics need
  // Last-Modified, and validation needs ETag or Last-Modified; with neither, no request could
  // reuse the response (it is stale at once and cannot be validated), so it is not kept, unless
  // the origin allows stale use itself (RFC 5861 §3, §4) or the operator gives it a lifetime.
  if (
    !explicit &&
    !req.operatorLifetime &&
    !hasField(res.headers, 'etag') &&
    !hasField(res.headers, 'last-modified') &&
    cc.staleWhileRevalidate === undefined &&
    cc.staleIfError === undefined
  ) {
    return notStorable('no-validator');
  }
  // Documented choice (cookie-sharing.ts): a response to a request with a Cookie the key does
  // not hold is shared only when the origin says so, or by heuristics for static types. A
  // Vary: Cookie response is stored per cookie already (RFC 9111 §4.1).
  if (!cookieRuleAllows(req, res, opts, directives, vary)) return notStorable('cookie');
  return { storable: true };
}

/** Request fields whose forwarded value this node derives from the client's own address. */
export const PER_CLIENT_FORWARDED_FIELDS: readonly string[] = Object.freeze(['forwarded', 'x-forwarded-for']);

