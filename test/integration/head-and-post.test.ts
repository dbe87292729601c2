// HEAD responses that update or invalidate a stored GET (RFC 9111 §4.3.5), and POST responses
// that may answer a later GET (RFC 9111 §4, RFC 9110 §9.3.3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom, startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
const fresh = (name: string): string => `/h${++n}-${name}`;

before(async () => {
  stack = await startStack();
});
after(() => stack.close());

describe('RFC 9111 §4.3.5: HEAD updates the stored response', () => {
  test('a HEAD on a stale entry is sent as HEAD; matching validators refresh the entry and its fields', async () => {
    const path = fresh('head-match');
    // A fixed ETag and no Last-Modified: the HEAD will show the stored response is still current.
    const same = { etag: '"v1"', lastModified: false };
    stack.origin.setResource(path, { ...same, body: 'body', headers: { 'cache-control': 'max-age=60', age: '100', 'x-version': '1' } });
    await stack.get(path);
    stack.origin.setResource(path, { ...same, body: 'body', headers: { 'cache-control': 'max-age=60', 'x-version': '2' } });
    const head = await stack.send('HEAD', path);
    assert.equal(head.status, 200);
    assert.equal(head.cacheStatus.fwd, 'stale');
    assert.equal(head.cacheStatus.stored, true);
    const heads = stack.origin.log.filter((r) => r.path === path && r.method === 'HEAD');
    assert.equal(heads.length, 1);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true, 'the entry is fresh again');
    assert.equal(hit.headers['x-version'], '2', 'the HEAD response updated the stored fields');
    assert.equal(hit.text, 'body');
    assert.equal(stack.origin.count(path, 'GET'), 1);
  });

  test('a HEAD showing another representation invalidates the stored response', async () => {
    const path = fresh('head-changed');
    stack.origin.setResource(path, { body: 'old body', headers: { 'cache-control': 'max-age=60', age: '100' } });
    await stack.get(path);
    stack.origin.setResource(path, { body: 'new body!', headers: { 'cache-control': 'max-age=60' } });
    const head = await stack.send('HEAD', path);
    assert.equal(head.cacheStatus.detail, 'head-changed');
    const next = await stack.get(path);
    assert.equal(next.text, 'new body!');
    assert.equal(next.cacheStatus.fwd, 'uri-miss');
  });
});

describe('RFC 9111 §4: a POST response may answer a later GET', () => {
  test('Content-Location equal to the URL with explicit freshness: stored for GET', async () => {
    const origin = await customOrigin((req, res) => {
      res.writeHead(200, { 'content-location': req.url ?? '/', 'cache-control': 'max-age=60', etag: '"p1"' });
      res.end(`state after ${req.method}`);
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      const post = await fetchFrom(url, 'POST', '/doc', { body: 'x' });
      assert.equal(post.cacheStatus.stored, true);
      const get = await fetchFrom(url, 'GET', '/doc');
      assert.equal(get.text, 'state after POST');
      assert.equal(get.cacheStatus.hit, true);
      assert.equal(origin.stats.requests, 1);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  const notReused: Array<{ name: string; headers: Record<string, string> }> = [
    { name: 'Content-Location names another URL', headers: { 'content-location': '/elsewhere', 'cache-control': 'max-age=60' } },
    { name: 'no explicit freshness', headers: { 'content-location': '/doc', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' } },
    { name: 'no Content-Location', headers: { 'cache-control': 'max-age=60' } },
  ];
  for (const row of notReused) {
    test(`not stored when ${row.name}`, async () => {
      const origin = await customOrigin((_req, res) => {
        res.writeHead(200, row.headers);
        res.end('answer');
      });
      const node = createProxyNode({ origin: origin.url });
      const url = await node.listen(0);
      try {
        await fetchFrom(url, 'POST', '/doc', { body: 'x' });
        const get = await fetchFrom(url, 'GET', '/doc');
        assert.notEqual(get.cacheStatus.hit, true);
        assert.equal(origin.stats.requests, 2);
      } finally {
        await node.close();
        await origin.close();
      }
    });
  }
});
