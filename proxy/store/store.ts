// The store interface: a bounded key/value map of complete cache entries. Every implementation
// passes the shared contract in test/unit/store-contract.ts. Synchronous on purpose: the memory
// store answers hits without a promise on the hot path.
import type { CacheEntry } from '../types.js';
import { DEFAULT_TAG_FIELDS, tagsOf } from './tag-index.js';

export type RemovalReason = 'evict' | 'delete' | 'replace';

export interface StoreStats {
  /** Entries held now. */
  entries: number;
  /** Bytes held now, as counted by entrySizeBytes. */
  bytes: number;
  /** Entries dropped to make room since the store was made. */
  evictions: number;
  /** Entries refused because they exceeded maxObjectBytes. */
  rejectedTooLarge: number;
}

export interface CacheStore {
  /** The entry, and marks it recently used; undefined when absent. */
  get(key: string): CacheEntry | undefined;
  /** The entry without touching recency. */
  peek(key: string): CacheEntry | undefined;
  /**
   * Stores the entry; false (and nothing stored, any old entry under key removed) when it is
   * larger than maxObjectBytes. May swap the entry's body (and pieces) for exact copies of the
   * same bytes, so that what it holds is what it counts (see exactBuffer).
   */
  set(key: string, entry: CacheEntry): boolean;
  /** Removes the entry; true when there was one. */
  delete(key: string): boolean;
  has(key: string): boolean;
  /** Every key, most recently used first. */
  keys(): IterableIterator<string>;
  clear(): void;
  stats(): StoreStats;
  /** Called once for every entry that leaves the store, with why. */
  onRemove(listener: (key: string, entry: CacheEntry, reason: RemovalReason) => void): void;
}

/*
 * What an entry really costs in the process, so that cache.maxBytes bounds memory, not only
 * bodies. Figures for Node 20 on x64 (no pointer compression), from a one-off `node --expose-gc`
 * script that filled a MemoryStore under a VariantCache with 100 000 entries (a 44-character
 * key, no Vary) and compared heapUsed + arrayBuffers growth with the counted bytes:
 * - no fields, a shared empty body: 527 B per entry, of which the two key strings (the store's
 *   key and the variant index's) are ~130 B; the rest is the entry object and its boxed times,
 *   the empty header map, lru-cache's map row and list slots, the variant and path index rows:
 *   ENTRY_OVERHEAD_BYTES (~400 B).
 * - 8 fields as an origin sends them (136 value characters): +388 B, ~290 B of it the value
 *   strings, ~12 B per map slot; names of well-known fields are shared strings (undici interns
 *   them), so a name counts its characters only.
 * - a 1 KiB body of its own: +185 B of heap (Uint8Array, ArrayBuffer) and +1 024 B of
 *   arrayBuffers; RSS shows ~130 B more outside the heap (backing-store record, malloc rounding).
 * - a Surrogate-Key of two tags: +406 B (the field, a Set per tag and two map rows in the index).
 * Counted with the figures below: 2 412 B for the typical entry with a 1 KiB body, against
 * 2 246 B measured (2 116 B heap + arrayBuffers, ~130 B native); the entry with two tags adds
 * 500 B counted against 406 B measured.
 */
export const ENTRY_OVERHEAD_BYTES = 400;
export const BUFFER_OVERHEAD_BYTES = 320;
/** A tag's rows in the tag index (its Set, map rows), beyond its string. */
const TAG_INDEX_BYTES = 180;
/** A field's slot in the header map. */
const FIELD_SLOT_BYTES = 16;
/** An array of field lines (object and backing store), beyond its 8-byte slots. */
const ARRAY_BYTES = 32;
/**
 * A V8 string: a 16-byte header (map, hash, length) and one byte per character, rounded up to 8.
 * Field values, URLs and keys are Latin-1 as node:http and undici decode them, so one byte each.
 */
const STRING_HEADER_BYTES = 24;

function stringBytes(value: string): number {
  return STRING_HEADER_BYTES + value.length;
}

/** A stored Buffer: its bytes and its objects. (The store keeps it exact: see exactBuffer.) */
function bufferBytes(body: Buffer): number {
  return BUFFER_OVERHEAD_BYTES + body.length;
}

/**
 * Bytes an entry costs: body (or stored pieces) with its Buffer objects, field names and values,
 * the key (held by the store and by the variant index), its tags' index rows, and the fixed
 * overhead measured above. At least the entry's real footprint for typical entries.
 */
export function entrySizeBytes(key: string, entry: CacheEntry): number {
  let size = ENTRY_OVERHEAD_BYTES + 2 * stringBytes(key) + bufferBytes(entry.body);
  if (entry.varyKey.length > 0) size += stringBytes(entry.varyKey);
  if (entry.varyNames.length > 0) {
    size += ARRAY_BYTES;
    for (const name of entry.varyNames) size += 8 + stringBytes(name);
  }
  if (entry.parts) for (const piece of entry.parts.pieces) size += 48 + bufferBytes(piece.data);
  for (const name in entry.headers) {
    const value = entry.headers[name];
    if (value === undefined) continue;
    size += FIELD_SLOT_BYTES + name.length;
    if (typeof value === 'string') size += stringBytes(value);
    else {
      size += ARRAY_BYTES;
      for (const v of value) size += 8 + stringBytes(v);
    }
  }
  for (const tag of tagsOf(entry.headers, DEFAULT_TAG_FIELDS)) size += TAG_INDEX_BYTES + stringBytes(tag);
  return size;
}

/**
 * The bytes of `buf` in a Buffer of their own when `buf` is a view of a larger ArrayBuffer (a
 * slice of a socket read, or of Buffer's 8 KiB pool): a view keeps its whole parent alive, so a
 * 1 KiB body cut from a 64 KiB read would hold 64 KiB while counted as 1 KiB. Views within a
 * quarter of their parent's size are kept as they are (the waste is small, the copy is not).
 */
export function exactBuffer(buf: Buffer): Buffer {
  if (buf.buffer.byteLength - buf.length <= buf.length / 4) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

/** Makes the entry's body and pieces exact (see exactBuffer), in place: same bytes, true count. */
export function ownBodies(entry: CacheEntry): void {
  entry.body = exactBuffer(entry.body);
  if (entry.parts) for (const piece of entry.parts.pieces) piece.data = exactBuffer(piece.data);
}
