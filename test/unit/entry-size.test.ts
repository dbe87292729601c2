// entrySizeBytes: what an entry is counted against cache.maxBytes must cover what it really
// costs (issue 10: a small entry's live memory was about twice its count). The figures behind
// the constants are measured and written in proxy/store/store.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUFFER_OVERHEAD_BYTES, ENTRY_OVERHEAD_BYTES, entrySizeBytes } from '../../proxy/store/store.js';
import type { CacheEntry, HeaderMap } from '../../proxy/types.js';

/** Fields as an origin sends them with a small static file. */
const TYPICAL_FIELDS: HeaderMap = {
  date: 'Tue, 14 Nov 2023 22:13:20 GMT',
  'content-type': 'text/html; charset=utf-8',
  'content-length': '1024',
  'last-modified': 'Sun, 13 Sep 2020 12:26:40 GMT',
  etag: '"9e3779b1-2s"',
  'cache-control': 'public, max-age=3603',
  'accept-ranges': 'bytes',
  server: 'nginx/1.12.2',
};
const TYPICAL_KEY = 'example.com/assets/img/product-12345.png?v=5';
/**
 * The footprint measured for such an entry (heapUsed + arrayBuffers growth over 100 000 of them
 * in a MemoryStore under a VariantCache, plus the ~130 B per Buffer seen outside the heap).
 */
const MEASURED_TYPICAL_BYTES = 2_246;

function entry(headers: HeaderMap, body: Buffer): CacheEntry {
  return { status: 200, headers, body, requestTimeMs: 1, responseTimeMs: 2, initialAgeMs: 0, varyNames: [], varyKey: '', invalidated: false };
}

function chars(headers: HeaderMap): number {
  let n = 0;
  for (const [name, value] of Object.entries(headers)) n += name.length + (typeof value === 'string' ? value.length : (value ?? []).join('').length);
  return n;
}

void test('a typical small entry is counted at least at its measured footprint', () => {
  const counted = entrySizeBytes(TYPICAL_KEY, entry(TYPICAL_FIELDS, Buffer.alloc(1_024)));
  assert.ok(counted >= MEASURED_TYPICAL_BYTES, `counted ${counted} B, measured ${MEASURED_TYPICAL_BYTES} B`);
  // ...and not wildly more, or the cache would hold far fewer entries than it could.
  assert.ok(counted <= MEASURED_TYPICAL_BYTES * 1.25, `counted ${counted} B`);
});

void test('the count includes the body and its Buffer, the key twice, every field and the fixed overhead', () => {
  const body = Buffer.alloc(1_024);
  const counted = entrySizeBytes(TYPICAL_KEY, entry(TYPICAL_FIELDS, body));
  assert.ok(counted >= ENTRY_OVERHEAD_BYTES + BUFFER_OVERHEAD_BYTES + body.length + 2 * TYPICAL_KEY.length + chars(TYPICAL_FIELDS));
  // Each part moves the count by at least its own bytes.
  const longerKey = entrySizeBytes(TYPICAL_KEY + 'x'.repeat(100), entry(TYPICAL_FIELDS, body));
  assert.ok(longerKey - counted >= 200, 'the key is held by the store and by the variant index');
  const moreFields = entrySizeBytes(TYPICAL_KEY, entry({ ...TYPICAL_FIELDS, 'x-request-id': 'r'.repeat(100) }, body));
  assert.ok(moreFields - counted >= 100 + 'x-request-id'.length);
  const biggerBody = entrySizeBytes(TYPICAL_KEY, entry(TYPICAL_FIELDS, Buffer.alloc(2_048)));
  assert.equal(biggerBody - counted, 1_024);
});

void test('tags cost their index rows as well as their field', () => {
  const plain = entrySizeBytes(TYPICAL_KEY, entry(TYPICAL_FIELDS, Buffer.alloc(0)));
  const tagged = entrySizeBytes(TYPICAL_KEY, entry({ ...TYPICAL_FIELDS, 'surrogate-key': 'product-12345 cat-45' }, Buffer.alloc(0)));
  // Measured: 406 B more for this field and its two tags.
  assert.ok(tagged - plain >= 406, `tags counted ${tagged - plain} B`);
});
