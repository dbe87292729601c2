// Updating a stored response from a 304 or a HEAD response (RFC 9111 §3.2, §4.3.4, §4.3.5).
import type { HeaderMap } from '../types.js';
import { parseCacheControl, parseCdnCacheControl } from './cache-control.js';
import { fieldList, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';
import { isHopByHop } from './hop-by-hop.js';
import { setCookieShareable } from './storable.js';
import { strongEtagMatch, weakEtagMatch } from './conditional.js';

/**
 * Fields never taken from the update: RFC 9111 §3.2 Content-Length; fields processed and removed
 * by the recipient (Content-Range, framing); Age, which the caller turns into the new initial age
 * (a stored Age would be resent stale).
 */
const NOT_UPDATED: ReadonlySet<string> = new Set(['content-length', 'content-range', 'age']);

/**
 * RFC 9111 §3.2: a new map with every field of `incoming` added to `stored`, replacing stored
 * values of the same name, except: fields excepted from storage by §3.1 (hop-by-hop, those named
 * in Connection, proxy-*, and those a qualified private names), Content-Length, Content-Range and
 * Age. Set-Cookie is only taken when the merged response may share it (§7.3, see storable.ts).
 */
export function mergeStoredHeaders(stored: HeaderMap, incoming: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name in stored) {
    const value = stored[name];
    // The stored Age is dropped too: the caller computes a new initial age (RFC 9111 §4.2.3).
    if (value !== undefined && name !== 'age') out[name] = value;
  }
  // RFC 9110 §7.6.1, RFC 9111 §3.1: fields named in Connection are not stored.
  const connectionOptions = incoming['connection'] === undefined ? [] : fieldList(incoming, 'connection').map((n) => n.toLowerCase());
  let setCookie = false;
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    // RFC 9111 §3.1 exceptions; RFC 9111 §3.2: Content-Length; automatically processed fields.
    if (isHopByHop(name) || connectionOptions.includes(name) || NOT_UPDATED.has(name)) continue;
    if (name === 'set-cookie') {
      setCookie = true;
      continue;
    }
    out[name] = value;
  }
  // The directives in effect after the update (RFC 9213 §2.2: CDN-Cache-Control first).
  const cdn = parseCdnCacheControl(out['cdn-cache-control']);
  const cc = cdn ?? parseCacheControl(out['cache-control']);
  // RFC 9111 §3.1, §5.2.2.7: fields a qualified private names are not stored by a shared cache.
  for (const field of cc.privateFields) delete out[field];
  // RFC 9111 §7.3 (documented choice): one user's cookie from a 304 is not stored for all.
  if (setCookie && setCookieShareable(cc, cdn !== undefined) && !cc.privateFields.includes('set-cookie')) {
    out['set-cookie'] = incoming['set-cookie'];
  }
  return out;
}

/** True when the ETag is present as one strong entity-tag. */
function strongEtag(h: HeaderMap): string | undefined {
  const etag = singleField(h, 'etag');
  return etag !== undefined && !etag.trimStart().startsWith('W/') ? etag : undefined;
}

/** Two Last-Modified values name the same time (as dates when both parse, else as text). */
function sameLastModified(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const aMs = parseHttpDate(a);
  const bMs = parseHttpDate(b);
  return aMs !== undefined && bMs !== undefined ? aMs === bMs : a.trim() === b.trim();
}

/**
 * RFC 9111 §4.3.4: whether a 304 selects this stored response for update, given that it answers
 * the conditional request this cache built from `stored` (revalidationHeaders; one stored response
 * per request here). False only when a validator in the 304 identifies another representation.
 */
export function notModifiedMatchesStored(stored: HeaderMap, notModified: HeaderMap): boolean {
  const storedEtag = singleField(stored, 'etag');
  const storedLastModified = singleField(stored, 'last-modified');
  const newEtag = singleField(notModified, 'etag');
  const newLastModified = singleField(notModified, 'last-modified');
  // RFC 9111 §4.3.4 case 1: a strong validator in the 304 must be the stored one.
  const newStrong = strongEtag(notModified);
  if (newStrong !== undefined) return storedEtag !== undefined && strongEtagMatch(newStrong, storedEtag);
  // RFC 9111 §4.3.4 case 2: weak validators (a weak ETag, a Last-Modified) must correspond.
  if (newEtag !== undefined || newLastModified !== undefined) {
    if (newEtag !== undefined && (storedEtag === undefined || !weakEtagMatch(newEtag, storedEtag))) return false;
    if (newLastModified !== undefined && !sameLastModified(newLastModified, storedLastModified)) return false;
    return true;
  }
  // RFC 9111 §4.3.4 case 3, RFC 9110 §13.1, §15.4.5: a 304 without validators says the validators
  // of the one stored response sent with the request matched (or, for a stored response without
  // any, selects it as case 3 does): that response is selected.
  return true;
}

/**
 * RFC 9111 §4.3.5: whether a 200 response to HEAD still describes the stored GET response: every
 * validator it carries (ETag, Last-Modified) and its Content-Length must match. When false, the
 * stored response must be treated as stale. `storedBodyBytes` stands for the stored
 * Content-Length when the stored response has none (e.g. it came chunked).
 */
export function headMatchesStored(stored: HeaderMap, head: HeaderMap, storedBodyBytes?: number): boolean {
  const headEtag = singleField(head, 'etag');
  if (head['etag'] !== undefined) {
    const storedEtag = singleField(stored, 'etag');
    // RFC 9111 §4.3.5: matching values of the received ETag.
    if (headEtag === undefined || storedEtag === undefined || headEtag.trim() !== storedEtag.trim()) return false;
  }
  if (head['last-modified'] !== undefined) {
    // RFC 9111 §4.3.5: matching values of the received Last-Modified.
    if (!sameLastModified(singleField(head, 'last-modified'), singleField(stored, 'last-modified'))) return false;
  }
  if (head['content-length'] !== undefined) {
    // RFC 9111 §4.3.5: if the HEAD response has Content-Length, it must match the stored one.
    const headLength = singleField(head, 'content-length')?.trim();
    const storedLength = singleField(stored, 'content-length')?.trim() ?? storedBodyBytes?.toString();
    if (headLength === undefined || storedLength === undefined || !isDigits(headLength) || !isDigits(storedLength)) {
      return false;
    }
    if (BigInt(headLength) !== BigInt(storedLength)) return false;
  }
  return true;
}

function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
