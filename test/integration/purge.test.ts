// Applying invalidation callbacks to one node's cache: by URL (every variant), prefix, tag, or
// everything; hard (delete) or soft (revalidate on next use). Through real sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
const fresh = (name: string): string => `/p${++n}-${name}`;

before(async () => {
  stack = await startStack();
});
after(() => stack.close());

async function cached(path: string, headers: Record<string, string> = {}, request: Record<string, string> = {}): Promise<void> {
  stack.origin.setResource(path, { body: `body of ${path}`, headers: { 'cache-control': 'max-age=600', ...headers } });
  await stack.get(path, request);
  assert.equal((await stack.get(path, request)).cacheStatus.hit, true);
}

const abs = (path: string): string => `http://origin.example${path}`;

describe('hard purges', () => {
  test('a URL purge drops every variant of the URL, whatever host the edge was reached by', async () => {
    const path = fresh('variants');
    stack.origin.setResource(path, { body: 'v', headers: { 'cache-control': 'max-age=600', vary: 'Accept-Language' } });
    await stack.get(path, { 'accept-language': 'en' });
    await stack.get(path, { 'accept-language': 'fr' });
    assert.equal(stack.proxy.engine.purge({ urls: [abs(path)] }), 2);
    assert.equal((await stack.get(path, { 'accept-language': 'en' })).cacheStatus.fwd, 'uri-miss');
    assert.equal((await stack.send('HEAD', path, { headers: { 'accept-language': 'en' } })).cacheStatus.hit, true, 'the refetched GET serves HEAD again');
  });

  test('a prefix purge drops the URLs under it and no others', async () => {
    const base = fresh('prefix');
    await cached(`${base}/a`);
    await cached(`${base}/b?x=1`);
    await cached(`${base}-other`);
    assert.equal(stack.proxy.engine.purge({ prefixes: [abs(`${base}/`)] }), 2);
    assert.equal((await stack.get(`${base}/a`)).cacheStatus.fwd, 'uri-miss');
    assert.equal((await stack.get(`${base}/b?x=1`)).cacheStatus.fwd, 'uri-miss');
    assert.equal((await stack.get(`${base}-other`)).cacheStatus.hit, true);
  });

  test('a tag purge drops the entries carrying it in Surrogate-Key or Cache-Tag', async () => {
    const [a, b, c] = [fresh('tag-a'), fresh('tag-b'), fresh('tag-c')];
    await cached(a, { 'surrogate-key': 'product-7 listing' });
    await cached(b, { 'cache-tag': 'home,product-7' });
    await cached(c, { 'surrogate-key': 'product-8' });
    assert.equal(stack.proxy.engine.purge({ tags: ['product-7'] }), 2);
    assert.equal((await stack.get(a)).cacheStatus.fwd, 'uri-miss');
    assert.equal((await stack.get(b)).cacheStatus.fwd, 'uri-miss');
    assert.equal((await stack.get(c)).cacheStatus.hit, true);
  });

  test('an entry evicted from the store leaves no tag behind', async () => {
    const path = fresh('evicted-tag');
    await cached(path, { 'surrogate-key': 'gone-soon' });
    stack.proxy.store.delete([...stack.proxy.store.keys()].find((k) => k.includes(path)) as string);
    assert.equal(stack.proxy.engine.purge({ tags: ['gone-soon'] }), 0);
  });

  test('a purge of everything empties the cache', async () => {
    await cached(fresh('all-1'));
    await cached(fresh('all-2'));
    stack.proxy.engine.purge({ all: true });
    assert.equal(stack.proxy.store.stats().entries, 0);
  });
});

describe('soft purges', () => {
  test('a soft purge keeps the entry but revalidates it on next use', async () => {
    const path = fresh('soft');
    await cached(path);
    assert.equal(stack.proxy.engine.purge({ urls: [abs(path)], soft: true }), 1);
    const next = await stack.get(path);
    assert.equal(next.cacheStatus.fwd, 'stale');
    assert.equal(next.cacheStatus['fwd-status'], 304);
    assert.equal(next.cacheStatus.detail, 'invalidated');
    assert.equal((await stack.get(path)).cacheStatus.hit, true);
  });

  test('a soft-purged entry may still be served under stale-if-error when the origin fails', async () => {
    const path = fresh('soft-sie');
    await cached(path, { 'cache-control': 'max-age=600, stale-if-error=600' });
    stack.proxy.engine.purge({ tags: [], urls: [abs(path)], soft: true });
    stack.origin.setResource(path, { status: 503, body: 'down', headers: { 'cache-control': 'no-store' } });
    const res = await stack.get(path);
    assert.equal(res.status, 200);
    assert.equal(res.text, `body of ${path}`);
    assert.equal(res.cacheStatus.detail, 'stale-if-error');
  });
});

test('a fetch under way when a purge arrives does not store its (older) response', async () => {
  const path = fresh('inflight');
  stack.origin.setResource(path, { body: 'old', delayMs: 300, headers: { 'cache-control': 'max-age=600' } });
  const pending = stack.get(path);
  while (stack.origin.count(path) === 0) await new Promise((r) => setTimeout(r, 5));
  stack.proxy.engine.purge({ urls: [abs(path)] });
  assert.equal((await pending).text, 'old');
  stack.origin.setResource(path, { body: 'new', headers: { 'cache-control': 'max-age=600' } });
  const after = await stack.get(path);
  assert.equal(after.text, 'new');
});
