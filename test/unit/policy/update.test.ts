// Updating stored responses: RFC 9111 §3.2, §4.3.4, §4.3.5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headMatchesStored, mergeStoredHeaders, notModifiedMatchesStored } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';
const LM2 = 'Mon, 07 Nov 1994 08:49:37 GMT';

interface MergeCase {
  name: string;
  section: string;
  stored: HeaderMap;
  incoming: HeaderMap;
  expected: HeaderMap;
}

const mergeCases: MergeCase[] = [
  { name: 'incoming fields replace stored ones and new ones are added', section: 'RFC 9111 §3.2', stored: { 'cache-control': 'max-age=5', date: LM, 'content-type': 'text/html', etag: '"1"' }, incoming: { 'cache-control': 'max-age=60', date: LM2, 'x-new': 'n' }, expected: { 'cache-control': 'max-age=60', date: LM2, 'content-type': 'text/html', etag: '"1"', 'x-new': 'n' } },
  { name: 'Content-Length is never updated', section: 'RFC 9111 §3.2', stored: { 'content-length': '10' }, incoming: { 'content-length': '0' }, expected: { 'content-length': '10' } },
  { name: 'Content-Range is not updated', section: 'RFC 9111 §3.2', stored: {}, incoming: { 'content-range': 'bytes 0-1/2' }, expected: {} },
  { name: 'Content-Encoding and Content-Type are updated', section: 'RFC 9111 §3.2', stored: { 'content-encoding': 'gzip', 'content-type': 'a/b' }, incoming: { 'content-encoding': 'br', 'content-type': 'c/d' }, expected: { 'content-encoding': 'br', 'content-type': 'c/d' } },
  { name: 'hop-by-hop fields are not stored', section: 'RFC 9111 §3.1', stored: { etag: '"1"' }, incoming: { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', te: 'trailers', upgrade: 'x', trailer: 'y' }, expected: { etag: '"1"' } },
  { name: 'fields named in Connection are not stored', section: 'RFC 9111 §3.1', stored: {}, incoming: { connection: 'X-Hop', 'x-hop': '1', 'x-end': '2' }, expected: { 'x-end': '2' } },
  { name: 'proxy fields are not stored', section: 'RFC 9111 §3.1', stored: {}, incoming: { 'proxy-authenticate': 'Basic', 'proxy-authentication-info': 'x' }, expected: {} },
  { name: 'Age is dropped from the incoming and the stored map', section: 'RFC 9111 §4.2.3', stored: { age: '100', etag: '"1"' }, incoming: { age: '5' }, expected: { etag: '"1"' } },
  { name: 'several lines replace the stored lines', section: 'RFC 9111 §3.2', stored: { link: ['<a>', '<b>'] }, incoming: { link: '<c>' }, expected: { link: '<c>' } },
  { name: 'fields named by a qualified private are removed', section: 'RFC 9111 §3.1', stored: { 'x-user': 'alice', 'x-keep': 'k' }, incoming: { 'cache-control': 'private="X-User", max-age=5' }, expected: { 'cache-control': 'private="X-User", max-age=5', 'x-keep': 'k' } },
  { name: 'Set-Cookie from a 304 is not stored for all', section: 'RFC 9111 §7.3', stored: { 'cache-control': 'max-age=5' }, incoming: { 'set-cookie': 'sid=alice' }, expected: { 'cache-control': 'max-age=5' } },
  { name: 'Set-Cookie of a public response is stored', section: 'RFC 9111 §7.3', stored: { 'cache-control': 'public, max-age=5' }, incoming: { 'set-cookie': 'ab=b' }, expected: { 'cache-control': 'public, max-age=5', 'set-cookie': 'ab=b' } },
  { name: 'Set-Cookie named by private is not stored', section: 'RFC 9111 §5.2.2.7', stored: { 'set-cookie': 'old=1' }, incoming: { 'cache-control': 'private="set-cookie", s-maxage=5', 'set-cookie': 'sid=1' }, expected: { 'cache-control': 'private="set-cookie", s-maxage=5' } },
  { name: 'undefined incoming values are ignored', section: 'RFC 9111 §3.2', stored: { etag: '"1"' }, incoming: { etag: undefined }, expected: { etag: '"1"' } },
];

for (const c of mergeCases) {
  void test(`${c.section}: mergeStoredHeaders ${c.name}`, () => {
    const stored = structuredClone(c.stored);
    const incoming = structuredClone(c.incoming);
    assert.deepEqual(mergeStoredHeaders(stored, incoming), c.expected);
    assert.deepEqual(stored, c.stored, 'the stored map is not modified');
    assert.deepEqual(incoming, c.incoming, 'the incoming map is not modified');
  });
}

interface MatchCase {
  name: string;
  section: string;
  stored: HeaderMap;
  other: HeaderMap;
  expected: boolean;
}

const notModifiedCases: MatchCase[] = [
  { name: 'same strong ETag', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"' }, other: { etag: '"1"' }, expected: true },
  { name: 'different strong ETag', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"' }, other: { etag: '"2"' }, expected: false },
  { name: 'strong ETag against a stored weak one', section: 'RFC 9111 §4.3.4', stored: { etag: 'W/"1"' }, other: { etag: '"1"' }, expected: false },
  { name: 'strong ETag when the stored response has none', section: 'RFC 9111 §4.3.4', stored: { 'last-modified': LM }, other: { etag: '"1"' }, expected: false },
  { name: 'strong ETag decides even if Last-Modified differs', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"', 'last-modified': LM }, other: { etag: '"1"', 'last-modified': LM2 }, expected: true },
  { name: 'matching weak ETag', section: 'RFC 9111 §4.3.4', stored: { etag: 'W/"1"' }, other: { etag: 'W/"1"' }, expected: true },
  { name: 'weak ETag against a stored strong one with the same tag', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"' }, other: { etag: 'W/"1"' }, expected: true },
  { name: 'different weak ETag', section: 'RFC 9111 §4.3.4', stored: { etag: 'W/"1"' }, other: { etag: 'W/"2"' }, expected: false },
  { name: 'matching Last-Modified only', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"', 'last-modified': LM }, other: { 'last-modified': LM }, expected: true },
  { name: 'matching Last-Modified in another format', section: 'RFC 9111 §4.3.4', stored: { 'last-modified': LM }, other: { 'last-modified': 'Sun Nov  6 08:49:37 1994' }, expected: true },
  { name: 'different Last-Modified', section: 'RFC 9111 §4.3.4', stored: { 'last-modified': LM }, other: { 'last-modified': LM2 }, expected: false },
  { name: 'Last-Modified when the stored response has none', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"' }, other: { 'last-modified': LM }, expected: false },
  { name: 'weak ETag matching but Last-Modified differing', section: 'RFC 9111 §4.3.4', stored: { etag: 'W/"1"', 'last-modified': LM }, other: { etag: 'W/"1"', 'last-modified': LM2 }, expected: false },
  { name: 'no validators on either side', section: 'RFC 9111 §4.3.4', stored: { date: LM }, other: { date: LM2 }, expected: true },
  // The 304 answers the conditional built from the stored validators: it says they matched.
  { name: 'no validators in the 304, a stored strong ETag (sent as If-None-Match)', section: 'RFC 9111 §4.3.4, RFC 9110 §13.1.2', stored: { etag: '"1"' }, other: { date: LM2 }, expected: true },
  { name: 'no validators in the 304, a stored weak ETag', section: 'RFC 9111 §4.3.4, RFC 9110 §13.1.2', stored: { etag: 'W/"1"' }, other: { 'cache-control': 'max-age=60' }, expected: true },
  { name: 'no validators in the 304, a stored Last-Modified (sent as If-Modified-Since)', section: 'RFC 9111 §4.3.4, RFC 9110 §13.1.3', stored: { 'last-modified': LM }, other: {}, expected: true },
  { name: 'no validators in the 304, both stored', section: 'RFC 9111 §4.3.4, RFC 9110 §13.1', stored: { etag: '"1"', 'last-modified': LM }, other: { date: LM2 }, expected: true },
  { name: 'a different strong ETag still contradicts a stored Last-Modified that matches', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"', 'last-modified': LM }, other: { etag: '"2"', 'last-modified': LM }, expected: false },
  { name: 'a different Last-Modified without ETag contradicts a stored ETag and Last-Modified', section: 'RFC 9111 §4.3.4', stored: { etag: '"1"', 'last-modified': LM }, other: { 'last-modified': LM2 }, expected: false },
  { name: 'a strong ETag in the 304 when only Last-Modified is stored', section: 'RFC 9111 §4.3.4', stored: { 'last-modified': LM }, other: { etag: '"9"', 'last-modified': LM }, expected: false },
];

for (const c of notModifiedCases) {
  void test(`${c.section}: notModifiedMatchesStored ${c.name}`, () => {
    assert.equal(notModifiedMatchesStored(c.stored, c.other), c.expected);
  });
}

const headCases: Array<MatchCase & { storedBodyBytes?: number }> = [
  { name: 'same validators and length', section: 'RFC 9111 §4.3.5', stored: { etag: '"1"', 'last-modified': LM, 'content-length': '10' }, other: { etag: '"1"', 'last-modified': LM, 'content-length': '10' }, expected: true },
  { name: 'no validators or length in the HEAD response', section: 'RFC 9111 §4.3.5', stored: { etag: '"1"', 'content-length': '10' }, other: { date: LM2 }, expected: true },
  { name: 'different ETag', section: 'RFC 9111 §4.3.5', stored: { etag: '"1"' }, other: { etag: '"2"' }, expected: false },
  { name: 'weak versus strong ETag', section: 'RFC 9111 §4.3.5', stored: { etag: '"1"' }, other: { etag: 'W/"1"' }, expected: false },
  { name: 'ETag in the HEAD response but none stored', section: 'RFC 9111 §4.3.5', stored: {}, other: { etag: '"1"' }, expected: false },
  { name: 'different Last-Modified', section: 'RFC 9111 §4.3.5', stored: { 'last-modified': LM }, other: { 'last-modified': LM2 }, expected: false },
  { name: 'different Content-Length', section: 'RFC 9111 §4.3.5', stored: { 'content-length': '10' }, other: { 'content-length': '11' }, expected: false },
  { name: 'Content-Length with leading zeros matches', section: 'RFC 9111 §4.3.5', stored: { 'content-length': '10' }, other: { 'content-length': '010' }, expected: true },
  { name: 'invalid Content-Length does not match', section: 'RFC 9111 §4.3.5', stored: { 'content-length': '10' }, other: { 'content-length': '1e1' }, expected: false },
  { name: 'Content-Length against the stored body size', section: 'RFC 9111 §4.3.5', stored: {}, other: { 'content-length': '42' }, storedBodyBytes: 42, expected: true },
  { name: 'Content-Length with nothing stored to compare', section: 'RFC 9111 §4.3.5', stored: {}, other: { 'content-length': '42' }, expected: false },
];

for (const c of headCases) {
  void test(`${c.section}: headMatchesStored ${c.name}`, () => {
    assert.equal(headMatchesStored(c.stored, c.other, c.storedBodyBytes), c.expected);
  });
}
