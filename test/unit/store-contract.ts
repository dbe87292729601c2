// The behaviour every CacheStore must show. Not a test file itself: each store's test file calls
// storeContract() with a factory, so all stores are held to the same rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheEntry, HeaderMap } from '../../proxy/types.js';
import { entrySizeBytes } from '../../proxy/store/store.js';
import type { CacheStore, RemovalReason } from '../../proxy/store/store.js';

export interface StoreFactoryOptions {
  maxBytes: number;
  maxObjectBytes: number;
}

export interface EntryOptions {
  /** Body length in bytes; the content is deterministic from `fill`. */
  bodyBytes?: number;
  /** Seed for the body bytes, so two entries of one size differ. */
  fill?: number;
  headers?: HeaderMap;
  status?: number;
  varyKey?: string;
}

/** A complete CacheEntry with a body of the given size and the given headers. */
export function makeEntry(opts: EntryOptions = {}): CacheEntry {
  const bodyBytes = opts.bodyBytes ?? 0;
  const fill = opts.fill ?? 0;
  const body = Buffer.alloc(bodyBytes);
  // Every byte value appears, so a store that re-encodes the body (e.g. as utf8) is caught.
  for (let i = 0; i < bodyBytes; i++) body[i] = (i * 31 + fill) & 0xff;
  const now = Date.now();
  return {
    status: opts.status ?? 200,
    headers: opts.headers ?? { 'content-type': 'application/octet-stream' },
    body,
    requestTimeMs: now - 5,
    responseTimeMs: now,
    initialAgeMs: 0,
    varyNames: [],
    varyKey: opts.varyKey ?? '',
    invalidated: false,
  };
}

interface Removal {
  key: string;
  entry: CacheEntry;
  reason: RemovalReason;
}

function recordRemovals(store: CacheStore): Removal[] {
  const removals: Removal[] = [];
  store.onRemove((key, entry, reason) => removals.push({ key, entry, reason }));
  return removals;
}

/** A small deterministic generator, so failures reproduce. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

export function storeContract(name: string, make: (opts: StoreFactoryOptions) => CacheStore): void {
  // node:test registers synchronously; the returned promises are the runner's to await.
  void describe(`CacheStore contract: ${name}`, () => {
    void test('set/get/peek/has/delete on present and absent keys', () => {
      const store = make({ maxBytes: 100_000, maxObjectBytes: 50_000 });
      const entry = makeEntry({ bodyBytes: 10 });
      assert.equal(store.get('a'), undefined);
      assert.equal(store.peek('a'), undefined);
      assert.equal(store.has('a'), false);
      assert.equal(store.set('a', entry), true);
      assert.equal(store.has('a'), true);
      assert.deepEqual(store.get('a'), entry);
      assert.deepEqual(store.peek('a'), entry);
      assert.equal(store.delete('a'), true);
      assert.equal(store.delete('a'), false);
      assert.equal(store.has('a'), false);
      assert.equal(store.get('a'), undefined);
      assert.deepEqual(store.stats(), { entries: 0, bytes: 0, evictions: 0, rejectedTooLarge: 0 });
    });

    void test('keys() lists every key, most recently used first', () => {
      const store = make({ maxBytes: 100_000, maxObjectBytes: 50_000 });
      for (const k of ['a', 'b', 'c']) store.set(k, makeEntry({ bodyBytes: 1 }));
      assert.deepEqual([...store.keys()], ['c', 'b', 'a']);
      store.get('a');
      assert.deepEqual([...store.keys()], ['a', 'c', 'b']);
      store.peek('b');
      assert.deepEqual([...store.keys()], ['a', 'c', 'b'], 'peek must not change recency');
    });

    void test('clear() empties the store and fires delete for each entry', () => {
      const store = make({ maxBytes: 100_000, maxObjectBytes: 50_000 });
      const removals = recordRemovals(store);
      for (const k of ['a', 'b', 'c']) store.set(k, makeEntry({ bodyBytes: 5 }));
      store.clear();
      assert.equal(store.stats().entries, 0);
      assert.equal(store.stats().bytes, 0);
      assert.deepEqual([...store.keys()], []);
      assert.deepEqual(removals.map((r) => r.key).sort(), ['a', 'b', 'c']);
      assert.ok(removals.every((r) => r.reason === 'delete'));
      // The store is usable again after clear.
      assert.equal(store.set('d', makeEntry()), true);
      assert.equal(store.has('d'), true);
    });

    void test('get refreshes recency, peek does not: the LRU entry is evicted', () => {
      const entry = makeEntry({ bodyBytes: 100 });
      const one = entrySizeBytes('k1', entry);
      // Room for exactly three entries of equal size (keys of equal length).
      const store = make({ maxBytes: one * 3, maxObjectBytes: one });
      const removals = recordRemovals(store);
      for (const k of ['k1', 'k2', 'k3']) assert.equal(store.set(k, makeEntry({ bodyBytes: 100 })), true);
      assert.equal(store.stats().bytes, one * 3);
      assert.equal(store.stats().evictions, 0);

      store.peek('k1');
      store.set('k4', makeEntry({ bodyBytes: 100 }));
      assert.equal(store.has('k1'), false, 'peek must not have saved k1');
      assert.deepEqual(removals.map((r) => [r.key, r.reason]), [['k1', 'evict']]);

      store.get('k2');
      store.set('k5', makeEntry({ bodyBytes: 100 }));
      assert.equal(store.has('k2'), true, 'get must have saved k2');
      assert.equal(store.has('k3'), false);
      assert.deepEqual(removals.map((r) => [r.key, r.reason]), [['k1', 'evict'], ['k3', 'evict']]);
      assert.equal(store.stats().evictions, 2);
      assert.equal(store.stats().entries, 3);
    });

    void test('the byte bound holds over many sets of varying sizes, evictions counted', () => {
      const maxBytes = 20_000;
      // Bodies up to 5 500 bytes, plus what the entry itself costs.
      const store = make({ maxBytes, maxObjectBytes: 7_000 });
      const removals = recordRemovals(store);
      const rand = lcg(42);
      for (let i = 0; i < 400; i++) {
        const key = `/item/${Math.floor(rand() * 60)}`;
        const ok = store.set(key, makeEntry({ bodyBytes: Math.floor(rand() * 5_500), fill: i }));
        assert.equal(ok, true);
        assert.ok(store.stats().bytes <= maxBytes, `bytes ${store.stats().bytes} > ${maxBytes} after set ${i}`);
      }
      const stats = store.stats();
      assert.ok(stats.evictions > 0, 'the workload must have forced evictions');
      assert.equal(stats.evictions, removals.filter((r) => r.reason === 'evict').length);
      assert.ok(removals.some((r) => r.reason === 'replace'), 'the workload reuses keys');
      // bytes is exactly the sum of entrySizeBytes over what is held.
      const keys = [...store.keys()];
      assert.equal(stats.entries, keys.length);
      let sum = 0;
      for (const k of keys) {
        const e = store.peek(k);
        assert.ok(e !== undefined);
        sum += entrySizeBytes(k, e);
      }
      assert.equal(stats.bytes, sum);
    });

    void test('an entry larger than maxObjectBytes is refused, counted, and leaves no old value', () => {
      const store = make({ maxBytes: 50_000, maxObjectBytes: 5_000 });
      const removals = recordRemovals(store);
      const small = makeEntry({ bodyBytes: 100 });
      assert.equal(store.set('/x', small), true);
      assert.equal(store.set('/x', makeEntry({ bodyBytes: 6_000 })), false);
      assert.equal(store.has('/x'), false, 'the stale old version must not survive a refused replacement');
      assert.equal(store.get('/x'), undefined);
      assert.equal(store.stats().rejectedTooLarge, 1);
      assert.equal(store.stats().entries, 0);
      assert.equal(store.stats().bytes, 0);
      // The old entry left the store: reported once, as a delete (nothing replaced it).
      assert.equal(removals.length, 1);
      assert.equal(removals[0]?.key, '/x');
      assert.equal(removals[0]?.entry, small);
      assert.equal(removals[0]?.reason, 'delete');

      // Refusing a key that was absent removes nothing but still counts.
      assert.equal(store.set('/y', makeEntry({ bodyBytes: 9_000 })), false);
      assert.equal(store.stats().rejectedTooLarge, 2);
      assert.equal(removals.length, 1);
    });

    void test('an entry of exactly maxObjectBytes is accepted', () => {
      const entry = makeEntry({ bodyBytes: 1_000 });
      const size = entrySizeBytes('/exact', entry);
      const store = make({ maxBytes: size * 2, maxObjectBytes: size });
      assert.equal(store.set('/exact', entry), true);
      assert.equal(store.stats().bytes, size);
      // Same key length, one body byte more: one byte over the limit.
      assert.equal(store.set('/exacu', makeEntry({ bodyBytes: 1_001 })), false);
    });

    void test('sizes count headers and the key, not only the body', () => {
      const store = make({ maxBytes: 20_000, maxObjectBytes: 4_000 });
      // Empty body but 4000 chars of header: refused.
      const bigHeaders = makeEntry({ headers: { 'x-big': 'h'.repeat(4_000) } });
      assert.equal(store.set('/h', bigHeaders), false);
      // Empty body, no headers, but a 2000-char key: refused.
      assert.equal(store.set('/' + 'k'.repeat(2_000), makeEntry({ headers: {} })), false);
      assert.equal(store.stats().rejectedTooLarge, 2);
      // A multi-valued header counts each value.
      const multi = makeEntry({ headers: { 'set-cookie': ['a=1', 'b=2'], vary: 'accept' }, varyKey: 'gzip' });
      assert.equal(store.set('/m', multi), true);
      assert.equal(store.stats().bytes, entrySizeBytes('/m', multi));
      assert.ok(store.stats().bytes > 200 + multi.body.length);
    });

    void test('a small body cut from a larger ArrayBuffer is held in a buffer of its own, so the count is true', () => {
      const store = make({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
      // A 1 KiB body as a view of a 64 KiB socket read: kept as is, it would hold all 64 KiB.
      const read = Buffer.alloc(65_536, 7);
      read.write('the body', 100, 'latin1');
      const sliced = makeEntry();
      sliced.body = read.subarray(100, 1_124);
      assert.equal(store.set('/sliced', sliced), true);
      const back = store.get('/sliced');
      assert.ok(back !== undefined);
      assert.equal(back.body.length, 1_024);
      assert.equal(back.body.buffer.byteLength, 1_024, 'the stored body does not keep the 64 KiB read alive');
      assert.ok(back.body.equals(read.subarray(100, 1_124)));
      // A body from Buffer's shared 8 KiB pool is made exact too.
      const pooled = makeEntry();
      pooled.body = Buffer.from('a pooled body', 'latin1');
      store.set('/pooled', pooled);
      assert.equal(store.get('/pooled')?.body.buffer.byteLength, 'a pooled body'.length);
      // A body that owns its ArrayBuffer is kept, not copied.
      const own = makeEntry({ bodyBytes: 5_000 });
      const body = own.body;
      store.set('/own', own);
      assert.equal(store.get('/own')?.body, body);
      assert.equal(store.stats().bytes, entrySizeBytes('/sliced', sliced) + entrySizeBytes('/pooled', pooled) + entrySizeBytes('/own', own));
    });

    void test('the stored body comes back byte-identical, never truncated', () => {
      const store = make({ maxBytes: 4_000_000, maxObjectBytes: 2_000_000 });
      const entry = makeEntry({ bodyBytes: 1_500_000, fill: 7 });
      const copy = Buffer.from(entry.body);
      assert.equal(store.set('/big', entry), true);
      const back = store.get('/big');
      assert.ok(back !== undefined);
      assert.equal(back.body.length, copy.length);
      assert.ok(back.body.equals(copy));
      assert.equal(back.status, 200);
      assert.deepEqual(back.headers, entry.headers);
    });

    void test('replacing a key fires replace exactly once, with the old entry', () => {
      const store = make({ maxBytes: 100_000, maxObjectBytes: 50_000 });
      const removals = recordRemovals(store);
      const first = makeEntry({ bodyBytes: 10, fill: 1 });
      const second = makeEntry({ bodyBytes: 20, fill: 2 });
      store.set('/r', first);
      store.set('/r', second);
      assert.equal(removals.length, 1);
      assert.equal(removals[0]?.key, '/r');
      assert.equal(removals[0]?.reason, 'replace');
      assert.equal(removals[0]?.entry, first);
      assert.equal(store.get('/r'), second);
      assert.equal(store.stats().entries, 1);
      assert.equal(store.stats().bytes, entrySizeBytes('/r', second));
    });

    void test('delete fires delete once; deleting an absent key fires nothing', () => {
      const store = make({ maxBytes: 100_000, maxObjectBytes: 50_000 });
      const removals = recordRemovals(store);
      const entry = makeEntry({ bodyBytes: 3 });
      store.set('/d', entry);
      store.set('/other', makeEntry());
      assert.equal(store.delete('/d'), true);
      assert.equal(store.delete('/d'), false);
      assert.deepEqual(removals, [{ key: '/d', entry, reason: 'delete' }]);
    });

    void test('eviction fires evict, and every listener hears every removal', () => {
      const entry = makeEntry({ bodyBytes: 500 });
      const one = entrySizeBytes('/e1', entry);
      const store = make({ maxBytes: one * 2, maxObjectBytes: one });
      const a = recordRemovals(store);
      const b = recordRemovals(store);
      store.set('/e1', entry);
      store.set('/e2', makeEntry({ bodyBytes: 500 }));
      store.set('/e3', makeEntry({ bodyBytes: 500 }));
      assert.deepEqual(a, [{ key: '/e1', entry, reason: 'evict' }]);
      assert.deepEqual(b, a);
      assert.equal(store.stats().evictions, 1);
    });
  });
}
