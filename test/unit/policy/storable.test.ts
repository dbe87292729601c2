// Whether a shared cache may store a response: RFC 9111 §3, §3.5, §5.2.1.5, §5.2.2, §7.3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStorable, DEFAULT_FRESHNESS } from '../../../proxy/policy/index.js';
import type { FreshnessOptions, NotStorableReason } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const NO_CDN: FreshnessOptions = { ...DEFAULT_FRESHNESS, useCdnCacheControl: false };

interface Case {
  name: string;
  section: string;
  method?: string;
  reqHeaders?: HeaderMap;
  keyedCookies?: readonly string[];
  operatorLifetime?: boolean;
  status?: number;
  resHeaders: HeaderMap;
  opts?: FreshnessOptions;
  /** true, or the reason it is not storable */
  expected: true | NotStorableReason;
}

const cases: Case[] = [
  { name: 'a plain 200 with Last-Modified is heuristically cacheable', section: 'RFC 9111 §3, §4.2.2', resHeaders: { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, expected: true },
  { name: 'a plain 200 with only an ETag is stored (to be validated)', section: 'RFC 9111 §3, §4.3.1', resHeaders: { etag: '"1"' }, expected: true },
  { name: 'a 200 with max-age', section: 'RFC 9111 §3', resHeaders: { 'cache-control': 'max-age=60' }, expected: true },
  { name: 'HEAD is not stored', section: 'RFC 9111 §3', method: 'HEAD', resHeaders: { 'cache-control': 'max-age=60' }, expected: 'method' },
  { name: 'POST is not stored', section: 'RFC 9111 §3', method: 'POST', resHeaders: { 'cache-control': 'max-age=60' }, expected: 'method' },
  { name: 'an unknown method is not stored', section: 'RFC 9111 §3', method: 'PURGE', resHeaders: {}, expected: 'method' },
  { name: 'method names are case-sensitive', section: 'RFC 9110 §9.1', method: 'get', resHeaders: {}, expected: 'method' },
  { name: '1xx is not final', section: 'RFC 9111 §3', status: 103, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'status' },
  { name: '304 is not stored', section: 'RFC 9111 §3', status: 304, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'status' },
  { name: 'an out-of-range status is not stored', section: 'RFC 9110 §15', status: 600, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'status' },
  { name: '206 is not stored in this version', section: 'RFC 9111 §3.3', status: 206, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'partial' },
  { name: 'response no-store', section: 'RFC 9111 §5.2.2.5', resHeaders: { 'cache-control': 'no-store, max-age=60' }, expected: 'no-store' },
  { name: 'request no-store', section: 'RFC 9111 §5.2.1.5', reqHeaders: { 'cache-control': 'no-store' }, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'request-no-store' },
  { name: 'must-understand with an understood status ignores no-store', section: 'RFC 9111 §5.2.2.3', resHeaders: { 'cache-control': 'must-understand, no-store, max-age=60' }, expected: true },
  { name: 'must-understand with an understood 307 ignores no-store', section: 'RFC 9111 §5.2.2.3', status: 307, resHeaders: { 'cache-control': 'must-understand, no-store, max-age=60' }, expected: true },
  { name: 'must-understand with a status not understood', section: 'RFC 9111 §3', status: 299, resHeaders: { 'cache-control': 'must-understand, no-store, max-age=60' }, expected: 'must-understand' },
  { name: 'must-understand with a 500', section: 'RFC 9111 §3', status: 500, resHeaders: { 'cache-control': 'must-understand, max-age=60' }, expected: 'must-understand' },
  { name: 'unqualified private', section: 'RFC 9111 §5.2.2.7', resHeaders: { 'cache-control': 'private, max-age=60' }, expected: 'private' },
  { name: 'qualified private is storable (the fields are stripped)', section: 'RFC 9111 §5.2.2.7', resHeaders: { 'cache-control': 'private="x-user", max-age=60' }, expected: true },
  { name: 'Authorization without an allowing directive', section: 'RFC 9111 §3.5', reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 'max-age=60' }, expected: 'authorization' },
  { name: 'Authorization with public', section: 'RFC 9111 §3.5', reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 'public, max-age=60' }, expected: true },
  { name: 'Authorization with s-maxage', section: 'RFC 9111 §3.5', reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 's-maxage=60' }, expected: true },
  { name: 'Authorization with must-revalidate', section: 'RFC 9111 §3.5', reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 'must-revalidate, max-age=60' }, expected: true },
  { name: 'Vary: *', section: 'RFC 9111 §4.1', resHeaders: { 'cache-control': 'max-age=60', vary: '*' }, expected: 'vary-star' },
  { name: 'Vary: accept, * over lines', section: 'RFC 9111 §4.1', resHeaders: { 'cache-control': 'max-age=60', vary: ['accept', ' *'] }, expected: 'vary-star' },
  { name: 'Vary: X-Forwarded-For (the node writes it per client address)', section: 'RFC 9111 §4.1 (choice)', resHeaders: { 'cache-control': 'max-age=60', vary: 'Accept, X-Forwarded-For' }, expected: 'vary-client-address' },
  { name: 'Vary: Forwarded', section: 'RFC 9111 §4.1 (choice)', resHeaders: { 'cache-control': 'max-age=60', vary: 'forwarded' }, expected: 'vary-client-address' },
  { name: 'an ordinary Vary is fine', section: 'RFC 9111 §4.1', resHeaders: { 'cache-control': 'max-age=60', vary: 'accept-encoding' }, expected: true },
  { name: 'Set-Cookie without explicit shared cacheability', section: 'RFC 9111 §7.3', resHeaders: { 'cache-control': 'max-age=60', 'set-cookie': 'sid=1' }, expected: 'set-cookie' },
  { name: 'Set-Cookie on a heuristically cacheable 200', section: 'RFC 9111 §7.3', resHeaders: { 'set-cookie': 'sid=1' }, expected: 'set-cookie' },
  { name: 'Set-Cookie with public', section: 'RFC 9111 §7.3', resHeaders: { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }, expected: true },
  { name: 'Set-Cookie with s-maxage', section: 'RFC 9111 §7.3', resHeaders: { 'cache-control': 's-maxage=60', 'set-cookie': 'sid=1' }, expected: true },
  { name: 'Set-Cookie with CDN-Cache-Control', section: 'RFC 9213 §2.2', resHeaders: { 'cdn-cache-control': 'max-age=60', 'set-cookie': 'sid=1' }, expected: true },
  { name: 'Set-Cookie named by a qualified private', section: 'RFC 9111 §5.2.2.7', resHeaders: { 'cache-control': 'private="set-cookie", max-age=60', 'set-cookie': 'sid=1' }, expected: true },
  { name: 'a 302 without freshness', section: 'RFC 9111 §3', status: 302, resHeaders: { location: '/x' }, expected: 'no-freshness' },
  { name: 'a 500 without freshness', section: 'RFC 9111 §3', status: 500, resHeaders: {}, expected: 'no-freshness' },
  { name: 'a validator alone does not make a 302 storable', section: 'RFC 9111 §3', status: 302, resHeaders: { etag: '"1"', 'cache-control': 'no-cache' }, expected: 'no-freshness' },
  { name: 'a 302 with max-age', section: 'RFC 9111 §3', status: 302, resHeaders: { 'cache-control': 'max-age=60' }, expected: true },
  { name: 'a 302 with Expires (even invalid)', section: 'RFC 9111 §3', status: 302, resHeaders: { expires: '0' }, expected: true },
  { name: 'a 302 with s-maxage', section: 'RFC 9111 §3', status: 302, resHeaders: { 'cache-control': 's-maxage=1' }, expected: true },
  { name: 'a 500 with public and Last-Modified', section: 'RFC 9111 §3', status: 500, resHeaders: { 'cache-control': 'public', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, expected: true },
  { name: 'a heuristically cacheable 404 with Last-Modified', section: 'RFC 9111 §3', status: 404, resHeaders: { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, expected: true },
  { name: 'a heuristically cacheable 501 with an ETag', section: 'RFC 9111 §3', status: 501, resHeaders: { etag: '"1"' }, expected: true },
  { name: 'no-cache with a validator does not prevent storing', section: 'RFC 9111 §5.2.2.4', resHeaders: { 'cache-control': 'no-cache', etag: '"1"' }, expected: true },
  // No explicit freshness and no validator: heuristics need Last-Modified (§4.2.2), validation
  // needs a validator (§4.3.1), so nothing could reuse it (documented choice: not stored).
  { name: 'a plain 200 with no fields at all', section: 'RFC 9111 §3, §4.2.2, §4.3.1', resHeaders: {}, expected: 'no-validator' },
  { name: 'a heuristically cacheable 404 without a validator', section: 'RFC 9111 §4.2.2', status: 404, resHeaders: {}, expected: 'no-validator' },
  { name: 'a 500 with public but no validator', section: 'RFC 9111 §4.2.2', status: 500, resHeaders: { 'cache-control': 'public' }, expected: 'no-validator' },
  { name: 'no-cache without a validator', section: 'RFC 9111 §5.2.2.4, §4.3.1', resHeaders: { 'cache-control': 'no-cache' }, expected: 'no-validator' },
  { name: 'max-age=0 without a validator is explicit (stale-if-error may use it)', section: 'RFC 9111 §3', resHeaders: { 'cache-control': 'max-age=0' }, expected: true },
  { name: 'an invalid Expires without a validator is explicit', section: 'RFC 9111 §5.3', resHeaders: { expires: '0' }, expected: true },
  { name: 'stale-while-revalidate alone lets the origin allow stale use', section: 'RFC 5861 §3', resHeaders: { 'cache-control': 'stale-while-revalidate=60' }, expected: true },
  { name: 'stale-if-error alone lets the origin allow stale use', section: 'RFC 5861 §4', resHeaders: { 'cache-control': 'stale-if-error=60' }, expected: true },
  { name: 'an operator lifetime (TTL override, callback mode) keeps it', section: 'RFC 9111 §4.2.1 (cache configuration)', resHeaders: {}, operatorLifetime: true, expected: true },
  { name: 'an operator lifetime does not make a 302 storable', section: 'RFC 9111 §3', status: 302, resHeaders: {}, operatorLifetime: true, expected: 'no-freshness' },
  { name: 'CDN-Cache-Control overrides Cache-Control no-store', section: 'RFC 9213 §2.2', resHeaders: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, expected: true },
  { name: 'CDN-Cache-Control no-store overrides Cache-Control', section: 'RFC 9213 §2.2', resHeaders: { 'cache-control': 'public, max-age=60', 'cdn-cache-control': 'no-store' }, expected: 'no-store' },
  { name: 'CDN-Cache-Control private overrides Cache-Control', section: 'RFC 9213 §2.2', resHeaders: { 'cache-control': 'public, max-age=60', 'cdn-cache-control': 'private' }, expected: 'private' },
  { name: 'CDN-Cache-Control ignored when disabled', section: 'RFC 9213 §2.2', resHeaders: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, opts: NO_CDN, expected: 'no-store' },
  { name: 'a 302 with freshness only from a disabled CDN-Cache-Control', section: 'RFC 9213 §2.2', status: 302, resHeaders: { 'cdn-cache-control': 'max-age=60' }, opts: NO_CDN, expected: 'no-freshness' },
];

for (const c of cases) {
  void test(`${c.section}: checkStorable ${c.name}`, () => {
    const result = checkStorable(
      { method: c.method ?? 'GET', headers: c.reqHeaders ?? {}, keyedCookies: c.keyedCookies, operatorLifetime: c.operatorLifetime },
      { status: c.status ?? 200, headers: c.resHeaders },
      c.opts ?? DEFAULT_FRESHNESS,
    );
    assert.deepEqual(result, c.expected === true ? { storable: true } : { storable: false, reason: c.expected });
  });
}
