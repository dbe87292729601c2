// Hostile and malformed requests: ambiguous framing, bad Host, oversized or slow requests, and
// headers that would poison the cache. Each gets a clear 4xx and never reaches the origin or the
// cache; the process stays up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom, rawExchange, startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ headersTimeoutMs: 500, requestTimeoutMs: 1_000, maxUrlBytes: 2_048 });
});
after(() => stack.close());

describe('framing and syntax (RFC 9112 §6.3, §5.2, §3.2)', () => {
  const rows: Array<{ name: string; raw: string; status: number }> = [
    { name: 'Content-Length with Transfer-Encoding', raw: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400 },
    { name: 'two equal Content-Length lines', raw: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd', status: 400 },
    { name: 'two different Content-Length lines', raw: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde', status: 400 },
    { name: 'a Content-Length list', raw: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nabcd', status: 400 },
    { name: 'a transfer coding other than chunked last', raw: 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabcd', status: 400 },
    { name: 'obs-fold (a folded header line)', raw: 'GET /echo HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n', status: 400 },
    { name: 'whitespace before the colon', raw: 'GET /echo HTTP/1.1\r\nHost : a\r\n\r\n', status: 400 },
    { name: 'bare LF line endings', raw: 'GET /echo HTTP/1.1\nHost: a\n\n', status: 400 },
    { name: 'no Host', raw: 'GET /echo HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'two Host lines', raw: 'GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n', status: 400 },
    { name: 'a Host with a path in it', raw: 'GET /echo HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n', status: 400 },
    { name: 'a target longer than maxUrlBytes', raw: `GET /${'a'.repeat(3_000)} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, status: 414 },
    { name: 'headers larger than the limit', raw: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, status: 431 },
  ];
  for (const row of rows) {
    test(`${row.name}: ${row.status}, and the origin never sees it`, async () => {
      const before = stack.origin.count();
      const reply = await rawExchange(stack.proxyUrl, row.raw, 2_000);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${row.status} `));
      assert.match(reply, /MCDN_(REQUEST_INVALID|URI_TOO_LONG)/);
      assert.equal(stack.origin.count(), before);
    });
  }

  test('a client that never finishes its headers is cut with 408 after headersTimeoutMs', async () => {
    const reply = await rawExchange(stack.proxyUrl, 'GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: ', 5_000);
    assert.match(reply, /^HTTP\/1\.1 408 /);
  });

  test('the process is still serving after all of that', async () => {
    assert.equal((await stack.get('/news')).status, 200);
  });
});

describe('cache poisoning through headers that are not part of the key', () => {
  test('X-Forwarded-Host and X-Forwarded-Proto from a client are replaced, never passed on', async () => {
    const reflecting = await customOrigin((req, res) => {
      // An origin that builds absolute links from X-Forwarded-Host, as many frameworks do.
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/html' });
      res.end(`<a href="${String(req.headers['x-forwarded-proto'])}://${String(req.headers['x-forwarded-host'])}/next">next</a>`);
    });
    const node = createProxyNode({ origin: reflecting.url });
    const url = await node.listen(0);
    try {
      const poisoned = await fetchFrom(url, 'GET', '/page', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'javascript' } });
      assert.doesNotMatch(poisoned.text, /evil\.example|javascript/);
      const victim = await fetchFrom(url, 'GET', '/page');
      assert.equal(victim.cacheStatus.hit, true);
      assert.equal(victim.text, `<a href="http://${new URL(url).host}/next">next</a>`);
    } finally {
      await node.close();
      await reflecting.close();
    }
  });

  test('URL-override fields (X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override) are not forwarded', async () => {
    const res = await stack.get('/echo', { 'x-original-url': '/admin', 'x-rewrite-url': '/admin', 'x-http-method-override': 'DELETE' });
    const echo = JSON.parse(res.text) as { headers: Record<string, string> };
    assert.equal(echo.headers['x-original-url'], undefined);
    assert.equal(echo.headers['x-rewrite-url'], undefined);
    assert.equal(echo.headers['x-http-method-override'], undefined);
  });

  test('the Host header is part of the key: another Host never gets this host\'s entry', async () => {
    const { port } = new URL(stack.proxyUrl);
    const get = (host: string): Promise<string> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/news', headers: { host } }, (res) => {
          resolve(String(res.headers['cache-status']));
          res.resume();
        }).on('error', reject);
      });
    await get('site-a.example');
    assert.match(await get('site-a.example'), /hit/);
    assert.match(await get('site-b.example'), /fwd=uri-miss/);
  });
});
