// The cache through real sockets: storing, freshness, Age, validation, invalidation, HEAD,
// client conditionals, size bounds. Assertions are on Cache-Status and the origin's own counts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
/** A fresh path per test, so tests share one stack without sharing entries. */
const fresh = (name: string): string => `/t${++n}-${name}`;

before(async () => {
  stack = await startStack({ maxBytes: 4 * 1024 * 1024, maxObjectBytes: 256 * 1024 });
});
after(() => stack.close());

describe('storing and reuse (RFC 9111 §3, §4)', () => {
  test('a cacheable response is stored on a miss and served as a hit with Age', async () => {
    const path = fresh('basic');
    stack.origin.setResource(path, { body: 'hello', headers: { 'cache-control': 'max-age=60' } });
    const first = await stack.get(path);
    assert.equal(first.status, 200);
    assert.equal(first.text, 'hello');
    assert.equal(first.cacheStatus.fwd, 'uri-miss');
    assert.equal(first.cacheStatus['fwd-status'], 200);
    assert.equal(first.cacheStatus.stored, true);
    const second = await stack.get(path);
    assert.equal(second.text, 'hello');
    assert.equal(second.cacheStatus.hit, true);
    assert.ok(Number(second.cacheStatus.ttl) > 50 && Number(second.cacheStatus.ttl) <= 60);
    assert.match(String(second.headers['age']), /^\d+$/);
    assert.equal(stack.origin.count(path), 1);
  });

  const notStored: Array<{ name: string; section: string; headers: Record<string, string>; request?: Record<string, string>; detail: string }> = [
    { name: 'no-store', section: '§5.2.2.5', headers: { 'cache-control': 'no-store, max-age=60' }, detail: 'no-store' },
    { name: 'private', section: '§5.2.2.7', headers: { 'cache-control': 'private, max-age=60' }, detail: 'private' },
    { name: 'Authorization without public', section: '§3.5', headers: { 'cache-control': 'max-age=60' }, request: { authorization: 'Bearer x' }, detail: 'authorization' },
    { name: 'request no-store', section: '§5.2.1.5', headers: { 'cache-control': 'max-age=60' }, request: { 'cache-control': 'no-store' }, detail: 'request-no-store' },
  ];
  for (const row of notStored) {
    test(`RFC 9111 ${row.section}: ${row.name} is not stored`, async () => {
      const path = fresh(row.name.replace(/\W+/g, '-'));
      stack.origin.setResource(path, { body: 'secret', headers: row.headers });
      const a = await stack.get(path, row.request);
      const b = await stack.get(path, row.request);
      assert.equal(a.text, 'secret');
      assert.equal(b.text, 'secret');
      assert.notEqual(b.cacheStatus.hit, true);
      assert.equal(b.cacheStatus.detail, row.detail);
      assert.equal(stack.origin.count(path), 2);
    });
  }

  test('RFC 9111 §3.5: Authorization with public is stored and shared', async () => {
    const path = fresh('auth-public');
    stack.origin.setResource(path, { body: 'shared', headers: { 'cache-control': 'public, max-age=60' } });
    await stack.get(path, { authorization: 'Bearer a' });
    const other = await stack.get(path, { authorization: 'Bearer b' });
    assert.equal(other.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9111 §5.2.2.7: fields named by private="…" are stored without them', async () => {
    const path = fresh('private-field');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60, private="x-user"', 'x-user': 'alice' } });
    const first = await stack.get(path);
    assert.equal(first.headers['x-user'], 'alice');
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.headers['x-user'], undefined);
  });

  test('RFC 9111 §7.3: a response with Set-Cookie is shared only when explicitly cacheable', async () => {
    const path = fresh('cookie');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60', 'set-cookie': 'session=alice' } });
    await stack.get(path);
    const second = await stack.get(path);
    assert.equal(second.cacheStatus.detail, 'set-cookie');
    assert.equal(stack.origin.count(path), 2);
    const publicPath = fresh('cookie-public');
    stack.origin.setResource(publicPath, { body: 'x', headers: { 'cache-control': 'public, max-age=60', 'set-cookie': 'promo=1' } });
    await stack.get(publicPath);
    const hit = await stack.get(publicPath);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.headers['set-cookie'], 'promo=1', 'end-to-end fields are kept exactly');
  });

  test('RFC 9111 §4.2.1: Expires minus Date gives the lifetime', async () => {
    const path = fresh('expires');
    const date = new Date();
    stack.origin.setResource(path, { body: 'x', headers: { expires: new Date(date.getTime() + 120_000).toUTCString() } });
    await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.ok(Number(hit.cacheStatus.ttl) > 100);
  });

  test('RFC 9111 §4.2.1: an invalid Expires means already stale', async () => {
    const path = fresh('bad-expires');
    stack.origin.setResource(path, { body: 'x', headers: { expires: '0' } });
    await stack.get(path);
    const again = await stack.get(path);
    assert.equal(again.cacheStatus.fwd, 'stale');
    assert.equal(again.cacheStatus['fwd-status'], 304);
    assert.equal(stack.origin.count(path), 2);
  });

  test('RFC 9111 §4.2.2: Last-Modified alone gives heuristic freshness', async () => {
    const path = fresh('heuristic');
    stack.origin.setResource(path, { body: 'old', headers: { 'last-modified': new Date(Date.now() - 10 * 86_400_000).toUTCString() }, lastModified: false });
    await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9111 §4.2.3: the origin Age counts against freshness', async () => {
    const path = fresh('age');
    stack.origin.setResource(path, { body: 'aged', headers: { 'cache-control': 'max-age=100', age: '40' } });
    await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.ok(Number(hit.headers['age']) >= 40);
    assert.ok(Number(hit.cacheStatus.ttl) <= 60);
  });

  test('RFC 9111 §4.2.1: explicit freshness makes a 404 reusable', async () => {
    const path = fresh('404');
    stack.origin.setResource(path, { status: 404, body: 'gone', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.status, 404);
    assert.equal(hit.cacheStatus.hit, true);
  });
});

describe('validation (RFC 9111 §4.3)', () => {
  test('a stale entry is revalidated with If-None-Match and a 304 freshens it', async () => {
    const path = fresh('reval');
    stack.origin.setResource(path, { body: 'v1', headers: { 'cache-control': 'max-age=60', age: '120' } });
    await stack.get(path);
    const reval = await stack.get(path);
    assert.equal(reval.text, 'v1');
    assert.equal(reval.cacheStatus.fwd, 'stale');
    assert.equal(reval.cacheStatus['fwd-status'], 304);
    const log = stack.origin.log.filter((r) => r.path === path);
    assert.equal(log.length, 2);
    assert.ok(log[1]?.headers['if-none-match'], 'the revalidation carries the stored ETag');
    assert.equal(log[1]?.status, 304);
  });

  test('a 200 to a revalidation replaces the stored entry', async () => {
    const path = fresh('replace');
    stack.origin.setResource(path, { body: 'v1', headers: { 'cache-control': 'max-age=60', age: '120' } });
    await stack.get(path);
    stack.origin.setResource(path, { body: 'v2', headers: { 'cache-control': 'max-age=60' } });
    const reval = await stack.get(path);
    assert.equal(reval.text, 'v2');
    assert.equal(reval.cacheStatus['fwd-status'], 200);
    const hit = await stack.get(path);
    assert.equal(hit.text, 'v2');
    assert.equal(hit.cacheStatus.hit, true);
  });

  test('If-Modified-Since is sent when the entry has only Last-Modified', async () => {
    const path = fresh('ims');
    stack.origin.setResource(path, { body: 'x', etag: false, headers: { 'cache-control': 'max-age=60', age: '100' } });
    await stack.get(path);
    const reval = await stack.get(path);
    assert.equal(reval.cacheStatus['fwd-status'], 304);
    const last = stack.origin.log.filter((r) => r.path === path)[1];
    assert.ok(last?.headers['if-modified-since']);
    assert.equal(last?.headers['if-none-match'], undefined);
  });

  test("RFC 9110 §13.1.2: a client's If-None-Match is answered 304 from a fresh entry", async () => {
    const path = fresh('client-inm');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60' } });
    const first = await stack.get(path);
    const etag = String(first.headers['etag']);
    const cond = await stack.get(path, { 'if-none-match': etag });
    assert.equal(cond.status, 304);
    assert.equal(cond.body.length, 0);
    assert.equal(cond.headers['etag'], etag);
    assert.equal(cond.cacheStatus.hit, true);
    const other = await stack.get(path, { 'if-none-match': '"nope"' });
    assert.equal(other.status, 200);
    assert.equal(stack.origin.count(path), 1);
  });

  test("RFC 9110 §13.1.3: a client's If-Modified-Since is answered 304 from a fresh entry", async () => {
    const path = fresh('client-ims');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    const cond = await stack.get(path, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() });
    assert.equal(cond.status, 304);
  });

  test("a client's conditional on a miss gets a 304 while the full response is stored", async () => {
    const path = fresh('miss-cond');
    stack.origin.setResource(path, { body: 'body', headers: { 'cache-control': 'max-age=60' } });
    const cond = await stack.get(path, { 'if-none-match': '*' });
    assert.equal(cond.status, 304);
    const full = await stack.get(path);
    assert.equal(full.status, 200);
    assert.equal(full.text, 'body');
    assert.equal(full.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });
});

describe('invalidation and HEAD (RFC 9111 §4.4, §4.3.5)', () => {
  test('a successful unsafe request invalidates its URL', async () => {
    const path = fresh('post');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    assert.equal((await stack.get(path)).cacheStatus.hit, true);
    const post = await stack.send('POST', path, { body: 'data' });
    assert.equal(post.status, 200);
    assert.equal(post.cacheStatus.fwd, 'method');
    const after = await stack.get(path);
    assert.equal(after.cacheStatus.fwd, 'uri-miss');
    assert.equal(stack.origin.count(path, 'GET'), 2);
  });

  test('a failed unsafe request does not invalidate', async () => {
    const path = fresh('post-fail');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    const patch = await stack.send('PATCH', path, { body: 'data' });
    assert.equal(patch.status, 405);
    assert.equal((await stack.get(path)).cacheStatus.hit, true);
  });

  test('PUT through the proxy changes the origin, and the next GET sees the change', async () => {
    const path = fresh('put');
    stack.origin.setResource(path, { body: 'before', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    await stack.send('PUT', path, { body: 'after', headers: { 'content-type': 'text/plain' } });
    assert.equal((await stack.get(path)).text, 'after');
  });

  test('HEAD is answered from a stored GET', async () => {
    const path = fresh('head');
    stack.origin.setResource(path, { body: 'twelve bytes', headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path);
    const head = await stack.send('HEAD', path);
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], '12');
    assert.equal(head.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });
});

describe('bounds and bodies', () => {
  test('a large cacheable body streams to the client and is stored byte-exact', async () => {
    const first = await stack.get('/big?kb=200');
    assert.equal(first.body.length, 200 * 1024);
    const second = await stack.get('/big?kb=200');
    assert.equal(second.cacheStatus.hit, true);
    assert.ok(first.body.equals(second.body));
  });

  test('a body larger than maxObjectBytes streams through and is not stored', async () => {
    const before = stack.origin.count('/big?kb=300');
    const a = await stack.get('/big?kb=300');
    const b = await stack.get('/big?kb=300');
    assert.equal(a.body.length, 300 * 1024);
    assert.equal(b.body.length, 300 * 1024);
    assert.equal(b.cacheStatus.detail, 'too-large');
    assert.equal(stack.origin.count('/big?kb=300') - before, 2);
  });

  test('a chunked body that outgrows maxObjectBytes is delivered whole and not stored', async () => {
    const a = await stack.get('/chunked?kb=400');
    assert.equal(a.body.length, 400 * 1024);
    const b = await stack.get('/chunked?kb=400');
    assert.equal(b.body.length, 400 * 1024);
    assert.notEqual(b.cacheStatus.hit, true);
  });

  test('a chunked body within the bound is stored and served with Content-Length', async () => {
    await stack.get('/chunked?kb=64');
    const hit = await stack.get('/chunked?kb=64');
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.headers['content-length'], String(64 * 1024));
  });

  test('the store stays within maxBytes', async () => {
    for (let i = 0; i < 30; i++) await stack.get(`/big?kb=${150 + i}`);
    const stats = stack.proxy.store.stats();
    assert.ok(stats.bytes <= 4 * 1024 * 1024, `bytes ${stats.bytes}`);
    assert.ok(stats.evictions > 0);
  });
});
