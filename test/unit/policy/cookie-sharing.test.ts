// Responses to requests with a Cookie (documented choice, see proxy/policy/cookie-sharing.ts):
// shared only when the origin says so, or by heuristics (RFC 9111 §4.2.2) for static types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATIC_CONTENT_TYPES } from '../../../config/schema.js';
import { checkStorable, DEFAULT_FRESHNESS, DEFAULT_STATIC_CONTENT_TYPES, hasUnkeyedCookie, isStaticContentType, storedCookieRuleAllows } from '../../../proxy/policy/index.js';
import type { FreshnessOptions, NotStorableReason } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const LM = 'Mon, 01 Jan 2024 00:00:00 GMT';
const DATE = 'Mon, 01 Jul 2024 00:00:00 GMT';
const EXPLICIT: FreshnessOptions = { ...DEFAULT_FRESHNESS, requestsWithCookies: 'explicit' };
const NEVER: FreshnessOptions = { ...DEFAULT_FRESHNESS, requestsWithCookies: 'never' };
const ALICE: HeaderMap = { cookie: 'session=alice' };

void test('the policy default static types equal config/schema.ts STATIC_CONTENT_TYPES', () => {
  assert.deepEqual([...DEFAULT_STATIC_CONTENT_TYPES], [...STATIC_CONTENT_TYPES]);
  assert.equal(DEFAULT_FRESHNESS.staticContentTypes, DEFAULT_STATIC_CONTENT_TYPES);
});

interface Case {
  name: string;
  section: string;
  reqHeaders?: HeaderMap;
  keyedCookies?: readonly string[];
  resHeaders: HeaderMap;
  opts?: FreshnessOptions;
  expected: true | NotStorableReason;
}

const html = (extra: HeaderMap = {}): HeaderMap => ({ 'content-type': 'text/html; charset=utf-8', date: DATE, ...extra });
const png = (extra: HeaderMap = {}): HeaderMap => ({ 'content-type': 'image/png', date: DATE, ...extra });

const cases: Case[] = [
  // explicit-or-static (the default)
  { name: 'HTML with only Last-Modified is not shared by heuristics', section: 'RFC 9111 §4.2.2', resHeaders: html({ 'last-modified': LM }), expected: 'cookie' },
  { name: 'JSON with only Last-Modified, type in any case', section: 'RFC 9111 §4.2.2', resHeaders: { 'content-type': 'Application/JSON', 'last-modified': LM }, expected: 'cookie' },
  { name: 'HTML with only an ETag', section: 'RFC 9111 §4.3.1', resHeaders: html({ etag: '"1"' }), expected: 'cookie' },
  { name: 'no Content-Type with Last-Modified', section: 'RFC 9111 §4.2.2', resHeaders: { 'last-modified': LM }, expected: 'cookie' },
  { name: 'HTML with no fields: no validator comes first', section: 'RFC 9111 §4.2.2', resHeaders: html(), expected: 'no-validator' },
  { name: 'image/png with only Last-Modified is shared by heuristics', section: 'RFC 9111 §4.2.2', resHeaders: png({ 'last-modified': LM }), expected: true },
  { name: 'text/css with parameters', section: 'RFC 9110 §8.3.1', resHeaders: { 'content-type': 'TEXT/CSS ; charset=utf-8', 'last-modified': LM }, expected: true },
  { name: 'font/woff2 matches the font/ entry', section: 'RFC 9110 §8.3.1', resHeaders: { 'content-type': 'font/woff2', 'last-modified': LM }, expected: true },
  { name: 'a type that merely starts like an entry without / does not match', section: 'RFC 9110 §8.3.1', resHeaders: { 'content-type': 'text/css-like', 'last-modified': LM }, expected: 'cookie' },
  { name: 'HTML with max-age=60 is the origin\'s statement', section: 'RFC 9111 §5.2.2.1', resHeaders: html({ 'cache-control': 'max-age=60' }), expected: true },
  { name: 'HTML with s-maxage', section: 'RFC 9111 §5.2.2.10', resHeaders: html({ 'cache-control': 's-maxage=0' }), expected: true },
  { name: 'HTML with public and Last-Modified', section: 'RFC 9111 §5.2.2.9', resHeaders: html({ 'cache-control': 'public', 'last-modified': LM }), expected: true },
  { name: 'HTML with a future Expires', section: 'RFC 9111 §5.3', resHeaders: html({ expires: 'Mon, 01 Jul 2024 01:00:00 GMT' }), expected: true },
  { name: 'HTML with CDN-Cache-Control', section: 'RFC 9213 §2', resHeaders: html({ 'cdn-cache-control': 'max-age=60' }), expected: true },
  { name: 'HTML with max-age=0 says "expired", not "share"', section: 'RFC 9111 §5.2.2.1, §5.2.1.2', resHeaders: html({ 'cache-control': 'max-age=0', etag: '"1"' }), expected: 'cookie' },
  { name: 'HTML with a past Expires', section: 'RFC 9111 §5.3', resHeaders: html({ expires: 'Thu, 19 Nov 1981 08:52:00 GMT', 'last-modified': LM }), expected: 'cookie' },
  { name: 'HTML with an invalid Expires', section: 'RFC 9111 §5.3', resHeaders: html({ expires: '0', 'last-modified': LM }), expected: 'cookie' },
  { name: 'private still wins', section: 'RFC 9111 §5.2.2.7', resHeaders: html({ 'cache-control': 'private, max-age=60' }), expected: 'private' },
  { name: 'Vary: Cookie stores it per cookie', section: 'RFC 9111 §4.1', resHeaders: html({ 'last-modified': LM, vary: 'Accept-Encoding, Cookie' }), expected: true },
  { name: 'every cookie in the route key: per-cookie already', section: 'RFC 9111 §4.1 (route key)', reqHeaders: { cookie: 'lang=en; session=alice' }, keyedCookies: ['lang', 'session'], resHeaders: html({ 'last-modified': LM }), expected: true },
  { name: 'a cookie outside the route key still counts', section: 'RFC 9111 §4.1 (route key)', reqHeaders: { cookie: 'lang=en; session=alice' }, keyedCookies: ['lang'], resHeaders: html({ 'last-modified': LM }), expected: 'cookie' },
  { name: 'no Cookie: heuristics as usual', section: 'RFC 9111 §4.2.2', reqHeaders: {}, resHeaders: html({ 'last-modified': LM }), expected: true },
  { name: 'an empty Cookie field is no cookie', section: 'RFC 6265 §5.4', reqHeaders: { cookie: ' ; ' }, resHeaders: html({ 'last-modified': LM }), expected: true },
  // explicit
  { name: 'explicit: a static type is not shared by heuristics', section: 'RFC 9111 §4.2.2', resHeaders: png({ 'last-modified': LM }), opts: EXPLICIT, expected: 'cookie' },
  { name: 'explicit: max-age=60 is shared', section: 'RFC 9111 §5.2.2.1', resHeaders: html({ 'cache-control': 'max-age=60' }), opts: EXPLICIT, expected: true },
  // never
  { name: 'never: max-age=60 is not stored', section: 'RFC 9111 §3 (configuration)', resHeaders: html({ 'cache-control': 'max-age=60' }), opts: NEVER, expected: 'cookie' },
  { name: 'never: public, s-maxage is not stored', section: 'RFC 9111 §3 (configuration)', resHeaders: png({ 'cache-control': 'public, s-maxage=60' }), opts: NEVER, expected: 'cookie' },
  { name: 'never: without a Cookie it is stored', section: 'RFC 9111 §3', reqHeaders: {}, resHeaders: html({ 'cache-control': 'max-age=60' }), opts: NEVER, expected: true },
  { name: 'never: a route keyed on every cookie sent still stores it', section: 'RFC 9111 §4.1 (route key)', keyedCookies: ['session'], resHeaders: html({ 'cache-control': 'max-age=60' }), opts: NEVER, expected: true },
];

for (const c of cases) {
  void test(`${c.section}: checkStorable with a Cookie: ${c.name}`, () => {
    const result = checkStorable({ method: 'GET', headers: c.reqHeaders ?? ALICE, keyedCookies: c.keyedCookies }, { status: 200, headers: c.resHeaders }, c.opts ?? DEFAULT_FRESHNESS);
    assert.deepEqual(result, c.expected === true ? { storable: true } : { storable: false, reason: c.expected });
  });
}

const cookieRows: Array<{ cookie: HeaderMap['cookie']; keyed?: readonly string[]; expected: boolean }> = [
  { cookie: undefined, expected: false },
  { cookie: '', expected: false },
  { cookie: 'a=1', expected: true },
  { cookie: 'a=1', keyed: ['a'], expected: false },
  { cookie: 'a=1; b=2', keyed: ['a'], expected: true },
  { cookie: ['a=1', 'b=2'], keyed: ['a', 'b'], expected: false },
  { cookie: 'A=1', keyed: ['a'], expected: true },
  { cookie: 'nameless', keyed: ['nameless'], expected: true },
];
for (const row of cookieRows) {
  void test(`RFC 6265 §5.4: hasUnkeyedCookie ${JSON.stringify(row.cookie)} keyed ${JSON.stringify(row.keyed)}`, () => {
    const headers: HeaderMap = row.cookie === undefined ? {} : { cookie: row.cookie };
    assert.equal(hasUnkeyedCookie(headers, row.keyed), row.expected);
  });
}

void test('RFC 9110 §8.3.1: isStaticContentType compares the media type only, case-insensitively', () => {
  assert.equal(isStaticContentType({ 'content-type': 'Image/SVG+XML' }, DEFAULT_STATIC_CONTENT_TYPES), true);
  assert.equal(isStaticContentType({ 'content-type': 'application/javascript;charset=utf-8' }, DEFAULT_STATIC_CONTENT_TYPES), true);
  assert.equal(isStaticContentType({ 'content-type': 'text/html' }, DEFAULT_STATIC_CONTENT_TYPES), false);
  assert.equal(isStaticContentType({}, DEFAULT_STATIC_CONTENT_TYPES), false);
  assert.equal(isStaticContentType({ 'content-type': 'application/pdf' }, ['Application/PDF']), true);
  assert.equal(isStaticContentType({ 'content-type': 'application/pdf' }, ['application/']), true);
  assert.equal(isStaticContentType({ 'content-type': 'image/png' }, []), false);
});

void test('storedCookieRuleAllows: the same rule for a stored response, per request', () => {
  const page = { status: 200, headers: html({ 'last-modified': LM }) };
  const asset = { status: 200, headers: png({ 'last-modified': LM }) };
  assert.equal(storedCookieRuleAllows(ALICE, undefined, page, DEFAULT_FRESHNESS), false);
  assert.equal(storedCookieRuleAllows(ALICE, undefined, page, DEFAULT_FRESHNESS), false, 'the same answer when remembered');
  assert.equal(storedCookieRuleAllows({}, undefined, page, DEFAULT_FRESHNESS), true);
  assert.equal(storedCookieRuleAllows(ALICE, ['session'], page, DEFAULT_FRESHNESS), true);
  assert.equal(storedCookieRuleAllows(ALICE, undefined, asset, DEFAULT_FRESHNESS), true);
  assert.equal(storedCookieRuleAllows(ALICE, undefined, asset, EXPLICIT), false, 'other options are not answered from memory');
  assert.equal(storedCookieRuleAllows(ALICE, undefined, asset, NEVER), false);
});
