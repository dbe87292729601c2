// Invalidation after unsafe requests (RFC 9111 §4.4; safe methods: RFC 9110 §9.2.1).
import type { HeaderMap } from '../types.js';
import { singleField } from './fields.js';

/** RFC 9110 §9.2.1: the safe methods among those defined there (method names are case-sensitive). */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** RFC 9110 §9.2.1: GET, HEAD, OPTIONS and TRACE are safe. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/**
 * RFC 9111 §4.4: a non-error (2xx or 3xx) response to an unsafe method, including methods whose
 * safety is unknown, invalidates the target URI.
 */
export function invalidatesOnResponse(method: string, status: number): boolean {
  return !isSafeMethod(method) && status >= 200 && status <= 399;
}

function parseUrl(text: string, base?: URL): URL | undefined {
  try {
    const url = base === undefined ? new URL(text) : new URL(text, base);
    url.hash = ''; // fragments are not part of a target URI
    return url;
  } catch {
    return undefined;
  }
}

/**
 * RFC 9111 §4.4: the URIs to invalidate: the request URL, plus Location and Content-Location
 * resolved against it when they have the same origin (scheme, host, port), de-duplicated, as
 * absolute URLs (normalized by the WHATWG URL parser). A request URL that cannot be parsed is
 * returned as it is, alone.
 */
export function invalidationTargets(requestUrl: string, resHeaders: HeaderMap): string[] {
  const target = parseUrl(requestUrl);
  // RFC 9111 §4.4: the target URI MUST be invalidated, even when it is not a parseable URL.
  if (target === undefined) return [requestUrl];
  const targets = [target.href];
  for (const name of ['location', 'content-location']) {
    const value = singleField(resHeaders, name);
    if (value === undefined || value.trim().length === 0) continue;
    const url = parseUrl(value.trim(), target);
    // RFC 9111 §4.4: never invalidate a URI of another origin (denial-of-service protection).
    if (url === undefined || url.protocol !== target.protocol || url.host !== target.host) continue;
    if (!targets.includes(url.href)) targets.push(url.href);
  }
  return targets;
}
