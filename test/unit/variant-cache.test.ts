// VariantCache's indexes: by path (whatever the host), by prefix and by tag, kept in step with
// the store as entries are stored, replaced, deleted and evicted. A path held under one host is
// kept as a plain string, under several as a set; each step below checks what purges would find.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../proxy/store/memory-store.js';
import { VariantCache } from '../../proxy/store/variant-cache.js';
import { entrySizeBytes } from '../../proxy/store/store.js';
import { makeEntry } from './store-contract.js';

type Step =
  | { put: string; varyKey?: string; tags?: string }
  | { deleteUrl: string }
  | { deleteStored: string };

interface Row {
  name: string;
  steps: Step[];
  /** path -> primary keys found for it (sorted). */
  paths: Record<string, string[]>;
  prefixes?: Record<string, string[]>;
  tags?: Record<string, string[]>;
}

const rows: Row[] = [
  { name: 'one host', steps: [{ put: 'a.example/p' }], paths: { '/p': ['a.example/p'], '/q': [] } },
  { name: 'the same path under two hosts', steps: [{ put: 'a.example/p' }, { put: 'b.example/p' }], paths: { '/p': ['a.example/p', 'b.example/p'] } },
  { name: 'stored twice under one host', steps: [{ put: 'a.example/p' }, { put: 'a.example/p' }], paths: { '/p': ['a.example/p'] } },
  { name: 'two variants of one URL', steps: [{ put: 'a.example/p', varyKey: 'accept:x' }, { put: 'a.example/p', varyKey: 'accept:y' }], paths: { '/p': ['a.example/p'] } },
  { name: 'the only host deleted', steps: [{ put: 'a.example/p' }, { deleteUrl: 'a.example/p' }], paths: { '/p': [] } },
  { name: 'one of two hosts deleted', steps: [{ put: 'a.example/p' }, { put: 'b.example/p' }, { deleteUrl: 'a.example/p' }], paths: { '/p': ['b.example/p'] } },
  { name: 'both hosts deleted, then one stored again', steps: [{ put: 'a.example/p' }, { put: 'b.example/p' }, { deleteUrl: 'a.example/p' }, { deleteUrl: 'b.example/p' }, { put: 'b.example/p' }], paths: { '/p': ['b.example/p'] } },
  { name: 'one of two variants deleted keeps the path', steps: [{ put: 'a.example/p', varyKey: 'v1' }, { put: 'a.example/p', varyKey: 'v2' }, { deleteStored: 'a.example/p\0v1' }], paths: { '/p': ['a.example/p'] } },
  { name: 'the last variant deleted drops the path', steps: [{ put: 'a.example/p', varyKey: 'v1' }, { deleteStored: 'a.example/p\0v1' }], paths: { '/p': [] } },
  {
    name: 'prefixes over single and shared paths',
    steps: [{ put: 'a.example/x/1' }, { put: 'b.example/x/1' }, { put: 'a.example/x/2' }, { put: 'a.example/y' }],
    paths: { '/x/1': ['a.example/x/1', 'b.example/x/1'] },
    prefixes: { '/x/': ['a.example/x/1', 'a.example/x/2', 'b.example/x/1'], '/y': ['a.example/y'], '/z': [] },
  },
  {
    name: 'tags, and entries without tags',
    steps: [{ put: 'a.example/t1', tags: 'red blue' }, { put: 'a.example/t2' }, { put: 'a.example/t3', tags: 'blue' }, { deleteUrl: 'a.example/t1' }],
    paths: { '/t2': ['a.example/t2'] },
    tags: { blue: ['a.example/t3\0'], red: [] },
  },
];

for (const row of rows) {
  test(`variant indexes: ${row.name}`, () => {
    const cache = new VariantCache(new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 }), { maxVariantsPerUrl: 8 });
    for (const step of row.steps) {
      if ('put' in step) {
        const headers = step.tags === undefined ? {} : { 'surrogate-key': step.tags };
        assert.equal(cache.put(step.put, makeEntry({ varyKey: step.varyKey ?? '', headers })), true);
      } else if ('deleteUrl' in step) {
        cache.deleteUrl(step.deleteUrl);
      } else {
        cache.store.delete(step.deleteStored);
      }
    }
    for (const [path, expected] of Object.entries(row.paths)) assert.deepEqual(cache.urlsWithPath(path).sort(), expected, `path ${path}`);
    for (const [prefix, expected] of Object.entries(row.prefixes ?? {})) assert.deepEqual(cache.urlsWithPathPrefix(prefix).sort(), expected, `prefix ${prefix}`);
    for (const [tag, expected] of Object.entries(row.tags ?? {})) assert.deepEqual(cache.keysWithTag(tag).sort(), expected, `tag ${tag}`);
  });
}

test('variant indexes: an eviction drops the evicted host only', () => {
  // Room for two entries as the store counts them (keys of equal length): the third evicts the oldest.
  const entry = (): ReturnType<typeof makeEntry> => makeEntry({ bodyBytes: 400 });
  const one = entrySizeBytes('a.example/p\0', entry());
  const cache = new VariantCache(new MemoryStore({ maxBytes: one * 2 + 10, maxObjectBytes: one }), { maxVariantsPerUrl: 8 });
  cache.put('a.example/p', entry());
  cache.put('b.example/p', entry());
  cache.put('c.example/q', entry());
  assert.deepEqual(cache.urlsWithPath('/p'), ['b.example/p']);
  assert.deepEqual(cache.urlsWithPath('/q'), ['c.example/q']);
});
