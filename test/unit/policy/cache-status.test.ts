// The Cache-Status field: RFC 9211 §2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheStatusWith, formatCacheStatus, parseCacheStatus } from '../../../proxy/policy/index.js';
import type { CacheStatusFields } from '../../../proxy/policy/index.js';

interface FormatCase {
  name: string;
  section: string;
  cache?: string;
  fields: CacheStatusFields;
  expected: string;
}

const formatCases: FormatCase[] = [
  { name: 'a hit with a ttl', section: 'RFC 9211 §2.1', fields: { hit: true, ttlMs: 42_000 }, expected: 'mini-cdn; hit; ttl=42' },
  { name: 'a stored miss', section: 'RFC 9211 §2.2', fields: { fwd: 'uri-miss', fwdStatus: 200, stored: true }, expected: 'mini-cdn; fwd=uri-miss; fwd-status=200; stored' },
  { name: 'a revalidated stale response', section: 'RFC 9211 §2.3', fields: { fwd: 'stale', fwdStatus: 304, stored: true, ttlMs: 60_000 }, expected: 'mini-cdn; fwd=stale; fwd-status=304; stored; ttl=60' },
  { name: 'a bypass with a token detail', section: 'RFC 9211 §2.8', fields: { fwd: 'bypass', detail: 'no-store' }, expected: 'mini-cdn; fwd=bypass; detail=no-store' },
  { name: 'ttl is floored', section: 'RFC 9211 §2.4', fields: { hit: true, ttlMs: 1999 }, expected: 'mini-cdn; hit; ttl=1' },
  { name: 'negative ttl when stale', section: 'RFC 9211 §2.4', fields: { hit: true, ttlMs: -1500 }, expected: 'mini-cdn; hit; ttl=-2' },
  { name: 'false booleans are left out', section: 'RFC 9211 §2', fields: { hit: false, stored: false, collapsed: false, fwd: 'miss' }, expected: 'mini-cdn; fwd=miss' },
  { name: 'collapsed', section: 'RFC 9211 §2.6', fields: { fwd: 'miss', fwdStatus: 200, collapsed: true }, expected: 'mini-cdn; fwd=miss; fwd-status=200; collapsed' },
  { name: 'key is a String', section: 'RFC 9211 §2.7', fields: { hit: true, key: 'GET /a' }, expected: 'mini-cdn; hit; key="GET /a"' },
  { name: 'a detail that is not a token becomes a String', section: 'RFC 9211 §2.8', fields: { fwd: 'bypass', detail: 'no store "x" \\y' }, expected: 'mini-cdn; fwd=bypass; detail="no store \\"x\\" \\\\y"' },
  { name: 'a detail starting with a digit becomes a String', section: 'RFC 9211 §2.8', fields: { detail: '5xx' }, expected: 'mini-cdn; detail="5xx"' },
  { name: 'non-ASCII in a String is replaced', section: 'RFC 9211 §2.8', fields: { detail: 'café' }, expected: 'mini-cdn; detail="caf?"' },
  { name: 'a cache name that is not a token becomes a String', section: 'RFC 9211 §2', cache: 'edge cache', fields: { hit: true }, expected: '"edge cache"; hit' },
  { name: 'nothing but the name', section: 'RFC 9211 §2', fields: {}, expected: 'mini-cdn' },
];

for (const c of formatCases) {
  void test(`${c.section}: formatCacheStatus ${c.name}`, () => {
    const text = formatCacheStatus(c.cache ?? 'mini-cdn', c.fields);
    assert.equal(text, c.expected);
    assert.equal(parseCacheStatus(text).length, 1, 'the output parses as one List member');
  });
}

interface ParseCase {
  name: string;
  section: string;
  input: string;
  expected: Array<{ cache: string; params: Record<string, string | number | boolean> }>;
}

const parseCases: ParseCase[] = [
  { name: 'one member with parameters', section: 'RFC 9211 §2', input: 'mini-cdn; fwd=stale; fwd-status=304; stored; ttl=60', expected: [{ cache: 'mini-cdn', params: { fwd: 'stale', 'fwd-status': 304, stored: true, ttl: 60 } }] },
  { name: 'several caches in order', section: 'RFC 9211 §2', input: 'origin-cache; hit; ttl=10, "Edge Cache"; fwd=uri-miss', expected: [{ cache: 'origin-cache', params: { hit: true, ttl: 10 } }, { cache: 'Edge Cache', params: { fwd: 'uri-miss' } }] },
  { name: 'a String detail is unescaped', section: 'RFC 9211 §2.8', input: 'c; detail="a \\"b\\""', expected: [{ cache: 'c', params: { detail: 'a "b"' } }] },
  { name: 'an invalid List gives nothing', section: 'RFC 9211 §2', input: 'c; hit,', expected: [] },
  { name: 'an empty value gives nothing', section: 'RFC 9211 §2', input: '', expected: [] },
  { name: 'an Integer member is not a cache name', section: 'RFC 9211 §2', input: '5; hit, c', expected: [{ cache: 'c', params: {} }] },
];

for (const c of parseCases) {
  void test(`${c.section}: parseCacheStatus ${c.name}`, () => {
    assert.deepEqual(parseCacheStatus(c.input), c.expected);
  });
}

interface WithCase {
  name: string;
  base: CacheStatusFields;
  changes: CacheStatusFields;
}

// cacheStatusWith builds the fields in one fixed shape; it must mean what a spread means.
const withCases: WithCase[] = [
  { name: 'a change adds to the base', base: { fwd: 'uri-miss' }, changes: { fwdStatus: 200, stored: true } },
  { name: 'a change replaces the base', base: { fwd: 'stale', detail: 'validate-mode' }, changes: { detail: 'stale-if-error' } },
  { name: 'an explicit undefined clears the base', base: { fwd: 'stale', detail: 'x' }, changes: { detail: undefined, ttlMs: 5_000 } },
  { name: 'no change', base: { hit: true, ttlMs: 1_000, key: 'k' }, changes: {} },
  { name: 'every field changed', base: { collapsed: true }, changes: { hit: false, fwd: 'bypass', fwdStatus: 503, stored: false, collapsed: false, ttlMs: -2_000, key: 'k', detail: 'd' } },
];

for (const c of withCases) {
  void test(`cacheStatusWith: ${c.name} as a spread would`, () => {
    const spread = { ...c.base, ...c.changes };
    const built = cacheStatusWith(c.base, c.changes);
    assert.equal(formatCacheStatus('mini-cdn', built), formatCacheStatus('mini-cdn', spread));
    for (const key of Object.keys(spread) as Array<keyof CacheStatusFields>) assert.equal(built[key], spread[key], key);
  });
}
