// Variants over a store (RFC 9111 §4.1): one URL may hold several responses, one per set of
// selecting request header values. The store holds each variant under `primaryKey + '\0' +
// varyKey`; this index remembers which variants exist for a URL so that a lookup, a purge of
// the URL or a prefix purge finds all of them. A path index serves purges by path (they ignore
// the host: an edge fronts one site, and the origin does not know the edges' host names), and a
// tag index serves purges by surrogate key. Every index follows the store's removals, so
// evictions never leave stale rows behind.
import type { CacheEntry } from '../types.js';
import type { CacheStore } from './store.js';
import { DEFAULT_TAG_FIELDS, TagIndex, tagsOf } from './tag-index.js';

export type Lookup =
  | { found: true; entry: CacheEntry; storedKey: string }
  | { found: false; miss: 'uri-miss' | 'vary-miss' };

/** Computes the request's secondary key for a response's Vary field names. */
export type SecondaryKeyOf = (varyNames: readonly string[]) => string;

const SEP = '\0';

export class VariantCache {
  readonly store: CacheStore;
  private readonly maxVariantsPerUrl: number;
  private readonly tagFields: readonly string[];
  /** primary key -> stored keys of its variants, most recently stored last. */
  private readonly variants = new Map<string, string[]>();
  /** path with query -> primary keys (one per host) with that path: a string while it is one (most paths). */
  private readonly byPath = new Map<string, string | Set<string>>();
  private readonly tags = new TagIndex();

  constructor(store: CacheStore, options: { maxVariantsPerUrl: number; tagFields?: readonly string[] }) {
    this.store = store;
    this.maxVariantsPerUrl = options.maxVariantsPerUrl;
    this.tagFields = options.tagFields ?? DEFAULT_TAG_FIELDS;
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
    this.tags.set(storedKey, tagsOf(entry.headers, this.tagFields));
    const keys = this.variants.get(primaryKey);
    if (!keys) {
      // A literal of one: `[]` then push would reserve 16 slots (~150 bytes) for most URLs' one variant.
      this.variants.set(primaryKey, [storedKey]);
      const path = pathOf(primaryKey);
      const hosts = this.byPath.get(path);
      if (hosts === undefined) this.byPath.set(path, primaryKey);
      else if (typeof hosts !== 'string') hosts.add(primaryKey);
      else if (hosts !== primaryKey) this.byPath.set(path, new Set([hosts, primaryKey]));
      return true;
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
    let marked = 0;
    for (const storedKey of this.variants.get(primaryKey) ?? []) if (this.markStale(storedKey)) marked++;
    return marked;
  }

  /** Marks one stored entry as needing revalidation (a soft purge). */
  markStale(storedKey: string): boolean {
    const entry = this.store.peek(storedKey);
    if (entry) entry.invalidated = true;
    return entry !== undefined;
  }

  /** Primary keys stored under a path (with query), whatever the host. */
  urlsWithPath(path: string): string[] {
    const hosts = this.byPath.get(path);
    return hosts === undefined ? [] : typeof hosts === 'string' ? [hosts] : [...hosts];
  }

  /** Primary keys whose path starts with the prefix. */
  urlsWithPathPrefix(prefix: string): string[] {
    const found: string[] = [];
    for (const [path, hosts] of this.byPath) {
      if (!path.startsWith(prefix)) continue;
      if (typeof hosts === 'string') found.push(hosts);
      else found.push(...hosts);
    }
    return found;
  }

  /** Stored keys of the entries that carry a tag. */
  keysWithTag(tag: string): string[] {
    return this.tags.keysFor(tag);
  }

  /** Primary keys of every stored URL. */
  urls(): IterableIterator<string> {
    return this.variants.keys();
  }

  private forget(storedKey: string): void {
    this.tags.forget(storedKey);
    const primaryKey = storedKey.slice(0, storedKey.indexOf(SEP));
    const keys = this.variants.get(primaryKey);
    if (!keys) return;
    const at = keys.indexOf(storedKey);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length > 0) return;
    this.variants.delete(primaryKey);
    const path = pathOf(primaryKey);
    const hosts = this.byPath.get(path);
    if (typeof hosts === 'string') {
      if (hosts === primaryKey) this.byPath.delete(path);
      return;
    }
    hosts?.delete(primaryKey);
    if (hosts?.size === 0) this.byPath.delete(path);
  }
}

/** The path-with-query part of a primary key (host + path). */
function pathOf(primaryKey: string): string {
  const at = primaryKey.indexOf('/');
  return at < 0 ? '/' : primaryKey.slice(at);
}
