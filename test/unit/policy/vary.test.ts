// Vary and the secondary cache key: RFC 9111 §4.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secondaryKey, varyFieldNames } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface NamesCase {
  name: string;
  section: string;
  headers: HeaderMap;
  expected: string[] | '*';
}

const namesCases: NamesCase[] = [
  { name: 'no Vary', section: 'RFC 9111 §4.1', headers: {}, expected: [] },
  { name: 'empty Vary', section: 'RFC 9111 §4.1', headers: { vary: '' }, expected: [] },
  { name: 'names are lower-cased, de-duplicated and sorted', section: 'RFC 9111 §4.1', headers: { vary: 'User-Agent, accept-encoding, Accept-Encoding' }, expected: ['accept-encoding', 'user-agent'] },
  { name: 'several lines combine', section: 'RFC 9111 §4.1', headers: { vary: ['Origin', 'Accept'] }, expected: ['accept', 'origin'] },
  { name: '"*" alone', section: 'RFC 9111 §4.1', headers: { vary: '*' }, expected: '*' },
  { name: '"*, *"', section: 'RFC 9111 §4.1', headers: { vary: '*, *' }, expected: '*' },
  { name: '", *"', section: 'RFC 9111 §4.1', headers: { vary: ', *' }, expected: '*' },
  { name: '"foo, *"', section: 'RFC 9111 §4.1', headers: { vary: 'foo, *' }, expected: '*' },
  { name: '"*" with spaces', section: 'RFC 9111 §4.1', headers: { vary: '  *  ' }, expected: '*' },
  { name: '"*" on a later line', section: 'RFC 9111 §4.1', headers: { vary: ['accept', '*'] }, expected: '*' },
  { name: 'empty members are ignored', section: 'RFC 9110 §5.6.1', headers: { vary: ',,accept,,' }, expected: ['accept'] },
];

for (const c of namesCases) {
  void test(`${c.section}: varyFieldNames ${c.name}`, () => {
    assert.deepEqual(varyFieldNames(c.headers), c.expected);
  });
}

interface KeyCase {
  name: string;
  section: string;
  names: string[];
  a: HeaderMap;
  b: HeaderMap;
  same: boolean;
}

const keyCases: KeyCase[] = [
  { name: 'no selecting fields: one key', section: 'RFC 9111 §4.1', names: [], a: { accept: 'a' }, b: {}, same: true },
  { name: 'identical values match', section: 'RFC 9111 §4.1', names: ['accept-encoding'], a: { 'accept-encoding': 'gzip' }, b: { 'accept-encoding': 'gzip' }, same: true },
  { name: 'different values differ', section: 'RFC 9111 §4.1', names: ['accept-encoding'], a: { 'accept-encoding': 'gzip' }, b: { 'accept-encoding': 'br' }, same: false },
  { name: 'absent differs from empty', section: 'RFC 9111 §4.1', names: ['x-a'], a: {}, b: { 'x-a': '' }, same: false },
  { name: 'absent matches absent', section: 'RFC 9111 §4.1', names: ['x-a'], a: { other: '1' }, b: {}, same: true },
  { name: 'whitespace around commas is removed', section: 'RFC 9111 §4.1', names: ['x-list'], a: { 'x-list': 'a,b' }, b: { 'x-list': '  a ,   b ' }, same: true },
  { name: 'several lines equal one combined line', section: 'RFC 9111 §4.1', names: ['x-list'], a: { 'x-list': ['a', 'b'] }, b: { 'x-list': 'a, b' }, same: true },
  { name: 'order matters for ordinary fields', section: 'RFC 9111 §4.1', names: ['x-list'], a: { 'x-list': 'a, b' }, b: { 'x-list': 'b, a' }, same: false },
  { name: 'case matters for ordinary fields', section: 'RFC 9111 §4.1', names: ['x-token'], a: { 'x-token': 'Abc' }, b: { 'x-token': 'abc' }, same: false },
  { name: 'Accept-Encoding ignores order and case', section: 'RFC 9111 §4.1', names: ['accept-encoding'], a: { 'accept-encoding': 'gzip, BR' }, b: { 'accept-encoding': 'br,gzip' }, same: true },
  { name: 'Accept-Encoding keeps q-values with their member', section: 'RFC 9111 §4.1', names: ['accept-encoding'], a: { 'accept-encoding': 'gzip;q=0.5, br' }, b: { 'accept-encoding': 'br ; q=0.5, gzip' }, same: false },
  { name: 'Accept-Encoding ignores OWS around ";" and "="', section: 'RFC 9111 §4.1', names: ['accept-encoding'], a: { 'accept-encoding': 'gzip;q=0.5' }, b: { 'accept-encoding': 'gzip ; q = 0.5' }, same: true },
  { name: 'Accept-Language over lines and in another order', section: 'RFC 9111 §4.1', names: ['accept-language'], a: { 'accept-language': ['fr', 'EN-us;q=0.8'] }, b: { 'accept-language': 'en-US;q=0.8, fr' }, same: true },
  { name: 'Accept with parameters in another order of members', section: 'RFC 9111 §4.1', names: ['accept'], a: { accept: 'text/html, application/json;q=0.9' }, b: { accept: 'Application/JSON;q=0.9,text/html' }, same: true },
  { name: 'Accept-Charset members', section: 'RFC 9111 §4.1', names: ['accept-charset'], a: { 'accept-charset': 'utf-8, iso-8859-1' }, b: { 'accept-charset': 'ISO-8859-1, UTF-8' }, same: true },
  { name: 'each name is keyed separately', section: 'RFC 9111 §4.1', names: ['x-a', 'x-b'], a: { 'x-a': '1', 'x-b': '2' }, b: { 'x-a': '1', 'x-b': '3' }, same: false },
  { name: 'a value cannot impersonate the next field', section: 'RFC 9111 §4.1', names: ['x-a', 'x-b'], a: { 'x-a': '1', 'x-b': '2' }, b: { 'x-a': '1 x-b:2' }, same: false },
  { name: 'long keys are hashed, still deterministic', section: 'RFC 9111 §4.1', names: ['cookie'], a: { cookie: 'a'.repeat(5000) }, b: { cookie: 'a'.repeat(5000) }, same: true },
  { name: 'long keys that differ hash differently', section: 'RFC 9111 §4.1', names: ['cookie'], a: { cookie: 'a'.repeat(5000) }, b: { cookie: 'a'.repeat(4999) + 'b' }, same: false },
];

for (const c of keyCases) {
  void test(`${c.section}: secondaryKey ${c.name}`, () => {
    const keyA = secondaryKey(c.names, c.a);
    const keyB = secondaryKey(c.names, c.b);
    assert.equal(keyA === keyB, c.same, `${JSON.stringify(keyA)} vs ${JSON.stringify(keyB)}`);
    assert.ok(keyA.length <= 1024);
  });
}

void test('RFC 9111 §4.1: a key beyond 1024 characters is a SHA-256 hex digest', () => {
  const key = secondaryKey(['cookie'], { cookie: 'x'.repeat(2000) });
  assert.match(key, /^@sha256:[0-9a-f]{64}$/);
});

void test('RFC 9111 §4.1: a key within 1024 characters is kept readable', () => {
  assert.equal(secondaryKey(['accept-encoding', 'x-absent'], { 'accept-encoding': 'GZIP, br' }), 'accept-encoding:br,gzip\nx-absent');
});
