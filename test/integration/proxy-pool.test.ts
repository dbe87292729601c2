// The proxy in front of several origins: balancing, fail-over when one is killed mid-test, and
// what clients get when every origin is down (503 with Retry-After, or the stale copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { closedPort, fetchFrom } from '../helpers/harness.js';

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

test('a reload with other origins sends new requests there and keeps the cache', async () => {
  const [a, b] = [createDemoOrigin(), createDemoOrigin()];
  const [aUrl, bUrl] = [await a.listen(0), await b.listen(0)];
  const node = createProxyNode({ origin: aUrl });
  const url = await node.listen(0);
  try {
    await fetchFrom(url, 'GET', '/news');
    assert.deepEqual(node.reconfigure({ origin: bUrl, maxBytes: 1024 }), ['maxBytes'], 'the store bound needs a restart; the origin does not');
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
