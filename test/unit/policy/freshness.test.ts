// Freshness lifetime in a shared cache: RFC 9111 §4.2.1, §4.2.2, §5.3; RFC 9213 §2.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_FRESHNESS,
  DEFAULT_STATIC_CONTENT_TYPES,
  effectiveDirectives,
  freshnessLifetimeMs,
  hasExplicitFreshness,
  HEURISTICALLY_CACHEABLE,
} from '../../../proxy/policy/index.js';
import type { FreshnessOptions, FreshnessSource } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const T0 = Date.UTC(2024, 5, 1, 0, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const DAY = 86_400_000;
const NO_CDN: FreshnessOptions = { ...DEFAULT_FRESHNESS, useCdnCacheControl: false };
const CUSTOM_FIELD: FreshnessOptions = { ...DEFAULT_FRESHNESS, cdnCacheControlField: 'Acme-Cache-Control' };

interface Case {
  name: string;
  section: string;
  status?: number;
  headers: HeaderMap;
  opts?: FreshnessOptions;
  expected: { lifetimeMs: number; source: FreshnessSource };
  explicit: boolean;
}

const cases: Case[] = [
  { name: 's-maxage wins over max-age', section: 'RFC 9111 §4.2.1', headers: { 'cache-control': 'max-age=60, s-maxage=120' }, expected: { lifetimeMs: 120_000, source: 's-maxage' }, explicit: true },
  { name: 's-maxage wins over Expires', section: 'RFC 9111 §5.3', headers: { 'cache-control': 's-maxage=5', date: httpDate(T0), expires: httpDate(T0 + DAY) }, expected: { lifetimeMs: 5000, source: 's-maxage' }, explicit: true },
  { name: 'max-age wins over Expires', section: 'RFC 9111 §5.3', headers: { 'cache-control': 'max-age=10', date: httpDate(T0), expires: httpDate(T0 + DAY) }, expected: { lifetimeMs: 10_000, source: 'max-age' }, explicit: true },
  { name: 'max-age=0', section: 'RFC 9111 §4.2.1', headers: { 'cache-control': 'max-age=0' }, expected: { lifetimeMs: 0, source: 'max-age' }, explicit: true },
  { name: 'invalid max-age is stale', section: 'RFC 9111 §4.2.1', headers: { 'cache-control': 'max-age=soon', date: httpDate(T0), expires: httpDate(T0 + DAY) }, expected: { lifetimeMs: 0, source: 'max-age' }, explicit: true },
  { name: 'Expires minus Date', section: 'RFC 9111 §4.2.1', headers: { date: httpDate(T0), expires: httpDate(T0 + 3_600_000) }, expected: { lifetimeMs: 3_600_000, source: 'expires' }, explicit: true },
  { name: 'Expires before Date gives 0', section: 'RFC 9111 §4.2.1', headers: { date: httpDate(T0), expires: httpDate(T0 - 3_600_000) }, expected: { lifetimeMs: 0, source: 'expires' }, explicit: true },
  { name: 'invalid Expires ("0") is stale', section: 'RFC 9111 §5.3', headers: { date: httpDate(T0), expires: '0' }, expected: { lifetimeMs: 0, source: 'expires' }, explicit: true },
  { name: 'two Expires lines are stale', section: 'RFC 9111 §4.2.1', headers: { date: httpDate(T0), expires: [httpDate(T0 + DAY), httpDate(T0 + DAY)] }, expected: { lifetimeMs: 0, source: 'expires' }, explicit: true },
  { name: 'Expires without Date: lifetime unknown, 0', section: 'RFC 9111 §4.2.1', headers: { expires: httpDate(T0 + DAY) }, expected: { lifetimeMs: 0, source: 'expires' }, explicit: true },
  { name: 'invalid Expires blocks heuristics', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), expires: 'never', 'last-modified': httpDate(T0 - 10 * DAY) }, expected: { lifetimeMs: 0, source: 'expires' }, explicit: true },
  { name: 'heuristic: 10% of Date - Last-Modified', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), 'last-modified': httpDate(T0 - 100_000_000) }, expected: { lifetimeMs: 10_000_000, source: 'heuristic' }, explicit: false },
  { name: 'heuristic is capped', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), 'last-modified': httpDate(T0 - 365 * DAY) }, expected: { lifetimeMs: DAY, source: 'heuristic' }, explicit: false },
  { name: 'heuristic honours the configured fraction and cap', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), 'last-modified': httpDate(T0 - 1_000_000) }, opts: { ...DEFAULT_FRESHNESS, heuristicFraction: 0.5, heuristicMaxMs: 100_000 }, expected: { lifetimeMs: 100_000, source: 'heuristic' }, explicit: false },
  { name: 'heuristic for a heuristically cacheable 404', section: 'RFC 9111 §4.2.2', status: 404, headers: { date: httpDate(T0), 'last-modified': httpDate(T0 - 1_000_000) }, expected: { lifetimeMs: 100_000, source: 'heuristic' }, explicit: false },
  { name: 'no heuristic for a 302', section: 'RFC 9111 §4.2.2', status: 302, headers: { date: httpDate(T0), 'last-modified': httpDate(T0 - 1_000_000) }, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'heuristic for a public 302', section: 'RFC 9111 §4.2.2', status: 302, headers: { 'cache-control': 'public', date: httpDate(T0), 'last-modified': httpDate(T0 - 1_000_000) }, expected: { lifetimeMs: 100_000, source: 'heuristic' }, explicit: false },
  { name: 'no heuristic without Last-Modified', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0) }, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'no heuristic with an invalid Last-Modified', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), 'last-modified': 'last week' }, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'no heuristic with Last-Modified after Date', section: 'RFC 9111 §4.2.2', headers: { date: httpDate(T0), 'last-modified': httpDate(T0 + 1000) }, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'no heuristic without Date', section: 'RFC 9111 §4.2.2', headers: { 'last-modified': httpDate(T0 - DAY) }, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'nothing at all', section: 'RFC 9111 §4.2.1', headers: {}, expected: { lifetimeMs: 0, source: 'none' }, explicit: false },
  { name: 'CDN-Cache-Control max-age wins over Cache-Control', section: 'RFC 9213 §2.2', headers: { 'cdn-cache-control': 'max-age=600', 'cache-control': 's-maxage=5, max-age=5' }, expected: { lifetimeMs: 600_000, source: 'cdn-cache-control' }, explicit: true },
  { name: 'CDN-Cache-Control s-maxage wins over its max-age', section: 'RFC 9213 §2.1', headers: { 'cdn-cache-control': 'max-age=600, s-maxage=60' }, expected: { lifetimeMs: 60_000, source: 'cdn-cache-control' }, explicit: true },
  { name: 'CDN-Cache-Control makes Expires ignored', section: 'RFC 9213 §2.2', headers: { 'cdn-cache-control': 'public', date: httpDate(T0), expires: httpDate(T0 + DAY), 'last-modified': httpDate(T0 - 1_000_000) }, expected: { lifetimeMs: 100_000, source: 'heuristic' }, explicit: false },
  { name: 'invalid CDN-Cache-Control is ignored as a whole', section: 'RFC 9213 §2.2', headers: { 'cdn-cache-control': 'Max-Age=600', 'cache-control': 'max-age=5' }, expected: { lifetimeMs: 5000, source: 'max-age' }, explicit: true },
  { name: 'CDN-Cache-Control ignored when disabled', section: 'RFC 9213 §2.2', headers: { 'cdn-cache-control': 'max-age=600', 'cache-control': 'max-age=5' }, opts: NO_CDN, expected: { lifetimeMs: 5000, source: 'max-age' }, explicit: true },
  { name: 'a configured targeted field name is used', section: 'RFC 9213 §2.2', headers: { 'acme-cache-control': 'max-age=77', 'cdn-cache-control': 'max-age=600' }, opts: CUSTOM_FIELD, expected: { lifetimeMs: 77_000, source: 'cdn-cache-control' }, explicit: true },
];

for (const c of cases) {
  void test(`${c.section}: freshness ${c.name}`, () => {
    const opts = c.opts ?? DEFAULT_FRESHNESS;
    assert.deepEqual(freshnessLifetimeMs(c.status ?? 200, c.headers, opts), c.expected);
    assert.equal(hasExplicitFreshness(c.headers, opts), c.explicit);
  });
}

interface DirectivesCase {
  name: string;
  section: string;
  headers: HeaderMap;
  opts?: FreshnessOptions;
  cdn: boolean;
  noStore: boolean;
  private: boolean;
}

const directivesCases: DirectivesCase[] = [
  { name: 'Cache-Control when there is no CDN-Cache-Control', section: 'RFC 9111 §5.2', headers: { 'cache-control': 'no-store' }, cdn: false, noStore: true, private: false },
  { name: 'CDN-Cache-Control replaces no-store and private of Cache-Control', section: 'RFC 9213 §2.2', headers: { 'cache-control': 'no-store, private', 'cdn-cache-control': 'max-age=60' }, cdn: true, noStore: false, private: false },
  { name: 'CDN-Cache-Control no-store applies', section: 'RFC 9213 §2.2', headers: { 'cache-control': 'public, max-age=60', 'cdn-cache-control': 'no-store' }, cdn: true, noStore: true, private: false },
  { name: 'empty CDN-Cache-Control is not used', section: 'RFC 9213 §2.2', headers: { 'cache-control': 'private', 'cdn-cache-control': '' }, cdn: false, noStore: false, private: true },
  { name: 'disabled CDN-Cache-Control is not used', section: 'RFC 9213 §2.2', headers: { 'cache-control': 'private', 'cdn-cache-control': 'max-age=5' }, opts: NO_CDN, cdn: false, noStore: false, private: true },
];

for (const c of directivesCases) {
  void test(`${c.section}: effectiveDirectives ${c.name}`, () => {
    const { cc, cdn } = effectiveDirectives(c.headers, c.opts ?? DEFAULT_FRESHNESS);
    assert.equal(cdn, c.cdn);
    assert.equal(cc.noStore, c.noStore);
    assert.equal(cc.private, c.private);
  });
}

void test('RFC 9110 §15.1: HEURISTICALLY_CACHEABLE is exactly the defined set', () => {
  assert.deepEqual([...HEURISTICALLY_CACHEABLE].sort((a, b) => a - b), [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
});

void test('RFC 9111 §4.2.2: DEFAULT_FRESHNESS holds the documented defaults', () => {
  assert.deepEqual(
    { ...DEFAULT_FRESHNESS },
    {
      heuristicFraction: 0.1,
      heuristicMaxMs: 86_400_000,
      useCdnCacheControl: true,
      cdnCacheControlField: 'cdn-cache-control',
      requestsWithCookies: 'explicit-or-static',
      staticContentTypes: DEFAULT_STATIC_CONTENT_TYPES,
    },
  );
});
