// Variants over a store (RFC 9111 §4.1): one URL may hold several responses, one per set of
// selecting request header values. The store holds each variant under `primaryKey + '\0' +
// varyKey`; this index remembers which variants exist for a URL so that a lookup, a purge of
// the URL or a prefix purge finds all of them. The index follows the store's removals, so
// evictions never leave stale index rows behind.
import type { CacheEntry } from '../types.js';
import type { CacheStore } from './store.js';

export type Lookup =
  | { found: true; entry: CacheEntry; storedKey: string }
  | { found: false; miss: 'uri-miss' | 'vary-miss' };

/** Computes the request's secondary key for a response's Vary field names. */
export type SecondaryKeyOf = (varyNames: readonly string[]) => string;

const SEP = '\0';

export class VariantCache {
  readonly store: CacheStore;
  private readonly maxVariantsPerUrl: number;
  /** primary key -> stored keys of its variants, most recently stored last. */
  private readonly variants = new Map<string, string[]>();

  constructor(store: CacheStore, options: { maxVariantsPerUrl: number }) {
    this.store = store;
    this.maxVariantsPerUrl = options.maxVariantsPerUrl;
    store.onRemove((storedKey, _entry, reason) => {
      if (reason !== 'replace') this.forget(storedKey);
    });
  }

  /** The stored response that matches the request, the most recent one first (§4.1). */
  lookup(primaryKey: string, secondaryKeyOf: SecondaryKeyOf): Lookup {
    const keys = this.variants.get(primaryKey);
    if (!keys) return { found: false, miss: 'uri-miss' };
    for (let i = keys.length - 1; i >= 0; i--) {
      const storedKey = keys[i] as string;
      const candidate = this.store.peek(storedKey);
      if (!candidate) continue;
      if (secondaryKeyOf(candidate.varyNames) !== candidate.varyKey) continue;
      const entry = this.store.get(storedKey) as CacheEntry;
      return { found: true, entry, storedKey };
    }
    return { found: false, miss: 'vary-miss' };
  }

  /** The stored variant with this key, without touching recency. */
  peekVariant(primaryKey: string, varyKey: string): CacheEntry | undefined {
    return this.store.peek(primaryKey + SEP + varyKey);
  }

  /** Stores a variant; false when the store refused it (too large). */
  put(primaryKey: string, entry: CacheEntry): boolean {
    const storedKey = primaryKey + SEP + entry.varyKey;
    if (!this.store.set(storedKey, entry)) return false;
    let keys = this.variants.get(primaryKey);
    if (!keys) {
      keys = [];
      this.variants.set(primaryKey, keys);
    }
    const at = keys.indexOf(storedKey);
    if (at >= 0) keys.splice(at, 1);
    keys.push(storedKey);
    // Bounded variants per URL: a header with many values cannot crowd out the cache.
    while (keys.length > this.maxVariantsPerUrl) this.store.delete(keys[0] as string);
    return true;
  }

  /** Deletes every variant of a URL; returns how many were removed. */
  deleteUrl(primaryKey: string): number {
    const keys = this.variants.get(primaryKey);
    if (!keys) return 0;
    let removed = 0;
    for (const storedKey of [...keys]) if (this.store.delete(storedKey)) removed++;
    this.variants.delete(primaryKey);
    return removed;
  }

  /** Marks every variant of a URL as needing revalidation; returns how many were marked. */
  markUrlStale(primaryKey: string): number {
    const keys = this.variants.get(primaryKey);
    if (!keys) return 0;
    let marked = 0;
    for (const storedKey of keys) {
      const entry = this.store.peek(storedKey);
      if (entry) {
        entry.invalidated = true;
        marked++;
      }
    }
    return marked;
  }

  /** Primary keys of every stored URL. */
  urls(): IterableIterator<string> {
    return this.variants.keys();
  }

  private forget(storedKey: string): void {
    const primaryKey = storedKey.slice(0, storedKey.indexOf(SEP));
    const keys = this.variants.get(primaryKey);
    if (!keys) return;
    const at = keys.indexOf(storedKey);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length === 0) this.variants.delete(primaryKey);
  }
}
