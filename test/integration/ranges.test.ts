// Byte ranges on the wire (RFC 9110 §14, RFC 9111 §3.3, §3.4): served from complete entries,
// forwarded on a miss, stored as pieces, combined into a complete entry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom, startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
const fresh = (name: string): string => `/r${++n}-${name}`;
const BODY = 'abcdefghijklmnopqrstuvwxyz0123456789';

before(async () => {
  stack = await startStack();
});
after(() => stack.close());

async function stored(path: string): Promise<void> {
  stack.origin.setResource(path, { body: BODY, headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' } });
  const full = await stack.get(path);
  assert.equal(full.text, BODY);
}

describe('ranges from a complete entry (RFC 9110 §14)', () => {
  const rows: Array<{ name: string; section: string; range: string; status: number; body?: string; contentRange?: string }> = [
    { name: 'an explicit range', section: '§14.1.2', range: 'bytes=0-4', status: 206, body: 'abcde', contentRange: 'bytes 0-4/36' },
    { name: 'an open-ended range', section: '§14.1.2', range: 'bytes=30-', status: 206, body: '456789', contentRange: 'bytes 30-35/36' },
    { name: 'a suffix range', section: '§14.1.2', range: 'bytes=-3', status: 206, body: '789', contentRange: 'bytes 33-35/36' },
    { name: 'a range past the end is clamped', section: '§14.1.2', range: 'bytes=34-100', status: 206, body: '89', contentRange: 'bytes 34-35/36' },
    { name: 'an unsatisfiable range gets 416', section: '§15.5.17', range: 'bytes=50-60', status: 416, contentRange: 'bytes */36' },
    { name: 'an invalid range is ignored', section: '§14.2', range: 'bytes=9-2', status: 200, body: BODY },
    { name: 'another unit is ignored', section: '§14.2', range: 'items=0-1', status: 200, body: BODY },
  ];
  for (const row of rows) {
    test(`RFC 9110 ${row.section}: ${row.name}`, async () => {
      const path = fresh('range');
      await stored(path);
      const res = await stack.get(path, { range: row.range });
      assert.equal(res.status, row.status);
      if (row.body !== undefined) assert.equal(res.text, row.body);
      if (row.contentRange !== undefined) assert.equal(res.headers['content-range'], row.contentRange);
      assert.equal(res.cacheStatus.hit, true);
      assert.equal(stack.origin.count(path), 1);
    });
  }

  test('RFC 9110 §14.6: several ranges come as multipart/byteranges', async () => {
    const path = fresh('multi');
    await stored(path);
    const res = await stack.get(path, { range: 'bytes=0-1, 10-11' });
    assert.equal(res.status, 206);
    assert.match(String(res.headers['content-type']), /^multipart\/byteranges; boundary=/);
    assert.match(res.text, /Content-Range: bytes 0-1\/36\r\n\r\nab\r\n/);
    assert.match(res.text, /Content-Range: bytes 10-11\/36\r\n\r\nkl\r\n/);
  });

  test('RFC 9110 §13.1.5: If-Range with the current ETag gets the range, an old one the whole', async () => {
    const path = fresh('if-range');
    await stored(path);
    const etag = String((await stack.get(path)).headers['etag']);
    const same = await stack.get(path, { range: 'bytes=0-2', 'if-range': etag });
    assert.equal(same.status, 206);
    assert.equal(same.text, 'abc');
    const old = await stack.get(path, { range: 'bytes=0-2', 'if-range': '"old"' });
    assert.equal(old.status, 200);
    assert.equal(old.text, BODY);
  });
});

describe('ranges the cache does not hold (RFC 9111 §3.3, §3.4)', () => {
  test('a range miss is forwarded, its 206 stored, and served again from the cache', async () => {
    const path = fresh('miss');
    stack.origin.setResource(path, { body: BODY, headers: { 'cache-control': 'max-age=60' } });
    const first = await stack.get(path, { range: 'bytes=0-9' });
    assert.equal(first.status, 206);
    assert.equal(first.text, 'abcdefghij');
    assert.equal(first.cacheStatus.fwd, 'uri-miss');
    const again = await stack.get(path, { range: 'bytes=2-5' });
    assert.equal(again.status, 206);
    assert.equal(again.text, 'cdef');
    assert.equal(again.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 1);
  });

  test('a range outside the stored piece is fetched (fwd=partial), and pieces that join make the whole', async () => {
    const path = fresh('join');
    stack.origin.setResource(path, { body: BODY, headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path, { range: 'bytes=0-17' });
    const second = await stack.get(path, { range: 'bytes=18-35' });
    assert.equal(second.text, BODY.slice(18));
    assert.equal(second.cacheStatus.fwd, 'partial');
    const whole = await stack.get(path);
    assert.equal(whole.status, 200);
    assert.equal(whole.text, BODY);
    assert.equal(whole.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 2);
  });

  test('a full GET of a partly stored URL fetches the whole and replaces the piece', async () => {
    const path = fresh('partial-then-full');
    stack.origin.setResource(path, { body: BODY, headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path, { range: 'bytes=0-3' });
    const full = await stack.get(path);
    assert.equal(full.text, BODY);
    assert.equal(full.cacheStatus.fwd, 'partial');
    assert.equal((await stack.get(path)).cacheStatus.hit, true);
  });

  test('pieces with different strong validators are not combined', async () => {
    const path = fresh('changed');
    stack.origin.setResource(path, { body: BODY, headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path, { range: 'bytes=0-17' });
    stack.origin.setResource(path, { body: BODY.toUpperCase(), headers: { 'cache-control': 'max-age=60' } });
    await stack.get(path, { range: 'bytes=18-35' });
    const whole = await stack.get(path);
    assert.equal(whole.text, BODY.toUpperCase());
    assert.equal(whole.cacheStatus.fwd, 'partial', 'the two pieces did not make a whole');
  });

  test('a multipart answer from the origin is relayed, not stored', async () => {
    const origin = await customOrigin((_req, res) => {
      const body = '--B\r\nContent-Range: bytes 0-0/10\r\n\r\na\r\n--B\r\nContent-Range: bytes 5-5/10\r\n\r\nf\r\n--B--\r\n';
      res.writeHead(206, { 'content-type': 'multipart/byteranges; boundary=B', 'cache-control': 'max-age=60', etag: '"m"', 'content-length': String(body.length) });
      res.end(body);
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      const res = await fetchFrom(url, 'GET', '/m', { headers: { range: 'bytes=0-0,5-5' } });
      assert.equal(res.status, 206);
      assert.match(res.text, /--B--/);
      assert.equal(node.store.stats().entries, 0);
    } finally {
      await node.close();
      await origin.close();
    }
  });
});
