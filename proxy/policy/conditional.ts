// Conditional requests answered from the cache (RFC 9110 §13, RFC 9111 §4.3.1, §4.3.2) and the
// entity-tag comparisons of RFC 9110 §8.8.3.2.
import type { HeaderMap } from '../types.js';
import { fieldList, hasField, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';

/** The opaque-tag of an entity-tag, without a W/ prefix and without surrounding OWS. */
function opaqueTag(tag: string): string {
  const trimmed = tag.trim();
  return trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed;
}

function isWeak(tag: string): boolean {
  return tag.trimStart().startsWith('W/');
}

/** RFC 9110 §8.8.3.2: weak comparison, the opaque-tags match whether or not either is weak. */
export function weakEtagMatch(a: string, b: string): boolean {
  const tagA = opaqueTag(a);
  return tagA.length > 0 && tagA === opaqueTag(b);
}

/** RFC 9110 §8.8.3.2: strong comparison, both strong and their opaque-tags identical. */
export function strongEtagMatch(a: string, b: string): boolean {
  return !isWeak(a) && !isWeak(b) && weakEtagMatch(a, b);
}

/**
 * RFC 9111 §4.3.2: evaluates a client's conditional GET or HEAD against the stored response.
 * If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.2.2). If-Match and
 * If-Unmodified-Since are not applicable to a cache (RFC 9111 §4.3.2): 'precondition-failed' is
 * never returned here.
 */
export function clientConditionalResult(
  req: { method: string; headers: HeaderMap },
  stored: { status: number; headers: HeaderMap },
): 'not-modified' | 'precondition-failed' | 'none' {
  // RFC 9110 §13.1.2, §13.1.3: If-None-Match / If-Modified-Since yield 304 only for GET and HEAD.
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'none';
  // RFC 9110 §13.2.1: preconditions apply to a 2xx representation (RFC 9111 §4.3.2: a stored 200).
  if (stored.status < 200 || stored.status > 299) return 'none';
  if (hasField(req.headers, 'if-none-match')) {
    const storedEtag = singleField(stored.headers, 'etag');
    for (const member of fieldList(req.headers, 'if-none-match')) {
      // RFC 9110 §13.1.2: "*" matches any current representation.
      if (member === '*') return 'not-modified';
      // RFC 9110 §13.1.2: weak comparison against the stored ETag.
      if (storedEtag !== undefined && weakEtagMatch(member, storedEtag)) return 'not-modified';
    }
    // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
    return 'none';
  }
  // RFC 9110 §13.1.3: an If-Modified-Since that is not one valid HTTP-date is ignored.
  const sinceMs = parseHttpDate(singleField(req.headers, 'if-modified-since'));
  if (sinceMs === undefined) return 'none';
  // RFC 9111 §4.3.2: without Last-Modified, the stored response's Date is used.
  const modifiedMs =
    parseHttpDate(singleField(stored.headers, 'last-modified')) ?? parseHttpDate(singleField(stored.headers, 'date'));
  if (modifiedMs === undefined) return 'none';
  // RFC 9110 §13.1.3: not modified when the modification date is earlier than or equal to it.
  return modifiedMs <= sinceMs ? 'not-modified' : 'none';
}

/** RFC 9110 §15.4.5: the fields a 304 carries from the stored response. */
const NOT_MODIFIED_FIELDS = [
  'cache-control',
  'cdn-cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'last-modified',
  'vary',
] as const;

/** RFC 9110 §15.4.5: the subset of the stored fields a 304 response carries; nothing else. */
export function notModifiedHeaders(stored: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = stored[name];
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.slice();
  }
  return out;
}

/**
 * RFC 9111 §4.3.1: the precondition fields to validate a stored response: If-None-Match from its
 * ETag, If-Modified-Since from its Last-Modified (copied as received, only when a valid date).
 */
export function revalidationHeaders(stored: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  const etag = singleField(stored, 'etag');
  if (etag !== undefined && etag.trim().length > 0) out['if-none-match'] = etag.trim();
  const lastModified = singleField(stored, 'last-modified');
  // RFC 9110 §13.1.3: a cache uses the exact Last-Modified value of the stored response.
  if (lastModified !== undefined && parseHttpDate(lastModified) !== undefined) out['if-modified-since'] = lastModified;
  return out;
}

/**
 * RFC 9110 §15.4.5: a 304 answers only a conditional GET or HEAD, and of the preconditions only
 * If-None-Match (§13.1.2) and If-Modified-Since (§13.1.3) lead to it (§13.2.2 steps 3 and 4).
 * False when `sent` (the fields of the request as sent upstream) carries neither: a 304 to it is
 * an origin error, not an answer about any representation.
 */
export function mayBeAnsweredNotModified(method: string, sent: HeaderMap): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return hasField(sent, 'if-none-match') || hasField(sent, 'if-modified-since');
}
