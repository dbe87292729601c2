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
import type { FreshnessOptions } from './freshness.js';

/**
 * True when the request carries a cookie that the cache key does not hold. `keyedCookies`: the
 * names a route puts into the key (RFC 6265 §5.4 cookie-string: `name=value` pairs split by ';').
 */
export function hasUnkeyedCookie(h: HeaderMap, keyedCookies?: readonly string[]): boolean {
  for (const line of fieldLines(h, 'cookie')) {
    for (const pair of line.split(';')) {
      const member = pair.trim();
      if (member === '') continue;
      // A nameless value (no '=') is never part of a key; names are case-sensitive (RFC 6265 §5.4).
      const eq = member.indexOf('=');
      if (eq < 0 || keyedCookies === undefined || !keyedCookies.includes(member.slice(0, eq).trim())) return true;
    }
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
