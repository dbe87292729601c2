// The in-process store: an LRU map bounded in bytes (lru-cache's maxSize), not in entries.
// It holds no TTL: freshness belongs to the policy, the store only bounds memory.
import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../types.js';
import { entrySizeBytes, ownBodies } from './store.js';
import type { CacheStore, RemovalReason, StoreStats } from './store.js';

export interface MemoryStoreOptions {
  /** Total bytes the store may hold, as counted by entrySizeBytes. */
  maxBytes: number;
  /** Largest single entry accepted; at most maxBytes. */
  maxObjectBytes: number;
}

type RemoveListener = (key: string, entry: CacheEntry, reason: RemovalReason) => void;

function requirePositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`MemoryStore: ${name} must be a positive integer, got ${String(value)}`);
  }
}

export class MemoryStore implements CacheStore {
  readonly #cache: LRUCache<string, CacheEntry>;
  readonly #maxObjectBytes: number;
  readonly #listeners: RemoveListener[] = [];
  #evictions = 0;
  #rejectedTooLarge = 0;

  constructor(options: MemoryStoreOptions) {
    requirePositiveInteger('maxBytes', options.maxBytes);
    requirePositiveInteger('maxObjectBytes', options.maxObjectBytes);
    if (options.maxObjectBytes > options.maxBytes) {
      throw new RangeError(
        `MemoryStore: maxObjectBytes (${options.maxObjectBytes}) must not exceed maxBytes (${options.maxBytes})`,
      );
    }
    this.#maxObjectBytes = options.maxObjectBytes;
    this.#cache = new LRUCache<string, CacheEntry>({
      maxSize: options.maxBytes,
      maxEntrySize: options.maxObjectBytes,
      sizeCalculation: (entry, key) => entrySizeBytes(key, entry),
      // disposeAfter runs once lru-cache's own state is consistent, so a listener may call back
      // into the store (e.g. to read stats or drop a secondary index) safely.
      disposeAfter: (entry, key, reason) => this.#removed(key, entry, reason),
    });
  }

  get(key: string): CacheEntry | undefined {
    return this.#cache.get(key);
  }

  peek(key: string): CacheEntry | undefined {
    return this.#cache.peek(key);
  }

  has(key: string): boolean {
    return this.#cache.has(key);
  }

  set(key: string, entry: CacheEntry): boolean {
    const size = entrySizeBytes(key, entry);
    if (size > this.#maxObjectBytes) {
      // Checked here rather than left to lru-cache, which would drop the old entry with reason
      // 'set' (read as 'replace') although nothing replaces it: report it as a plain delete.
      this.#cache.delete(key);
      this.#rejectedTooLarge++;
      return false;
    }
    ownBodies(entry);
    this.#cache.set(key, entry, { size });
    return true;
  }

  delete(key: string): boolean {
    return this.#cache.delete(key);
  }

  keys(): IterableIterator<string> {
    // lru-cache yields most recently used first, as the interface asks.
    return this.#cache.keys();
  }

  clear(): void {
    // lru-cache disposes every entry with reason 'delete', so callers' indexes stay in step.
    this.#cache.clear();
  }

  stats(): StoreStats {
    return {
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
      evictions: this.#evictions,
      rejectedTooLarge: this.#rejectedTooLarge,
    };
  }

  onRemove(listener: RemoveListener): void {
    this.#listeners.push(listener);
  }

  #removed(key: string, entry: CacheEntry, disposeReason: LRUCache.DisposeReason): void {
    let reason: RemovalReason;
    if (disposeReason === 'evict') {
      this.#evictions++;
      reason = 'evict';
    } else if (disposeReason === 'set') {
      reason = 'replace';
    } else {
      // 'delete' (also clear); 'expire' and 'fetch' cannot happen without TTL or fetchMethod.
      reason = 'delete';
    }
    for (const listener of this.#listeners) {
      try {
        listener(key, entry, reason);
      } catch (err) {
        // A throwing listener must neither starve the others nor leave lru-cache's queue of
        // pending disposals half flushed; report it loudly instead.
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'MemoryStoreListenerError');
      }
    }
  }
}
