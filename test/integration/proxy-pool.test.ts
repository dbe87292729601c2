// The proxy in front of several origins: balancing, fail-over when one is killed mid-test, and
// what clients get when every origin is down (503 with Retry-After, or the stale copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { closedPort, fetchFrom } from '../helpers/harness.js';
import type { Fetched } from '../helpers/harness.js';

test('requests spread over two origins, and keep succeeding when one is killed mid-test', async () => {
  const [a, b] = [createDemoOrigin(), createDemoOrigin()];
  const [aUrl, bUrl] = [await a.listen(0), await b.listen(0)];
  const node = createProxyNode({ origin: aUrl, origins: [{ url: aUrl, weight: 1 }, { url: bUrl, weight: 1 }] });
  const url = await node.listen(0);
  try {
    for (let i = 0; i < 10; i++) assert.equal((await fetchFrom(url, 'GET', `/status/200?n=${i}`)).status, 200);
    assert.ok(a.count() > 0 && b.count() > 0, `both origins served (${a.count()}, ${b.count()})`);
    await a.close();
    for (let i = 10; i < 30; i++) {
      const res = await fetchFrom(url, 'GET', `/status/200?n=${i}`);
      assert.equal(res.status, 200, `request ${i} after the kill`);
    }
  } finally {
    await node.close();
    await b.close();
  }
});

test('every origin down: 503 with Retry-After, or the stale copy where stale-if-error allows', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const node = createProxyNode({ origin: originUrl, origins: [{ url: originUrl, weight: 1 }, { url: dead, weight: 1 }], pool: { passiveEjection: { failures: 1, windowMs: 10_000, ejectMs: 60_000 } } as never });
  const url = await node.listen(0);
  try {
    origin.setResource('/kept', { body: 'stale but useful', headers: { 'cache-control': 'max-age=1, stale-if-error=600', age: '5' } });
    assert.equal((await fetchFrom(url, 'GET', '/kept')).status, 200);
    await origin.close();
    await fetchFrom(url, 'GET', '/never-cached'); // both fail once: both are ejected (failures: 1)
    const down = await fetchFrom(url, 'GET', '/never-cached-either');
    assert.equal(down.status, 503);
    assert.equal(down.headers['x-mini-cdn-error'], 'MCDN_NO_HEALTHY_ORIGIN');
    assert.equal(down.headers['retry-after'], '5');
    const stale = await fetchFrom(url, 'GET', '/kept');
    assert.equal(stale.status, 200);
    assert.equal(stale.text, 'stale but useful');
    assert.equal(stale.cacheStatus.detail, 'stale-if-error');
  } finally {
    await node.close();
  }
});

test('every origin down, requests together: the answers a lone request gets, and the failures still counted', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const node = createProxyNode({ origin: originUrl, pool: { passiveEjection: { failures: 1, windowMs: 10_000, ejectMs: 60_000 } } as never });
  const url = await node.listen(0);
  // Stale copies (Age past max-age) with and without stale-if-error.
  const objects = [
    { path: '/with-sie', cacheControl: 'max-age=1, stale-if-error=600', status: 200, detail: 'stale-if-error' },
    { path: '/without-sie', cacheControl: 'max-age=1', status: 503, detail: 'MCDN_NO_HEALTHY_ORIGIN' },
  ];
  /** What a client can compare: everything but ttl (it follows the clock) and collapsed (it follows timing). */
  const seen = (res: Fetched): string => {
    const { ttl: _ttl, collapsed: _collapsed, ...status } = res.cacheStatus;
    return JSON.stringify([res.status, res.headers['x-mini-cdn-error'], res.headers['retry-after'], res.headers['content-type'], res.text, status]);
  };
  try {
    for (const o of objects) {
      origin.setResource(o.path, { body: `copy of ${o.path}`, headers: { 'cache-control': o.cacheControl, age: '5' } });
      assert.equal((await fetchFrom(url, 'GET', o.path)).status, 200);
    }
    await origin.close();
    await fetchFrom(url, 'GET', '/never-cached'); // fails once: the only origin is ejected
    for (const o of objects) {
      const alone = await fetchFrom(url, 'GET', o.path);
      assert.equal(alone.status, o.status, o.path);
      assert.equal(alone.cacheStatus.detail, o.detail, o.path);
      const errorsBefore = node.engine.stats().upstreamErrors;
      const together = await Promise.all(Array.from({ length: 20 }, () => fetchFrom(url, 'GET', o.path)));
      for (const res of together) assert.equal(seen(res), seen(alone), o.path);
      assert.ok(node.engine.stats().upstreamErrors > errorsBefore, `${o.path}: the failed fetches are still counted`);
    }
  } finally {
    await node.close();
  }
});

test('a reload with other origins sends new requests there and keeps the cache', async () => {
  const [a, b] = [createDemoOrigin(), createDemoOrigin()];
  const [aUrl, bUrl] = [await a.listen(0), await b.listen(0)];
  const node = createProxyNode({ origin: aUrl });
  const url = await node.listen(0);
  try {
    await fetchFrom(url, 'GET', '/news');
    assert.deepEqual(node.reconfigure({ origin: bUrl, maxBytes: 1024 }), ['maxBytes', 'maxObjectBytes'], 'the store bounds (the object limit follows a small maxBytes) need a restart; the origin does not');
    assert.equal((await fetchFrom(url, 'GET', '/news')).cacheStatus.hit, true, 'the cache was kept');
    await fetchFrom(url, 'GET', '/static/app.js');
    assert.equal(b.count('/static/app.js'), 1);
    assert.equal(a.count('/static/app.js'), 0);
  } finally {
    await node.close();
    await a.close();
    await b.close();
  }
});
