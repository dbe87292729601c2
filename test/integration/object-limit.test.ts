// The object limit counts the whole entry (key, fields, overhead), as the store does: a body that
// fits the limit alone but not with its fields is reported `too-large`, never `stored` and then
// silently refused by the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom } from '../helpers/harness.js';

const LIMIT = 64 * 1024;

for (const [name, bodyBytes, chunked] of [
  ['a body of exactly the limit, with Content-Length', LIMIT, false],
  ['a body of exactly the limit, chunked', LIMIT, true],
  ['a body a little under the limit, with Content-Length', LIMIT - 4096, false],
] as const) {
  test(`${name}: Cache-Status says stored only when the next request is a hit`, async () => {
    const body = Buffer.alloc(bodyBytes, 0x61);
    const origin = await customOrigin((_req, res) => {
      res.setHeader('cache-control', 'max-age=600');
      if (!chunked) res.setHeader('content-length', String(body.length));
      res.end(body);
    });
    const node = createProxyNode({ origin: origin.url, maxBytes: 16 * LIMIT, maxObjectBytes: LIMIT });
    const url = await node.listen(0);
    try {
      const first = await fetchFrom(url, 'GET', '/object');
      assert.equal(first.status, 200);
      assert.equal(first.body.length, bodyBytes, 'the client gets the whole body either way');
      const second = await fetchFrom(url, 'GET', '/object');
      assert.equal(second.body.length, bodyBytes);
      if (first.cacheStatus['stored'] === true) {
        assert.equal(second.cacheStatus['hit'], true, `said stored, so the next request is a hit: ${JSON.stringify(second.cacheStatus)}`);
        assert.equal(origin.stats.requests, 1);
      } else {
        assert.equal(first.cacheStatus['detail'], 'too-large');
        assert.notEqual(second.cacheStatus['hit'], true);
        assert.equal(origin.stats.requests, 2);
      }
      // The whole body alone is the limit: with its fields and key the entry is larger.
      if (bodyBytes === LIMIT) assert.notEqual(first.cacheStatus['stored'], true, 'an entry over the limit is not claimed stored');
      else assert.equal(first.cacheStatus['stored'], true, 'a body with room for its fields is stored');
    } finally {
      await node.close();
      await origin.close();
    }
  });
}
