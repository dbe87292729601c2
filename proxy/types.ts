// Types shared by the proxy's parts: header maps as node:http and undici hand them over, and the
// stored entry. Kept here so that policy/, store/, upstream/ and server/ agree without importing
// each other.

/** Field values as node:http and undici give them: one string, or several field lines. */
export type HeaderValue = string | string[];

/** Header fields with lower-case names. Absent fields are missing or undefined. */
export type HeaderMap = Record<string, HeaderValue | undefined>;

/** One stored response: what the cache keeps for a (URL, variant) pair. */
export interface CacheEntry {
  /** Status code of the stored response (not 304, not 206 in this version). */
  status: number;
  /** Stored fields, lower-case names, hop-by-hop fields removed (RFC 9111 §3.1). */
  headers: HeaderMap;
  /** The complete body: never a truncated one. */
  body: Buffer;
  /** When the request that produced this response was sent (ms since epoch, RFC 9111 §4.2.3). */
  requestTimeMs: number;
  /** When the response was received (ms since epoch). */
  responseTimeMs: number;
  /** corrected_initial_age of RFC 9111 §4.2.3, in ms. */
  initialAgeMs: number;
  /** Field names of the response's Vary (lower case, sorted); empty when it has none. */
  varyNames: readonly string[];
  /** Normalized values of the request's selecting header fields (RFC 9111 §4.1). */
  varyKey: string;
  /** Set by a soft invalidation: the entry must be revalidated before its next use. */
  invalidated: boolean;
  /**
   * Present on a partial entry (RFC 9111 §3.3): the byte ranges of the representation stored so
   * far; `body` is then empty and `status` is 206. Such an entry serves only ranges it holds.
   */
  parts?: StoredParts;
}

/** Pieces of one representation: sorted by start, neither overlapping nor adjacent. */
export interface StoredParts {
  completeLength: number;
  pieces: Array<{ start: number; data: Buffer }>;
}
