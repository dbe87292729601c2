// Reusing a stored response: RFC 9111 §4, §4.2, §4.2.4, §5.2.1, §5.2.2, §5.4; RFC 5861; RFC 8246.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideReuse, DEFAULT_FRESHNESS, fieldsToOmitOnReuse, staleIfErrorAllowed } from '../../../proxy/policy/index.js';
import type { ReuseDecision, ReuseOptions, StoredView } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
const OPTS: ReuseOptions = DEFAULT_FRESHNESS;

/** A response received at T0 with age 0; `ageS` seconds later is "now". */
function stored(headers: HeaderMap, extra: Partial<StoredView> = {}): StoredView {
  return { status: 200, headers: { date: new Date(T0).toUTCString(), ...headers }, initialAgeMs: 0, responseTimeMs: T0, invalidated: false, ...extra };
}

interface Case {
  name: string;
  section: string;
  stored: StoredView;
  reqHeaders?: HeaderMap;
  ageS: number;
  expected: ReuseDecision;
}

const s = (seconds: number): number => seconds * 1000;

const cases: Case[] = [
  { name: 'fresh: serve', section: 'RFC 9111 §4.2', stored: stored({ 'cache-control': 'max-age=100' }), ageS: 10, expected: { action: 'serve', ageMs: s(10), ttlMs: s(90), stale: false } },
  { name: 'age equal to lifetime is stale', section: 'RFC 9111 §4.2', stored: stored({ 'cache-control': 'max-age=100' }), ageS: 100, expected: { action: 'revalidate', ageMs: s(100), ttlMs: 0, reason: 'stale' } },
  { name: 'initial age counts', section: 'RFC 9111 §4.2.3', stored: stored({ 'cache-control': 'max-age=100' }, { initialAgeMs: s(95) }), ageS: 10, expected: { action: 'revalidate', ageMs: s(105), ttlMs: s(-5), reason: 'stale' } },
  { name: 'invalidated entry', section: 'RFC 9111 §4.4', stored: stored({ 'cache-control': 'max-age=100' }, { invalidated: true }), ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'invalidated' } },
  { name: 'response no-cache', section: 'RFC 9111 §5.2.2.4', stored: stored({ 'cache-control': 'no-cache, max-age=100' }), ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'no-cache' } },
  { name: 'response no-cache from CDN-Cache-Control', section: 'RFC 9213 §2.2', stored: stored({ 'cache-control': 'max-age=100', 'cdn-cache-control': 'no-cache, max-age=100' }), ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'no-cache' } },
  { name: 'qualified no-cache still serves', section: 'RFC 9111 §5.2.2.4', stored: stored({ 'cache-control': 'no-cache="set-cookie", max-age=100' }), ageS: 1, expected: { action: 'serve', ageMs: s(1), ttlMs: s(99), stale: false } },
  { name: 'request no-cache', section: 'RFC 9111 §5.2.1.4', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'no-cache' }, ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'request-no-cache' } },
  { name: 'Pragma: no-cache without Cache-Control', section: 'RFC 9111 §5.4', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { pragma: 'No-Cache' }, ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'request-no-cache' } },
  { name: 'Pragma: no-cache ignored with a Cache-Control', section: 'RFC 9111 §5.4', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { pragma: 'no-cache', 'cache-control': 'max-stale=5' }, ageS: 1, expected: { action: 'serve', ageMs: s(1), ttlMs: s(99), stale: false } },
  { name: 'other Pragma values are ignored', section: 'RFC 9111 §5.4', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { pragma: 'x-foo' }, ageS: 1, expected: { action: 'serve', ageMs: s(1), ttlMs: s(99), stale: false } },
  { name: 'request max-age exceeded', section: 'RFC 9111 §5.2.1.1', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'max-age=5' }, ageS: 10, expected: { action: 'revalidate', ageMs: s(10), ttlMs: s(90), reason: 'request-max-age' } },
  { name: 'request max-age equal to the age is fine', section: 'RFC 9111 §5.2.1.1', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'max-age=10' }, ageS: 10, expected: { action: 'serve', ageMs: s(10), ttlMs: s(90), stale: false } },
  { name: 'request max-age=0 (reload)', section: 'RFC 9111 §5.2.1.1', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'max-age=0' }, ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'request-max-age' } },
  { name: 'immutable and fresh: a reload max-age=0 is served', section: 'RFC 8246 §2', stored: stored({ 'cache-control': 'max-age=100, immutable' }), reqHeaders: { 'cache-control': 'max-age=0' }, ageS: 1, expected: { action: 'serve', ageMs: s(1), ttlMs: s(99), stale: false, detail: 'immutable' } },
  { name: 'immutable and fresh: no-cache (force reload) still validates', section: 'RFC 8246 §2', stored: stored({ 'cache-control': 'max-age=100, immutable' }), reqHeaders: { 'cache-control': 'no-cache' }, ageS: 1, expected: { action: 'revalidate', ageMs: s(1), ttlMs: s(99), reason: 'request-no-cache' } },
  { name: 'immutable and stale: revalidate', section: 'RFC 8246 §2', stored: stored({ 'cache-control': 'max-age=100, immutable' }), reqHeaders: { 'cache-control': 'max-age=0' }, ageS: 150, expected: { action: 'revalidate', ageMs: s(150), ttlMs: s(-50), reason: 'request-max-age' } },
  { name: 'request min-fresh not met', section: 'RFC 9111 §5.2.1.3', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'min-fresh=30' }, ageS: 80, expected: { action: 'revalidate', ageMs: s(80), ttlMs: s(20), reason: 'request-min-fresh' } },
  { name: 'request min-fresh met', section: 'RFC 9111 §5.2.1.3', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'min-fresh=30' }, ageS: 70, expected: { action: 'serve', ageMs: s(70), ttlMs: s(30), stale: false } },
  { name: 'stale without permission', section: 'RFC 9111 §4.2.4', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 20, expected: { action: 'revalidate', ageMs: s(20), ttlMs: s(-10), reason: 'stale' } },
  { name: 'stale with bare max-stale', section: 'RFC 9111 §5.2.1.2', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 100_000, expected: { action: 'serve', ageMs: s(100_000), ttlMs: s(-99_990), stale: true, detail: 'max-stale' } },
  { name: 'stale within max-stale=N', section: 'RFC 9111 §5.2.1.2', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'max-stale=15' }, ageS: 25, expected: { action: 'serve', ageMs: s(25), ttlMs: s(-15), stale: true, detail: 'max-stale' } },
  { name: 'stale beyond max-stale=N', section: 'RFC 9111 §5.2.1.2', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'max-stale=15' }, ageS: 26, expected: { action: 'revalidate', ageMs: s(26), ttlMs: s(-16), reason: 'stale' } },
  { name: 'must-revalidate forbids max-stale', section: 'RFC 9111 §5.2.2.2', stored: stored({ 'cache-control': 'max-age=10, must-revalidate' }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 20, expected: { action: 'revalidate', ageMs: s(20), ttlMs: s(-10), reason: 'stale' } },
  { name: 'proxy-revalidate forbids max-stale', section: 'RFC 9111 §5.2.2.8', stored: stored({ 'cache-control': 'max-age=10, proxy-revalidate' }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 20, expected: { action: 'revalidate', ageMs: s(20), ttlMs: s(-10), reason: 'stale' } },
  { name: 's-maxage forbids stale-while-revalidate', section: 'RFC 9111 §5.2.2.10', stored: stored({ 'cache-control': 's-maxage=10, stale-while-revalidate=60' }), ageS: 20, expected: { action: 'revalidate', ageMs: s(20), ttlMs: s(-10), reason: 'stale' } },
  { name: 'stale-while-revalidate within the window', section: 'RFC 5861 §3', stored: stored({ 'cache-control': 'max-age=10, stale-while-revalidate=30' }), ageS: 40, expected: { action: 'serve-stale-revalidate', ageMs: s(40), ttlMs: s(-30) } },
  { name: 'stale-while-revalidate beyond the window', section: 'RFC 5861 §3', stored: stored({ 'cache-control': 'max-age=10, stale-while-revalidate=30' }), ageS: 41, expected: { action: 'revalidate', ageMs: s(41), ttlMs: s(-31), reason: 'stale' } },
  { name: 'stale-while-revalidate from CDN-Cache-Control', section: 'RFC 9213 §2.2', stored: stored({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=10, stale-while-revalidate=30' }), ageS: 20, expected: { action: 'serve-stale-revalidate', ageMs: s(20), ttlMs: s(-10) } },
  { name: 'max-stale is checked before stale-while-revalidate', section: 'RFC 9111 §5.2.1.2', stored: stored({ 'cache-control': 'max-age=10, stale-while-revalidate=30' }), reqHeaders: { 'cache-control': 'max-stale=100' }, ageS: 20, expected: { action: 'serve', ageMs: s(20), ttlMs: s(-10), stale: true, detail: 'max-stale' } },
  { name: 'Expires-based freshness', section: 'RFC 9111 §4.2.1', stored: stored({ expires: new Date(T0 + s(60)).toUTCString() }), ageS: 30, expected: { action: 'serve', ageMs: s(30), ttlMs: s(30), stale: false } },
  { name: 'heuristic freshness', section: 'RFC 9111 §4.2.2', stored: stored({ 'last-modified': new Date(T0 - s(1000)).toUTCString() }), ageS: 50, expected: { action: 'serve', ageMs: s(50), ttlMs: s(50), stale: false } },
  { name: 'no freshness at all: revalidate', section: 'RFC 9111 §4.2.4', stored: stored({}), ageS: 0, expected: { action: 'revalidate', ageMs: 0, ttlMs: 0, reason: 'stale' } },
  { name: 'only-if-cached and fresh: serve', section: 'RFC 9111 §5.2.1.7', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'only-if-cached' }, ageS: 1, expected: { action: 'serve', ageMs: s(1), ttlMs: s(99), stale: false } },
  { name: 'only-if-cached and stale', section: 'RFC 9111 §5.2.1.7', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'only-if-cached' }, ageS: 20, expected: { action: 'unsatisfiable-only-if-cached' } },
  { name: 'only-if-cached and stale but max-stale allows', section: 'RFC 9111 §5.2.1.7', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'only-if-cached, max-stale' }, ageS: 20, expected: { action: 'serve', ageMs: s(20), ttlMs: s(-10), stale: true, detail: 'max-stale' } },
  // Documented choice (RFC 9111 §4.2.4 lets a cache decline): max-stale never serves a response that had no freshness at all.
  { name: 'max-stale does not serve a response with no freshness (ETag only)', section: 'RFC 9111 §4.2.4, §5.2.1.2', stored: stored({ etag: '"1"' }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 20, expected: { action: 'revalidate', ageMs: s(20), ttlMs: s(-20), reason: 'stale' } },
  { name: 'only-if-cached with max-stale on a response with no freshness: 504', section: 'RFC 9111 §5.2.1.7', stored: stored({ etag: '"1"' }), reqHeaders: { 'cache-control': 'only-if-cached, max-stale=99999' }, ageS: 20, expected: { action: 'unsatisfiable-only-if-cached' } },
  { name: 'max-stale still serves an expired explicit lifetime (max-age=0)', section: 'RFC 9111 §5.2.1.2', stored: stored({ 'cache-control': 'max-age=0', etag: '"1"' }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 20, expected: { action: 'serve', ageMs: s(20), ttlMs: s(-20), stale: true, detail: 'max-stale' } },
  { name: 'max-stale still serves a stale heuristic lifetime', section: 'RFC 9111 §4.2.2, §5.2.1.2', stored: stored({ 'last-modified': new Date(T0 - s(100)).toUTCString() }), reqHeaders: { 'cache-control': 'max-stale' }, ageS: 20, expected: { action: 'serve', ageMs: s(20), ttlMs: s(-10), stale: true, detail: 'max-stale' } },
  { name: 'only-if-cached with no-cache', section: 'RFC 9111 §5.2.1.7', stored: stored({ 'cache-control': 'max-age=100' }), reqHeaders: { 'cache-control': 'only-if-cached, no-cache' }, ageS: 1, expected: { action: 'unsatisfiable-only-if-cached' } },
  { name: 'only-if-cached with an invalidated entry', section: 'RFC 9111 §5.2.1.7', stored: stored({ 'cache-control': 'max-age=100' }, { invalidated: true }), reqHeaders: { 'cache-control': 'only-if-cached' }, ageS: 1, expected: { action: 'unsatisfiable-only-if-cached' } },
  { name: 'only-if-cached with stale-while-revalidate: served', section: 'RFC 5861 §3', stored: stored({ 'cache-control': 'max-age=10, stale-while-revalidate=30' }), reqHeaders: { 'cache-control': 'only-if-cached' }, ageS: 20, expected: { action: 'serve-stale-revalidate', ageMs: s(20), ttlMs: s(-10) } },
];

for (const c of cases) {
  void test(`${c.section}: decideReuse ${c.name}`, () => {
    const decision = decideReuse(c.stored, { method: 'GET', headers: c.reqHeaders ?? {} }, T0 + s(c.ageS), OPTS);
    assert.deepEqual(decision, c.expected);
  });
}

interface StaleIfErrorCase {
  name: string;
  section: string;
  stored: StoredView;
  reqHeaders?: HeaderMap;
  ageS: number;
  expected: boolean;
}

const staleIfErrorCases: StaleIfErrorCase[] = [
  { name: 'within the response window', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60' }), ageS: 70, expected: true },
  { name: 'beyond the response window', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60' }), ageS: 71, expected: false },
  { name: 'within the request window', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'stale-if-error=100' }, ageS: 50, expected: true },
  { name: 'beyond the request window', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10' }), reqHeaders: { 'cache-control': 'stale-if-error=10' }, ageS: 50, expected: false },
  { name: 'no window at all', section: 'RFC 9111 §4.2.4', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 11, expected: false },
  { name: 'must-revalidate forbids it', section: 'RFC 9111 §5.2.2.2', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60, must-revalidate' }), ageS: 20, expected: false },
  { name: 'proxy-revalidate forbids it', section: 'RFC 9111 §5.2.2.8', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60, proxy-revalidate' }), ageS: 20, expected: false },
  { name: 's-maxage forbids it', section: 'RFC 9111 §5.2.2.10', stored: stored({ 'cache-control': 's-maxage=10, stale-if-error=60' }), ageS: 20, expected: false },
  { name: 'no-cache forbids it', section: 'RFC 9111 §5.2.2.4', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60, no-cache' }), ageS: 20, expected: false },
  { name: 'no-cache forbids even a request window', section: 'RFC 9111 §5.2.2.4', stored: stored({ 'cache-control': 'no-cache' }), reqHeaders: { 'cache-control': 'stale-if-error=600' }, ageS: 20, expected: false },
  { name: 'a soft-purged entry may still stand in for an error', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60' }, { invalidated: true }), ageS: 20, expected: true },
  { name: 'a soft-purged entry past its stale-if-error window is not served', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=10, stale-if-error=60' }, { invalidated: true }), ageS: 100, expected: false },
  { name: 'still fresh with a window', section: 'RFC 5861 §4', stored: stored({ 'cache-control': 'max-age=100, stale-if-error=1' }), ageS: 5, expected: true },
  { name: 'window from CDN-Cache-Control', section: 'RFC 9213 §2.2', stored: stored({ 'cdn-cache-control': 'max-age=10, stale-if-error=60', 'cache-control': 'must-revalidate' }), ageS: 20, expected: true },
];

for (const c of staleIfErrorCases) {
  void test(`${c.section}: staleIfErrorAllowed ${c.name}`, () => {
    assert.equal(staleIfErrorAllowed(c.stored, { headers: c.reqHeaders ?? {} }, T0 + s(c.ageS), OPTS), c.expected);
  });
}

void test('RFC 9111 §5.2.2.4: fieldsToOmitOnReuse lists a qualified no-cache', () => {
  assert.deepEqual(fieldsToOmitOnReuse(stored({ 'cache-control': 'no-cache="Set-Cookie", max-age=5' }), OPTS), ['set-cookie']);
  assert.deepEqual(fieldsToOmitOnReuse(stored({ 'cache-control': 'max-age=5' }), OPTS), []);
});

// Stale windows granted by the operator (RFC 5861 §3, §4: a cache may be configured to serve stale).
const OPERATOR = { ...OPTS, staleWhileRevalidateMs: s(30), staleIfErrorMs: s(60) };
const operatorCases: Array<{ name: string; stored: StoredView; ageS: number; expected: ReuseDecision['action'] }> = [
  { name: 'within the granted stale-while-revalidate window', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 30, expected: 'serve-stale-revalidate' },
  { name: 'past the granted window', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 50, expected: 'revalidate' },
  { name: 'must-revalidate still forbids it', stored: stored({ 'cache-control': 'max-age=10, must-revalidate' }), ageS: 20, expected: 'revalidate' },
  { name: 'the origin\'s larger window wins', stored: stored({ 'cache-control': 'max-age=10, stale-while-revalidate=100' }), ageS: 80, expected: 'serve-stale-revalidate' },
];
for (const c of operatorCases) {
  void test(`RFC 5861 §3: decideReuse with an operator window: ${c.name}`, () => {
    assert.equal(decideReuse(c.stored, { method: 'GET', headers: {} }, T0 + s(c.ageS), OPERATOR).action, c.expected);
  });
}
const operatorSie: Array<{ name: string; stored: StoredView; ageS: number; expected: boolean }> = [
  { name: 'within the granted stale-if-error window', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 60, expected: true },
  { name: 'past it', stored: stored({ 'cache-control': 'max-age=10' }), ageS: 80, expected: false },
  { name: 'proxy-revalidate still forbids it', stored: stored({ 'cache-control': 'max-age=10, proxy-revalidate' }), ageS: 20, expected: false },
];
for (const c of operatorSie) {
  void test(`RFC 5861 §4: staleIfErrorAllowed with an operator window: ${c.name}`, () => {
    assert.equal(staleIfErrorAllowed(c.stored, { headers: {} }, T0 + s(c.ageS), OPERATOR), c.expected);
  });
}
