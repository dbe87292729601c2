// When a response to a request that carries a Cookie may be shared. RFC 9111 does not forbid
// it (§3 lists no Cookie rule), but a cookie usually names a user, and a page made for one user
// must not be served to another: browsers send a site's cookies with every request, and many
// origins personalise pages without a word about caching (RFC 9111 §4.2.2 warns heuristics are
// for responses whose freshness the origin did not state). So, as a documented choice:
// - 'explicit-or-static': shared when the origin says a shared cache may keep it (public,
//   s-maxage, CDN-Cache-Control, a positive max-age or Expires), or, by heuristics only, when
//   its Content-Type is a static type (assets served by a plain file server with Last-Modified);
// - 'explicit': only the origin's explicit statement counts;
// - 'never': a response to a request with a Cookie is never stored (Varnish's default).
// A request whose every cookie is part of the cache key (route cacheKey.cookies), or a response
// with Vary: Cookie, is keyed per cookie already: this rule does not apply to it.
import type { HeaderMap } from '../types.js';
import type { CacheControl } from './cache-control.js';
import { fieldLines, singleField } from './fields.js';
import { effectiveDirectives, freshnessLifetimeFrom, hasExplicitFreshnessFrom } from './freshness.js';
import type { FreshnessOptions } from './freshness.js';
import { varyFieldNames } from './vary.js';

/**
 * True when the request carries a cookie that the cache key does not hold. `keyedCookies`: the
 * names a route puts into the key (RFC 6265 §5.4 cookie-string: `name=value` pairs split by ';').
 */
export function hasUnkeyedCookie(h: HeaderMap, keyedCookies?: readonly string[]): boolean {
  if (h['cookie'] === undefined) return false;
  // Nothing keyed: any member counts, found without splitting (this runs on hits).
  if (keyedCookies === undefined || keyedCookies.length === 0) return fieldLines(h, 'cookie').some(hasMember);
  for (const line of fieldLines(h, 'cookie')) {
    for (const pair of line.split(';')) {
      const member = pair.trim();
      if (member === '') continue;
      // A nameless value (no '=') is never part of a key; names are case-sensitive (RFC 6265 §5.4).
      const eq = member.indexOf('=');
      if (eq < 0 || !keyedCookies.includes(member.slice(0, eq).trim())) return true;
    }
  }
  return false;
}

/** True when the cookie-string has a character other than ';' and whitespace. */
function hasMember(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x3b && c !== 0x20 && c !== 0x09) return true;
  }
  return false;
}

/** The media type of Content-Type (RFC 9110 §8.3.1): parameters stripped, lower case. */
export function mediaTypeOf(h: HeaderMap): string | undefined {
  const value = singleField(h, 'content-type');
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** True when Content-Type is in the list; an entry ending in '/' matches every subtype of that type. */
export function isStaticContentType(h: HeaderMap, staticTypes: readonly string[]): boolean {
  const type = mediaTypeOf(h);
  if (type === undefined) return false;
  for (const entry of staticTypes) {
    const wanted = entry.toLowerCase();
    if (wanted.endsWith('/') ? type.startsWith(wanted) : type === wanted) return true;
  }
  return false;
}

/**
 * The rule for one request and one response: true when the request has no cookie outside the
 * key, or when the response may be shared with such requests (responseSharedWithCookies).
 * Used to store (storable.ts) and to hand a fetch to a collapsed waiter.
 */
export function cookieRuleAllows(
  req: { headers: HeaderMap; keyedCookies?: readonly string[] },
  res: { status: number; headers: HeaderMap },
  opts: FreshnessOptions,
  directives?: { cc: CacheControl; cdn: boolean },
  vary?: string[] | '*',
): boolean {
  return !hasUnkeyedCookie(req.headers, req.keyedCookies) || responseSharedWithCookies(res, opts, directives, vary);
}

/**
 * As cookieRuleAllows, for a stored response about to serve a request with a Cookie (not
 * someone else's page for hers). The response's part is computed once per stored header map:
 * stored maps are never mutated (a 304 merge makes a new one), so this stays pure in effect.
 */
export function storedCookieRuleAllows(
  requestHeaders: HeaderMap,
  keyedCookies: readonly string[] | undefined,
  stored: { status: number; headers: HeaderMap },
  opts: FreshnessOptions,
): boolean {
  if (!hasUnkeyedCookie(requestHeaders, keyedCookies)) return true;
  const known = verdictByHeaders.get(stored.headers);
  if (known && known.opts === opts && known.status === stored.status) return known.shared;
  const shared = responseSharedWithCookies(stored, opts);
  verdictByHeaders.set(stored.headers, { opts, status: stored.status, shared });
  return shared;
}

const verdictByHeaders = new WeakMap<HeaderMap, { opts: FreshnessOptions; status: number; shared: boolean }>();

/**
 * Whether the response may be shared among requests with cookies: it varies on Cookie (RFC
 * 9111 §4.1: stored per cookie), or cookieRequestShareable allows it.
 */
export function responseSharedWithCookies(
  res: { status: number; headers: HeaderMap },
  opts: FreshnessOptions,
  directives: { cc: CacheControl; cdn: boolean } = effectiveDirectives(res.headers, opts),
  vary: string[] | '*' = varyFieldNames(res.headers),
): boolean {
  if (vary !== '*' && vary.includes('cookie')) return true;
  let explicitLifetimeMs: number | undefined;
  if (hasExplicitFreshnessFrom(res.headers, directives)) {
    const lifetime = freshnessLifetimeFrom(res.status, res.headers, directives, opts);
    if (lifetime.source !== 'heuristic' && lifetime.source !== 'none') explicitLifetimeMs = lifetime.lifetimeMs;
  }
  return cookieRequestShareable(res, directives, explicitLifetimeMs, opts);
}

/**
 * Whether a response to a request with an unkeyed Cookie may be stored and shared.
 * `explicitLifetimeMs`: the lifetime from max-age or Expires (undefined when neither is there).
 */
export function cookieRequestShareable(
  res: { headers: HeaderMap },
  directives: { cc: CacheControl; cdn: boolean },
  explicitLifetimeMs: number | undefined,
  opts: Pick<FreshnessOptions, 'requestsWithCookies' | 'staticContentTypes'>,
): boolean {
  if (opts.requestsWithCookies === 'never') return false;
  const { cc, cdn } = directives;
  // The origin's own statement that a shared cache may keep it: public, s-maxage (addressed to
  // shared caches, RFC 9111 §5.2.2.10), CDN-Cache-Control (RFC 9213 §2), or a positive lifetime.
  // max-age=0 or a past Expires says "expired", not "share": a later max-stale would serve it.
  if (cdn || cc.public || cc.sMaxAge !== undefined) return true;
  if (explicitLifetimeMs !== undefined && explicitLifetimeMs > 0) return true;
  if (opts.requestsWithCookies === 'explicit') return false;
  // RFC 9111 §4.2.2: heuristic freshness only for static assets, never for pages (HTML, JSON).
  return isStaticContentType(res.headers, opts.staticContentTypes);
}
