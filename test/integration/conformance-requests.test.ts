// Conformance of request handling: the request Cache-Control directives (RFC 9111 §5.2.1),
// Pragma (§5.4) and the client's own conditionals answered by the cache (RFC 9111 §4.3.2,
// RFC 9110 §13). Real demo origin, real proxy, real sockets. Entries are made old or stale with
// an Age from the origin, never by waiting. Assertions are on Cache-Status and origin counts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/harness.js';
import type { Fetched, Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
/** A fresh path per test, so tests share one stack without sharing entries. */
const fresh = (name: string): string => `/req${++n}-${name.replace(/\W+/g, '-')}`;

before(async () => {
  stack = await startStack();
});
after(() => stack.close());

/** Sets the resource and fetches it once through the proxy: the miss that stores it. */
async function storeOnce(path: string, headers: Record<string, string | string[]>, extra: { lastModified?: boolean } = {}): Promise<Fetched> {
  stack.origin.setResource(path, { body: 'stored body', headers, ...extra });
  const miss = await stack.get(path);
  assert.equal(miss.status, 200);
  assert.equal(miss.cacheStatus.fwd, 'uri-miss');
  assert.equal(miss.cacheStatus.stored, true, 'the first response is stored');
  return miss;
}

/** The last request the origin received for `path`. */
const lastOriginRequest = (path: string) => stack.origin.log.filter((r) => r.path === path).at(-1);

describe('request Cache-Control directives (RFC 9111 §5.2.1, §5.4)', () => {
  type Expect = { hit: true; detail?: string; stale?: boolean } | { fwd: 'request' | 'stale'; detail?: string };
  const rows: Array<{ section: string; name: string; response: Record<string, string>; request: Record<string, string>; expect: Expect }> = [
    {
      section: '§5.2.1.1',
      name: 'request max-age=200 on a fresh entry aged 100 s is a hit',
      response: { 'cache-control': 'max-age=600', age: '100' },
      request: { 'cache-control': 'max-age=200' },
      expect: { hit: true },
    },
    {
      section: '§5.2.1.1',
      name: 'request max-age=50 on a fresh entry aged 100 s revalidates',
      response: { 'cache-control': 'max-age=600', age: '100' },
      request: { 'cache-control': 'max-age=50' },
      expect: { fwd: 'request', detail: 'request-max-age' },
    },
    {
      section: '§5.2.1.1',
      name: 'request max-age=0 on a fresh immutable entry is still a hit (RFC 8246 §2)',
      response: { 'cache-control': 'max-age=600, immutable', age: '100' },
      request: { 'cache-control': 'max-age=0' },
      expect: { hit: true, detail: 'immutable' },
    },
    {
      section: '§5.2.1.2',
      name: 'max-stale without a value serves an entry stale by 940 s',
      response: { 'cache-control': 'max-age=60', age: '1000' },
      request: { 'cache-control': 'max-stale' },
      expect: { hit: true, detail: 'max-stale', stale: true },
    },
    {
      section: '§5.2.1.2',
      name: 'max-stale=2000 serves an entry stale by 940 s (within the window)',
      response: { 'cache-control': 'max-age=60', age: '1000' },
      request: { 'cache-control': 'max-stale=2000' },
      expect: { hit: true, detail: 'max-stale', stale: true },
    },
    {
      section: '§5.2.1.2',
      name: 'max-stale=100 does not serve an entry stale by 940 s (over the window)',
      response: { 'cache-control': 'max-age=60', age: '1000' },
      request: { 'cache-control': 'max-stale=100' },
      expect: { fwd: 'stale' },
    },
    {
      section: '§5.2.1.3',
      name: 'min-fresh=50 on an entry fresh for ~100 s more is a hit',
      response: { 'cache-control': 'max-age=100' },
      request: { 'cache-control': 'min-fresh=50' },
      expect: { hit: true },
    },
    {
      section: '§5.2.1.3',
      name: 'min-fresh=200 on an entry fresh for ~100 s more revalidates',
      response: { 'cache-control': 'max-age=100' },
      request: { 'cache-control': 'min-fresh=200' },
      expect: { fwd: 'request', detail: 'request-min-fresh' },
    },
    {
      section: '§5.2.1.4',
      name: 'request no-cache revalidates a fresh entry conditionally',
      response: { 'cache-control': 'max-age=600' },
      request: { 'cache-control': 'no-cache' },
      expect: { fwd: 'request', detail: 'request-no-cache' },
    },
    {
      section: '§5.4',
      name: 'Pragma: no-cache without Cache-Control revalidates like no-cache',
      response: { 'cache-control': 'max-age=600' },
      request: { pragma: 'no-cache' },
      expect: { fwd: 'request', detail: 'request-no-cache' },
    },
    {
      section: '§5.4',
      name: 'Pragma: no-cache is ignored when the request has Cache-Control',
      response: { 'cache-control': 'max-age=600' },
      request: { pragma: 'no-cache', 'cache-control': 'max-age=60' },
      expect: { hit: true },
    },
  ];
  for (const row of rows) {
    test(`RFC 9111 ${row.section}: ${row.name}`, async () => {
      const path = fresh(row.name);
      const miss = await storeOnce(path, row.response);
      const res = await stack.get(path, row.request);
      assert.equal(res.status, 200);
      assert.equal(res.text, 'stored body');
      if ('hit' in row.expect) {
        assert.equal(res.cacheStatus.hit, true);
        assert.equal(res.cacheStatus.detail, row.expect.detail);
        if (row.expect.stale) assert.ok(Number(res.cacheStatus.ttl) < 0, `served stale: ttl ${res.cacheStatus.ttl}`);
        assert.equal(stack.origin.count(path), 1, 'the origin is not contacted');
      } else {
        assert.equal(res.cacheStatus.fwd, row.expect.fwd);
        assert.equal(res.cacheStatus.detail, row.expect.detail);
        assert.equal(res.cacheStatus['fwd-status'], 304);
        assert.equal(stack.origin.count(path), 2);
        const reval = lastOriginRequest(path);
        assert.equal(reval?.headers['if-none-match'], miss.headers['etag'], 'a conditional request with the stored ETag');
        assert.equal(reval?.status, 304);
      }
    });
  }

  test('RFC 9111 §5.2.1.5: request no-store is not stored, and a later plain request is a miss', async () => {
    const path = fresh('request-no-store');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60' } });
    const first = await stack.get(path, { 'cache-control': 'no-store' });
    assert.equal(first.status, 200);
    assert.equal(first.cacheStatus.fwd, 'request');
    assert.equal(first.cacheStatus.detail, 'request-no-store');
    assert.notEqual(first.cacheStatus.stored, true);
    const plain = await stack.get(path);
    assert.equal(plain.cacheStatus.fwd, 'uri-miss');
    assert.equal(plain.cacheStatus.stored, true);
    assert.equal(stack.origin.count(path), 2);
  });

  const onlyIfCached: Array<{ name: string; response?: Record<string, string>; status: number; originCount: number }> = [
    { name: 'nothing stored gives 504', status: 504, originCount: 0 },
    { name: 'a stale entry gives 504', response: { 'cache-control': 'max-age=60', age: '120' }, status: 504, originCount: 1 },
    { name: 'a fresh entry is a hit', response: { 'cache-control': 'max-age=60' }, status: 200, originCount: 1 },
  ];
  for (const row of onlyIfCached) {
    test(`RFC 9111 §5.2.1.7: only-if-cached: ${row.name}`, async () => {
      const path = fresh(`only-if-cached ${row.name}`);
      if (row.response) await storeOnce(path, row.response);
      else stack.origin.setResource(path, { body: 'stored body', headers: { 'cache-control': 'max-age=60' } });
      const res = await stack.get(path, { 'cache-control': 'only-if-cached' });
      assert.equal(res.status, row.status);
      if (row.status === 504) {
        assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_ONLY_IF_CACHED');
        assert.equal(res.cacheStatus.detail, 'MCDN_ONLY_IF_CACHED');
        assert.notEqual(res.cacheStatus.hit, true);
      } else {
        assert.equal(res.cacheStatus.hit, true);
        assert.equal(res.text, 'stored body');
      }
      assert.equal(stack.origin.count(path), row.originCount, 'only-if-cached never reaches the origin');
    });
  }
});

describe('client conditionals answered from the cache (RFC 9111 §4.3.2, RFC 9110 §13)', () => {
  const httpDate = (ms: number): string => new Date(ms).toUTCString();
  const dateOf = (res: Fetched, name: string): number => Date.parse(String(res.headers[name]));
  const rows: Array<{
    section: string;
    name: string;
    /** Default true: the stored response has Last-Modified. */
    lastModified?: boolean;
    conditional: (stored: Fetched) => Record<string, string>;
    status: 200 | 304;
  }> = [
    {
      section: 'RFC 9110 §13.1.2',
      name: 'If-None-Match with the weak form of the strong stored ETag gives 304 (weak comparison)',
      conditional: (s) => ({ 'if-none-match': `W/${String(s.headers['etag'])}` }),
      status: 304,
    },
    {
      section: 'RFC 9110 §13.1.2',
      name: 'If-None-Match with a list holding the stored ETag gives 304',
      conditional: (s) => ({ 'if-none-match': `"a", ${String(s.headers['etag'])}` }),
      status: 304,
    },
    {
      section: 'RFC 9110 §13.1.2',
      name: 'If-None-Match with no matching tag gives 200',
      conditional: () => ({ 'if-none-match': '"a", W/"b"' }),
      status: 200,
    },
    {
      section: 'RFC 9110 §13.2.2',
      name: 'If-None-Match takes precedence: non-matching INM with an IMS in the future gives 200',
      conditional: () => ({ 'if-none-match': '"nope"', 'if-modified-since': httpDate(Date.now() + 3_600_000) }),
      status: 200,
    },
    {
      section: 'RFC 9110 §13.1.3',
      name: 'If-Modified-Since equal to Last-Modified gives 304',
      conditional: (s) => ({ 'if-modified-since': String(s.headers['last-modified']) }),
      status: 304,
    },
    {
      section: 'RFC 9110 §13.1.3',
      name: 'If-Modified-Since one second before Last-Modified gives 200',
      conditional: (s) => ({ 'if-modified-since': httpDate(dateOf(s, 'last-modified') - 1000) }),
      status: 200,
    },
    {
      section: 'RFC 9111 §4.3.2',
      name: 'without Last-Modified, If-Modified-Since equal to the stored Date gives 304',
      lastModified: false,
      conditional: (s) => ({ 'if-modified-since': String(s.headers['date']) }),
      status: 304,
    },
    {
      section: 'RFC 9111 §4.3.2',
      name: 'without Last-Modified, If-Modified-Since a minute before the stored Date gives 200',
      lastModified: false,
      conditional: (s) => ({ 'if-modified-since': httpDate(dateOf(s, 'date') - 60_000) }),
      status: 200,
    },
    {
      section: 'RFC 9110 §13.1.3',
      name: 'an If-Modified-Since that is not an HTTP-date is ignored: 200',
      conditional: () => ({ 'if-modified-since': 'yesterday' }),
      status: 200,
    },
    {
      section: 'RFC 9110 §13.1.3',
      name: 'an If-Modified-Since in ISO 8601 (not an HTTP-date) is ignored: 200',
      conditional: () => ({ 'if-modified-since': '2099-01-01T00:00:00Z' }),
      status: 200,
    },
  ];
  for (const row of rows) {
    test(`${row.section}: ${row.name}`, async () => {
      const path = fresh(row.name);
      const stored = await storeOnce(path, { 'cache-control': 'max-age=60' }, { lastModified: row.lastModified ?? true });
      assert.equal(stored.headers['last-modified'] !== undefined, row.lastModified ?? true);
      const res = await stack.get(path, row.conditional(stored));
      assert.equal(res.status, row.status);
      assert.equal(res.cacheStatus.hit, true, 'answered from the cache');
      if (row.status === 304) assert.equal(res.body.length, 0);
      else assert.equal(res.text, 'stored body');
      assert.equal(stack.origin.count(path), 1);
    });
  }

  test('RFC 9110 §15.4.5: a 304 from the cache carries ETag, Cache-Control, Expires, Vary and Date, and no body', async () => {
    const path = fresh('304-fields');
    const expires = httpDate(Date.now() + 120_000);
    const stored = await storeOnce(path, { 'cache-control': 'max-age=60', expires, vary: 'Accept-Encoding', 'content-location': path });
    const res = await stack.get(path, { 'if-none-match': String(stored.headers['etag']) });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.cacheStatus.hit, true);
    for (const name of ['etag', 'cache-control', 'expires', 'vary', 'date', 'content-location']) {
      assert.equal(res.headers[name], stored.headers[name], `${name} as stored`);
    }
    // RFC 9110 §15.4.5: a sender SHOULD NOT generate other representation metadata.
    assert.equal(res.headers['content-type'], undefined);
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9110 §13.1.2: HEAD with a matching If-None-Match gives 304 from the cache', async () => {
    const path = fresh('head-inm');
    const stored = await storeOnce(path, { 'cache-control': 'max-age=60' });
    const res = await stack.send('HEAD', path, { headers: { 'if-none-match': String(stored.headers['etag']) } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers['etag'], stored.headers['etag']);
    assert.equal(res.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });
});
