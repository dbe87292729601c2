// Turning origin responses into stored entries, shared by fills, revalidations, HEAD refreshes
// and cacheable POST responses, so that every path stores the same shape.
import {
  effectiveDirectives,
  endToEndHeaders,
  formatHttpDate,
  initialAgeMs,
  secondaryKey,
  varyFieldNames,
} from '../policy/index.js';
import type { FreshnessOptions } from '../policy/index.js';
import { entrySizeBytes } from '../store/store.js';
import type { CacheEntry, HeaderMap } from '../types.js';
import type { UpstreamResponse } from '../upstream/origin-client.js';

type Timed = Pick<UpstreamResponse, 'status' | 'headers' | 'requestTimeMs' | 'responseTimeMs'>;

/** End-to-end fields of an origin response; Date added when it has none (RFC 9110 §6.6.1). */
export function responseFields(upstream: Timed): HeaderMap {
  const headers = endToEndHeaders(upstream.headers);
  if (headers['date'] === undefined) headers['date'] = formatHttpDate(upstream.responseTimeMs);
  return headers;
}

/**
 * RFC 9111 §5.2.2.4, §5.2.2.7: fields named by no-cache="…" or private="…" are not shared.
 * `directives`: the response's, when the caller has parsed them already.
 */
export function withoutUnsharedFields(headers: HeaderMap, freshness: FreshnessOptions, directives = effectiveDirectives(headers, freshness)): HeaderMap {
  const { cc } = directives;
  if (cc.privateFields.length === 0 && cc.noCacheFields.length === 0) return headers;
  const shared: HeaderMap = { ...headers };
  for (const name of cc.privateFields) delete shared[name];
  for (const name of cc.noCacheFields) delete shared[name];
  return shared;
}

/** Shared by every entry without Vary (most of them): one array less kept per entry. */
const NO_VARY: readonly string[] = Object.freeze([]);

/** The variant a response is stored as, for the request that fetched it (RFC 9111 §4.1). */
export function variantOf(headers: HeaderMap, requestHeaders: HeaderMap): { varyStar: boolean; varyNames: readonly string[]; varyKey: string } {
  const vary = varyFieldNames(headers);
  const varyNames = vary === '*' || vary.length === 0 ? NO_VARY : vary;
  return { varyStar: vary === '*', varyNames, varyKey: secondaryKey(varyNames, requestHeaders) };
}

/**
 * An entry, built field by field in one order: every entry then shares one hidden class, which
 * keeps hits fast. A new Vary (on a 304) moves it to the variant of the request that fetched it.
 */
function entryOf(status: number, headers: HeaderMap, body: Buffer, upstream: Timed, requestHeaders: HeaderMap): CacheEntry {
  const { varyNames, varyKey } = variantOf(headers, requestHeaders);
  return {
    status,
    headers,
    body,
    requestTimeMs: upstream.requestTimeMs,
    responseTimeMs: upstream.responseTimeMs,
    initialAgeMs: initialAgeMs({ headers: upstream.headers, requestTimeMs: upstream.requestTimeMs, responseTimeMs: upstream.responseTimeMs }),
    varyNames,
    varyKey,
    invalidated: false,
  };
}

/** A new entry from a complete response; `fields` are what may be shared (see above). */
export function newEntry(upstream: Timed, fields: HeaderMap, body: Buffer, requestHeaders: HeaderMap): CacheEntry {
  const stored: HeaderMap = { ...fields };
  delete stored['age']; // recomputed on every use from initialAgeMs
  return entryOf(upstream.status, stored, body, upstream, requestHeaders);
}

/** The stored entry with fields merged from a 304 or a matching HEAD (§4.3.4, §4.3.5), fresh again. */
export function freshenedEntry(stale: CacheEntry, merged: HeaderMap, upstream: Timed, requestHeaders: HeaderMap): CacheEntry {
  const entry = entryOf(stale.status, merged, stale.body, upstream, requestHeaders);
  if (stale.parts !== undefined) entry.parts = stale.parts;
  return entry;
}

export function contentLength(headers: HeaderMap): number | undefined {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

const NO_BODY = Buffer.alloc(0);

/**
 * How many body bytes an entry with these fields may hold under the store's object bound, which
 * counts the whole entry (key, fields, overhead: entrySizeBytes). Deciding `too-large` with it
 * means Cache-Status never says `stored` for an entry the store would then refuse.
 */
export function bodyRoom(maxObjectBytes: number, key: string, fields: HeaderMap): number {
  const bare: CacheEntry = { status: 200, headers: fields, body: NO_BODY, requestTimeMs: 0, responseTimeMs: 0, initialAgeMs: 0, varyNames: NO_VARY, varyKey: '', invalidated: false };
  return Math.max(0, maxObjectBytes - entrySizeBytes(key, bare));
}
