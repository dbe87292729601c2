// The header fields that cross the proxy: what goes to the origin and what goes back to the
// client. Hop-by-hop fields stop here (RFC 9110 §7.6.1); Via and X-Forwarded-* are added.
import { endToEndHeaders } from '../policy/index.js';
import type { HeaderMap, HeaderValue } from '../types.js';
import type { Exchange } from './exchange.js';
import type { ProxyHooks } from './options.js';

/**
 * Request fields the proxy handles itself and never forwards as they are. X-Forwarded-Host and
 * -Proto are set by this proxy, never taken from clients, and the URL-override fields some
 * frameworks honour are dropped: none is part of the cache key, so letting a client set them
 * would let it poison the cached response for everyone else.
 */
const NOT_FORWARDED = Object.freeze(['host', 'expect', 'x-forwarded-host', 'x-forwarded-proto', 'x-original-url', 'x-rewrite-url', 'x-http-method-override']);
/** Client validators, replaced by the cache's own when it fills or revalidates an entry. */
export const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-range', 'range'];
// Frozen: endToEndHeaders then checks their case once, not per request.
const NOT_FORWARDED_WHEN_FILLING = Object.freeze([...NOT_FORWARDED, ...CLIENT_CONDITIONALS]);
const CDN_CACHE_CONTROL = Object.freeze(['cdn-cache-control']);

export function appendField(value: HeaderValue | undefined, member: string): string {
  if (value === undefined) return member;
  const joined = typeof value === 'string' ? value : value.join(', ');
  return joined === '' ? member : `${joined}, ${member}`;
}

/**
 * Fields for the origin request. `dropConditionals` when the cache fills an entry for itself.
 * The tier's own fields (hooks.ownFields) are never taken from the client; hooks.upstreamFields() sets them.
 */
export function upstreamRequestHeaders(ex: Exchange, viaName: string, dropConditionals: boolean, tier?: Pick<ProxyHooks, 'upstreamFields' | 'ownFields'>): HeaderMap {
  const drop = dropConditionals ? NOT_FORWARDED_WHEN_FILLING : NOT_FORWARDED;
  const out = endToEndHeaders(ex.headers, drop);
  // undici wants a single string for singular fields such as Content-Length.
  for (const name in out) {
    const value = out[name];
    if (Array.isArray(value) && value.length === 1) out[name] = value[0];
  }
  out['via'] = appendField(ex.headers['via'], `1.1 ${viaName}`);
  out['x-forwarded-for'] = appendField(ex.headers['x-forwarded-for'], ex.req.socket.remoteAddress ?? 'unknown');
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-host'] = ex.host;
  if (tier) {
    // Checked first: most requests carry none, and a delete would change the object's shape.
    for (const name of tier.ownFields) if (out[name] !== undefined) delete out[name];
    Object.assign(out, tier.upstreamFields());
  }
  return out;
}

/** False for the statuses that never carry content: 1xx, 204, 304 (RFC 9110 §6.4.1). */
export function statusHasContent(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

/**
 * End-to-end response fields, minus the ones this cache keeps to itself, and minus a
 * Content-Length an origin sent with a 1xx or 204 (RFC 9110 §8.6: a server MUST NOT send one).
 */
export function downstreamFields(upstream: HeaderMap, forwardCdnCacheControl: boolean, status: number): HeaderMap {
  const out = endToEndHeaders(upstream, forwardCdnCacheControl ? undefined : CDN_CACHE_CONTROL);
  if ((status < 200 || status === 204) && out['content-length'] !== undefined) delete out['content-length'];
  return out;
}
