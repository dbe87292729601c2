// Conditional requests at the cache: RFC 9110 §8.8.3.2, §13, §15.4.5; RFC 9111 §4.3.1, §4.3.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientConditionalResult,
  mayBeAnsweredNotModified,
  notModifiedHeaders,
  revalidationHeaders,
  strongEtagMatch,
  weakEtagMatch,
} from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface EtagCase {
  name: string;
  section: string;
  a: string;
  b: string;
  weak: boolean;
  strong: boolean;
}

const etagCases: EtagCase[] = [
  { name: 'W/"1" and W/"1"', section: 'RFC 9110 §8.8.3.2', a: 'W/"1"', b: 'W/"1"', weak: true, strong: false },
  { name: 'W/"1" and W/"2"', section: 'RFC 9110 §8.8.3.2', a: 'W/"1"', b: 'W/"2"', weak: false, strong: false },
  { name: 'W/"1" and "1"', section: 'RFC 9110 §8.8.3.2', a: 'W/"1"', b: '"1"', weak: true, strong: false },
  { name: '"1" and "1"', section: 'RFC 9110 §8.8.3.2', a: '"1"', b: '"1"', weak: true, strong: true },
  { name: '"1" and "2"', section: 'RFC 9110 §8.8.3.2', a: '"1"', b: '"2"', weak: false, strong: false },
  { name: 'opaque-tags are case-sensitive', section: 'RFC 9110 §8.8.3', a: '"abc"', b: '"ABC"', weak: false, strong: false },
  { name: 'lower-case w/ is not a weak prefix', section: 'RFC 9110 §8.8.3', a: 'w/"1"', b: '"1"', weak: false, strong: false },
  { name: 'empty tags never match', section: 'RFC 9110 §8.8.3', a: '', b: '', weak: false, strong: false },
];

for (const c of etagCases) {
  void test(`${c.section}: entity-tag comparison ${c.name}`, () => {
    assert.equal(weakEtagMatch(c.a, c.b), c.weak);
    assert.equal(strongEtagMatch(c.a, c.b), c.strong);
  });
}

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';
const BEFORE = 'Sat, 05 Nov 1994 08:49:37 GMT';
const AFTER = 'Mon, 07 Nov 1994 08:49:37 GMT';

interface ConditionalCase {
  name: string;
  section: string;
  method?: string;
  reqHeaders: HeaderMap;
  status?: number;
  stored: HeaderMap;
  expected: 'not-modified' | 'precondition-failed' | 'none';
}

const conditionalCases: ConditionalCase[] = [
  { name: 'no conditional', section: 'RFC 9110 §13', reqHeaders: {}, stored: { etag: '"1"' }, expected: 'none' },
  { name: 'If-None-Match matches', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': '"1"' }, stored: { etag: '"1"' }, expected: 'not-modified' },
  { name: 'If-None-Match uses weak comparison', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': 'W/"1"' }, stored: { etag: '"1"' }, expected: 'not-modified' },
  { name: 'If-None-Match list with a match', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': '"0", "1"' }, stored: { etag: 'W/"1"' }, expected: 'not-modified' },
  { name: 'If-None-Match list over several lines', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': ['"0"', '"1"'] }, stored: { etag: '"1"' }, expected: 'not-modified' },
  { name: 'If-None-Match with a comma inside a tag', section: 'RFC 9110 §8.8.3', reqHeaders: { 'if-none-match': '"a,b"' }, stored: { etag: '"a,b"' }, expected: 'not-modified' },
  { name: 'If-None-Match does not match', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': '"2"' }, stored: { etag: '"1"' }, expected: 'none' },
  { name: 'If-None-Match: * matches any representation', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': '*' }, stored: {}, expected: 'not-modified' },
  { name: 'If-None-Match without a stored ETag', section: 'RFC 9110 §13.1.2', reqHeaders: { 'if-none-match': '"1"' }, stored: { 'last-modified': LM }, expected: 'none' },
  { name: 'If-None-Match takes precedence over If-Modified-Since', section: 'RFC 9110 §13.2.2', reqHeaders: { 'if-none-match': '"2"', 'if-modified-since': AFTER }, stored: { etag: '"1"', 'last-modified': LM }, expected: 'none' },
  { name: 'If-Modified-Since equal to Last-Modified', section: 'RFC 9110 §13.1.3', reqHeaders: { 'if-modified-since': LM }, stored: { 'last-modified': LM }, expected: 'not-modified' },
  { name: 'If-Modified-Since after Last-Modified', section: 'RFC 9110 §13.1.3', reqHeaders: { 'if-modified-since': AFTER }, stored: { 'last-modified': LM }, expected: 'not-modified' },
  { name: 'If-Modified-Since before Last-Modified', section: 'RFC 9110 §13.1.3', reqHeaders: { 'if-modified-since': BEFORE }, stored: { 'last-modified': LM }, expected: 'none' },
  { name: 'If-Modified-Since in another date format', section: 'RFC 9110 §5.6.7', reqHeaders: { 'if-modified-since': 'Sunday, 06-Nov-94 08:49:37 GMT' }, stored: { 'last-modified': LM }, expected: 'not-modified' },
  { name: 'invalid If-Modified-Since is ignored', section: 'RFC 9110 §13.1.3', reqHeaders: { 'if-modified-since': 'yesterday' }, stored: { 'last-modified': LM }, expected: 'none' },
  { name: 'If-Modified-Since on two lines is ignored', section: 'RFC 9110 §13.1.3', reqHeaders: { 'if-modified-since': [AFTER, AFTER] }, stored: { 'last-modified': LM }, expected: 'none' },
  { name: 'If-Modified-Since against Date without Last-Modified', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-modified-since': AFTER }, stored: { date: LM }, expected: 'not-modified' },
  { name: 'If-Modified-Since before Date without Last-Modified', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-modified-since': BEFORE }, stored: { date: LM }, expected: 'none' },
  { name: 'If-Modified-Since with an invalid Last-Modified uses Date', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-modified-since': AFTER }, stored: { 'last-modified': 'junk', date: LM }, expected: 'not-modified' },
  { name: 'If-Modified-Since with neither date', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-modified-since': AFTER }, stored: {}, expected: 'none' },
  { name: 'HEAD is evaluated', section: 'RFC 9110 §13.1.2', method: 'HEAD', reqHeaders: { 'if-none-match': '"1"' }, stored: { etag: '"1"' }, expected: 'not-modified' },
  { name: 'POST is not evaluated', section: 'RFC 9110 §13.1.2', method: 'POST', reqHeaders: { 'if-none-match': '"1"' }, stored: { etag: '"1"' }, expected: 'none' },
  { name: 'a stored 404 is not evaluated', section: 'RFC 9110 §13.2.1', status: 404, reqHeaders: { 'if-none-match': '*' }, stored: { etag: '"1"' }, expected: 'none' },
  { name: 'a stored 301 is not evaluated', section: 'RFC 9110 §13.2.1', status: 301, reqHeaders: { 'if-modified-since': AFTER }, stored: { 'last-modified': LM }, expected: 'none' },
  { name: 'a stored 203 is evaluated', section: 'RFC 9110 §13.2.1', status: 203, reqHeaders: { 'if-none-match': '"1"' }, stored: { etag: '"1"' }, expected: 'not-modified' },
  { name: 'If-Match is not applicable to a cache', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-match': '"2"' }, stored: { etag: '"1"' }, expected: 'none' },
  { name: 'If-Unmodified-Since is not applicable to a cache', section: 'RFC 9111 §4.3.2', reqHeaders: { 'if-unmodified-since': BEFORE }, stored: { 'last-modified': LM }, expected: 'none' },
];

for (const c of conditionalCases) {
  void test(`${c.section}: clientConditionalResult ${c.name}`, () => {
    const result = clientConditionalResult({ method: c.method ?? 'GET', headers: c.reqHeaders }, { status: c.status ?? 200, headers: c.stored });
    assert.equal(result, c.expected);
  });
}

interface HeaderCase {
  name: string;
  section: string;
  input: HeaderMap;
  expected: HeaderMap;
}

const notModifiedCases: HeaderCase[] = [
  {
    name: 'only the fields a 304 carries',
    section: 'RFC 9110 §15.4.5',
    input: {
      etag: '"1"', 'cache-control': 'max-age=5', 'content-location': '/a', date: LM, expires: AFTER, vary: 'accept', 'last-modified': BEFORE,
      'cdn-cache-control': 'max-age=9', 'content-type': 'text/html', 'content-length': '10', 'set-cookie': 'a=1', age: '3', 'x-custom': 'x',
    },
    expected: { etag: '"1"', 'cache-control': 'max-age=5', 'content-location': '/a', date: LM, expires: AFTER, vary: 'accept', 'last-modified': BEFORE, 'cdn-cache-control': 'max-age=9' },
  },
  { name: 'absent fields stay absent', section: 'RFC 9110 §15.4.5', input: { 'content-type': 'text/plain' }, expected: {} },
  { name: 'several lines are kept', section: 'RFC 9110 §15.4.5', input: { vary: ['accept', 'origin'] }, expected: { vary: ['accept', 'origin'] } },
];

for (const c of notModifiedCases) {
  void test(`${c.section}: notModifiedHeaders ${c.name}`, () => {
    assert.deepEqual(notModifiedHeaders(c.input), c.expected);
  });
}

const revalidationCases: HeaderCase[] = [
  { name: 'both validators', section: 'RFC 9111 §4.3.1', input: { etag: '"1"', 'last-modified': LM }, expected: { 'if-none-match': '"1"', 'if-modified-since': LM } },
  { name: 'a weak ETag is sent as it is', section: 'RFC 9111 §4.3.1', input: { etag: 'W/"1"' }, expected: { 'if-none-match': 'W/"1"' } },
  { name: 'Last-Modified is copied exactly', section: 'RFC 9110 §13.1.3', input: { 'last-modified': 'Sunday, 06-Nov-94 08:49:37 GMT' }, expected: { 'if-modified-since': 'Sunday, 06-Nov-94 08:49:37 GMT' } },
  { name: 'an invalid Last-Modified is not used', section: 'RFC 9111 §4.3.1', input: { 'last-modified': 'recently' }, expected: {} },
  { name: 'no validators', section: 'RFC 9111 §4.3.1', input: { 'content-type': 'text/plain', date: LM }, expected: {} },
];

for (const c of revalidationCases) {
  void test(`${c.section}: revalidationHeaders ${c.name}`, () => {
    assert.deepEqual(revalidationHeaders(c.input), c.expected);
  });
}

const notModifiedAllowedCases: Array<{ name: string; section: string; method: string; sent: HeaderMap; expected: boolean }> = [
  { name: 'a GET without preconditions', section: 'RFC 9110 §15.4.5', method: 'GET', sent: { accept: '*/*' }, expected: false },
  { name: 'a GET with If-None-Match', section: 'RFC 9110 §13.1.2', method: 'GET', sent: { 'if-none-match': '"1"' }, expected: true },
  { name: 'a GET with If-Modified-Since', section: 'RFC 9110 §13.1.3', method: 'GET', sent: { 'if-modified-since': LM }, expected: true },
  { name: 'a HEAD with If-None-Match', section: 'RFC 9110 §13.1.2', method: 'HEAD', sent: { 'if-none-match': '*' }, expected: true },
  { name: 'a HEAD without preconditions', section: 'RFC 9110 §15.4.5', method: 'HEAD', sent: {}, expected: false },
  { name: 'If-Match fails with 412, never 304', section: 'RFC 9110 §13.1.1', method: 'GET', sent: { 'if-match': '"1"' }, expected: false },
  { name: 'If-Unmodified-Since fails with 412, never 304', section: 'RFC 9110 §13.1.4', method: 'GET', sent: { 'if-unmodified-since': LM }, expected: false },
  { name: 'If-Range with Range gives 206 or 200, never 304', section: 'RFC 9110 §13.1.5', method: 'GET', sent: { 'if-range': '"1"', range: 'bytes=0-1' }, expected: false },
  { name: 'a POST, even with If-None-Match', section: 'RFC 9110 §13.1.2, §15.4.5', method: 'POST', sent: { 'if-none-match': '"1"' }, expected: false },
  { name: 'an empty list of If-None-Match lines', section: 'RFC 9110 §13.1.2', method: 'GET', sent: { 'if-none-match': [] }, expected: false },
];

for (const c of notModifiedAllowedCases) {
  void test(`${c.section}: mayBeAnsweredNotModified ${c.name}`, () => {
    assert.equal(mayBeAnsweredNotModified(c.method, c.sent), c.expected);
  });
}
