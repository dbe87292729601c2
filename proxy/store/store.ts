// The store interface: a bounded key/value map of complete cache entries. Every implementation
// passes the shared contract in test/unit/store-contract.ts. Synchronous on purpose: the memory
// store answers hits without a promise on the hot path.
import type { CacheEntry } from '../types.js';

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
  /** Stores the entry; false (and nothing stored, any old entry under key removed) when it is larger than maxObjectBytes. */
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

/** Bytes an entry costs: body (or stored pieces), header names and values, the key, and a fixed overhead. */
export function entrySizeBytes(key: string, entry: CacheEntry): number {
  let size = 200 + key.length * 2 + entry.body.length + entry.varyKey.length * 2;
  if (entry.parts) for (const piece of entry.parts.pieces) size += piece.data.length + 32;
  for (const name in entry.headers) {
    const value = entry.headers[name];
    if (value === undefined) continue;
    size += name.length * 2 + 16;
    if (typeof value === 'string') size += value.length * 2;
    else for (const v of value) size += v.length * 2 + 16;
  }
  return size;
}
