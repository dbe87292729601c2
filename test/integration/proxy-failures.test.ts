// Origins that refuse, hang, answer garbage or send odd-but-legal responses: the client gets a
// clear 502/504, the process stays up, and the cache stays intact.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { closedPort, customOrigin, fetchFrom, rawOrigin, waitFor } from '../helpers/harness.js';

describe('origin failures', () => {
  test('a refused connection gives 502 MCDN_UPSTREAM_CONNECT', async () => {
    const node = createProxyNode({ origin: `http://127.0.0.1:${await closedPort()}` });
    const url = await node.listen(0);
    try {
      const res = await fetchFrom(url, 'GET', '/x');
      assert.equal(res.status, 502);
      assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_CONNECT');
      assert.match(res.text, /MCDN_UPSTREAM_CONNECT/);
      assert.equal(res.cacheStatus.detail, 'MCDN_UPSTREAM_CONNECT');
    } finally {
      await node.close();
    }
  });

  test('an origin that never answers gives 504 MCDN_UPSTREAM_TIMEOUT', async () => {
    const origin = await rawOrigin(() => undefined);
    const node = createProxyNode({ origin: origin.url, upstream: { headersTimeoutMs: 300 } as never });
    const url = await node.listen(0);
    try {
      const res = await fetchFrom(url, 'GET', '/hang');
      assert.equal(res.status, 504);
      assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_TIMEOUT');
    } finally {
      await node.close();
      await origin.close();
    }
  });

  const garbage: Array<{ name: string; reply: string }> = [
    { name: 'not HTTP at all', reply: 'SSH-2.0-OpenSSH_9.6\r\n\r\n' },
    { name: 'a bad status line', reply: 'HTTP/1.1 abc OK\r\n\r\n' },
    { name: 'conflicting Content-Length', reply: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' },
    { name: 'a header without colon', reply: 'HTTP/1.1 200 OK\r\nBroken header\r\n\r\n' },
    { name: 'a closed socket', reply: '' },
  ];
  for (const row of garbage) {
    test(`an origin answering ${row.name} gives 502 and leaves the cache intact`, async () => {
      let mode: 'good' | 'bad' = 'good';
      const origin = await rawOrigin((socket, request) => {
        if (mode === 'good' || request.startsWith('GET /good')) {
          socket.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 4\r\n\r\ngood');
        } else if (row.reply === '') {
          socket.destroy();
        } else {
          socket.end(row.reply);
        }
      });
      const node = createProxyNode({ origin: origin.url });
      const url = await node.listen(0);
      try {
        assert.equal((await fetchFrom(url, 'GET', '/good')).text, 'good');
        mode = 'bad';
        const bad = await fetchFrom(url, 'GET', '/bad');
        assert.equal(bad.status, 502);
        assert.match(String(bad.headers['x-mini-cdn-error']), /^MCDN_UPSTREAM_(PROTOCOL|CONNECT)$/);
        const good = await fetchFrom(url, 'GET', '/good');
        assert.equal(good.text, 'good');
        assert.equal(good.cacheStatus.hit, true);
      } finally {
        await node.close();
        await origin.close();
      }
    });
  }

  test('a body cut short by the origin is not stored, and the client sees the cut', async () => {
    const origin = await rawOrigin((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nonly part');
      setTimeout(() => socket.destroy(), 20);
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      await assert.rejects(fetchFrom(url, 'GET', '/cut'));
      assert.equal(node.store.stats().entries, 0);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('a 304 that carries Content-Length freshens the entry (undici length check)', async () => {
    let requests = 0;
    const origin = await rawOrigin((socket, request) => {
      requests++;
      if (/if-none-match/i.test(request)) {
        socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\n');
      } else {
        socket.write('HTTP/1.1 200 OK\r\nETag: "v1"\r\nCache-Control: max-age=60\r\nAge: 100\r\nContent-Length: 5\r\n\r\nhello');
      }
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      assert.equal((await fetchFrom(url, 'GET', '/r')).text, 'hello');
      const reval = await fetchFrom(url, 'GET', '/r');
      assert.equal(reval.status, 200);
      assert.equal(reval.text, 'hello');
      assert.equal(reval.cacheStatus['fwd-status'], 304);
      const hit = await fetchFrom(url, 'GET', '/r');
      assert.equal(hit.cacheStatus.hit, true);
      assert.equal(requests, 2);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('the proxy survives a client that disconnects mid-body', async () => {
    const origin = await customOrigin((req, res) => {
      if (req.url !== '/stream') return res.end('ok');
      res.writeHead(200, { 'cache-control': 'no-store' });
      const timer = setInterval(() => res.write('x'.repeat(1024)), 5);
      res.on('close', () => clearInterval(timer));
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      const controller = new AbortController();
      const res = await fetch(url + '/stream', { signal: controller.signal });
      const reader = res.body?.getReader();
      await reader?.read();
      controller.abort();
      await waitFor(() => origin.stats.inFlight === 0);
      assert.equal(origin.stats.inFlight, 0, 'the origin request was cancelled');
      const after = await fetchFrom(url, 'GET', '/other');
      assert.equal(after.status, 200);
    } finally {
      await node.close();
      await origin.close();
    }
  });
});
