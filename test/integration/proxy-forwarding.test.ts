// What crosses the proxy: hop-by-hop fields stop, Via and X-Forwarded-* are added, bodies and
// unknown methods pass, upgrades tunnel, and odd requests get a clear 4xx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, rawExchange, startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('request fields (RFC 9110 §7.6)', () => {
  test('hop-by-hop fields and the fields Connection names are not forwarded', async () => {
    // Sent raw: HTTP clients refuse to send some of these fields themselves.
    const reply = await rawExchange(
      stack.proxyUrl,
      'GET /echo HTTP/1.1\r\nHost: a\r\nConnection: x-secret, close\r\nX-Secret: no\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n',
    );
    const echo = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Echo;
    assert.equal(echo.headers['x-secret'], undefined);
    assert.equal(echo.headers['te'], undefined);
    assert.equal(echo.headers['keep-alive'], undefined);
    assert.equal(echo.headers['x-kept'], 'yes');
  });

  test('Via is appended to; Forwarded and X-Forwarded-For / -Proto / -Host / -Port are the proxy\'s own; Host is the client\'s', async () => {
    const res = await stack.get('/echo', { 'x-forwarded-for': '203.0.113.9', via: '1.1 other' });
    const echo = JSON.parse(res.text) as Echo;
    const { host, port } = new URL(stack.proxyUrl);
    assert.equal(echo.headers['via'], '1.1 other, 1.1 mini-cdn');
    // The client is no trusted proxy (trustedProxies is empty): its X-Forwarded-For is replaced.
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['forwarded'], `for=127.0.0.1;host="${host}";proto=http`);
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(echo.headers['x-forwarded-host'], host);
    assert.equal(echo.headers['x-forwarded-port'], port);
    assert.equal(echo.headers['host'], host);
    assert.match(String(res.headers['via']), /1\.1 mini-cdn$/);
  });

  test('a request body streams through to the origin', async () => {
    const body = 'x'.repeat(100_000);
    const res = await stack.send('POST', '/echo', { body, headers: { 'content-type': 'text/plain' } });
    const echo = JSON.parse(res.text) as Echo;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.body.length, 100_000);
  });

  for (const method of ['OPTIONS', 'DELETE', 'PROPFIND', 'MKCOL', 'REPORT', 'LINK']) {
    test(`${method} passes through to the origin with fwd=method`, async () => {
      const res = await stack.send(method, '/echo');
      assert.equal((JSON.parse(res.text) as Echo).method, method);
      assert.equal(res.cacheStatus.fwd, 'method');
    });
  }
});

describe('response fields (RFC 9111 §3.1)', () => {
  test('hop-by-hop response fields are neither forwarded nor stored', async () => {
    const origin = await customOrigin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', connection: 'x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=3', 'x-public': 'ok' });
      res.end('body');
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(url + '/hop');
        assert.equal(res.headers.get('x-internal'), null);
        assert.equal(res.headers.get('x-public'), 'ok');
        await res.text();
      }
      const stored = [...node.store.keys()].map((k) => node.store.peek(k));
      assert.equal(stored.length, 1);
      assert.equal(stored[0]?.headers['x-internal'], undefined);
      assert.equal(stored[0]?.headers['keep-alive'], undefined);
      assert.equal(origin.stats.requests, 1);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('every response carries Cache-Status, errors and pass-through included', async () => {
    for (const [method, path] of [['GET', '/news'], ['POST', '/echo'], ['GET', '/nothing-here'], ['DELETE', '/echo']] as const) {
      const res = await stack.send(method, path);
      assert.equal(res.cacheStatus.cache, 'mini-cdn', `${method} ${path}`);
    }
  });
});

describe('upgrades and odd requests', () => {
  test('an Upgrade request is tunnelled to the origin', async () => {
    const origin = http.createServer();
    origin.on('upgrade', (_req: http.IncomingMessage, socket: Duplex) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const port = (origin.address() as { port: number }).port;
    const node = createProxyNode({ origin: `http://127.0.0.1:${port}` });
    const url = new URL(await node.listen(0));
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, path: '/ws', headers: { connection: 'Upgrade', upgrade: 'echo' } });
        req.on('upgrade', (res, socket) => {
          assert.equal(res.statusCode, 101);
          socket.once('data', (d: Buffer) => {
            resolve(d.toString());
            socket.destroy();
          });
          socket.write('hello over the tunnel');
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(reply, 'HELLO OVER THE TUNNEL');
    } finally {
      await node.close();
      origin.closeAllConnections();
      await new Promise<void>((r) => origin.close(() => r()));
    }
  });

  test('CONNECT is refused with 405', async () => {
    const reply = await rawExchange(stack.proxyUrl, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 405/);
  });

  test('a malformed request line gets 400 and never reaches the origin', async () => {
    const before = stack.origin.count();
    const reply = await rawExchange(stack.proxyUrl, 'GET /x HTTP/9.9 junk\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /MCDN_REQUEST_INVALID/);
    assert.equal(stack.origin.count(), before);
  });

  test('oversized request headers get 431', async () => {
    const reply = await rawExchange(stack.proxyUrl, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 431/);
  });

  test('a request target that is not a path gets 400', async () => {
    const reply = await rawExchange(stack.proxyUrl, 'GET nonsense HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /MCDN_REQUEST_INVALID/);
  });

  test('an absolute-form target is accepted', async () => {
    const reply = await rawExchange(stack.proxyUrl, 'GET http://example.test/news HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200/);
  });
});
