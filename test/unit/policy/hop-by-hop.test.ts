// Hop-by-hop fields: RFC 9110 §7.6.1, RFC 9111 §3.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endToEndHeaders, forwardedView, HOP_BY_HOP } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface Case {
  name: string;
  section: string;
  headers: HeaderMap;
  extraDrop?: readonly string[];
  expected: HeaderMap;
}

const cases: Case[] = [
  { name: 'end-to-end fields are kept', section: 'RFC 9110 §7.6.1', headers: { 'content-type': 'text/plain', etag: '"1"' }, expected: { 'content-type': 'text/plain', etag: '"1"' } },
  {
    name: 'every listed hop-by-hop field is removed',
    section: 'RFC 9110 §7.6.1',
    headers: { connection: 'close', 'keep-alive': 'timeout=5', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-connection': 'keep-alive', trailer: 'x', 'x-keep': '1' },
    expected: { 'x-keep': '1' },
  },
  { name: 'fields named in Connection are removed', section: 'RFC 9110 §7.6.1', headers: { connection: 'X-Secret, x-other', 'x-secret': 's', 'x-other': 'o', 'x-keep': 'k' }, expected: { 'x-keep': 'k' } },
  { name: 'Connection over several lines', section: 'RFC 9110 §7.6.1', headers: { connection: ['close', 'x-a'], 'x-a': 'a', 'x-b': 'b' }, expected: { 'x-b': 'b' } },
  { name: 'proxy-* fields are removed', section: 'RFC 9111 §3.1', headers: { 'proxy-authenticate': 'Basic', 'proxy-authorization': 'Basic x', 'proxy-authentication-info': 'a', 'proxy-status': 'p', via: '1.1 a' }, expected: { via: '1.1 a' } },
  { name: 'extraDrop names are removed, case-insensitively', section: 'RFC 9111 §3.1', headers: { 'set-cookie': 'a=1', 'x-a': 'a', 'x-b': 'b' }, extraDrop: ['Set-Cookie', 'x-a'], expected: { 'x-b': 'b' } },
  { name: 'arrays stay arrays', section: 'RFC 9110 §5.3', headers: { 'set-cookie': ['a=1', 'b=2'], connection: 'close' }, expected: { 'set-cookie': ['a=1', 'b=2'] } },
  { name: 'undefined values are dropped', section: 'RFC 9110 §5.3', headers: { a: undefined, b: 'x' }, expected: { b: 'x' } },
];

for (const c of cases) {
  void test(`${c.section}: endToEndHeaders ${c.name}`, () => {
    const input = structuredClone(c.headers);
    assert.deepEqual(endToEndHeaders(input, c.extraDrop), c.expected);
    assert.deepEqual(input, c.headers, 'the input map is not modified');
  });
}

// forwardedView: the request as the origin sees it, and the very same map when Connection names no field.
const REPLACED = Object.freeze(['x-forwarded-for', 'x-real-ip']);
const views: Array<{ name: string; headers: HeaderMap; same: boolean; expected?: HeaderMap; replaced?: readonly string[] }> = [
  { name: 'no Connection', headers: { 'x-v': 'a' }, same: true },
  { name: 'Connection: keep-alive', headers: { connection: 'keep-alive', 'x-v': 'a' }, same: true },
  { name: 'Connection: Close', headers: { connection: 'Close', 'x-v': 'a' }, same: true },
  { name: 'Connection naming only hop-by-hop fields', headers: { connection: 'keep-alive, TE', te: 'trailers', 'x-v': 'a' }, same: true },
  { name: 'Connection naming an end-to-end field', headers: { connection: 'close, X-V', 'x-v': 'premium', accept: '*/*' }, same: false, expected: { accept: '*/*' } },
  { name: 'Connection over several lines', headers: { connection: ['keep-alive', 'x-v'], 'x-v': 'premium', cookie: 'a=1' }, same: false, expected: { cookie: 'a=1' } },
  { name: 'none of the fields the node replaces', headers: { accept: '*/*' }, same: true, replaced: REPLACED },
  { name: 'a field the node replaces (its value never reaches the origin)', headers: { 'x-real-ip': '6.6.6.6', accept: '*/*' }, same: false, expected: { accept: '*/*' }, replaced: REPLACED },
  { name: 'a replaced field and a Connection-named one', headers: { connection: 'x-v', 'x-v': 'a', 'x-forwarded-for': '1.2.3.4' }, same: false, expected: {}, replaced: REPLACED },
];
for (const v of views) {
  void test(`RFC 9110 §7.6.1: forwardedView ${v.name}`, () => {
    const view = forwardedView(v.headers, v.replaced);
    if (v.same) assert.equal(view, v.headers, 'no copy');
    else assert.deepEqual(view, v.expected);
  });
}

void test('RFC 9110 §7.6.1: HOP_BY_HOP lists the hop-by-hop fields', () => {
  for (const name of ['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'trailer']) {
    assert.ok(HOP_BY_HOP.has(name), name);
  }
  assert.equal(HOP_BY_HOP.has('content-length'), false);
});
