// The demo origin over real sockets: the headers every proxy test relies on, conditional
// requests, mutation, counting, and the special paths.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { deterministicBytes } from '../../origin/resources.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function call(
  agent: Dispatcher,
  base: string,
  path: string,
  opts: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const res = await request(base + path, { dispatcher: agent, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

/** Sends raw bytes and returns the status line of the answer. */
function rawStatusLine(base: string, payload: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(payload));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
  });
}

const START = Date.UTC(2024, 0, 15, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();

void describe('demo origin', () => {
  let clock = START;
  const origin: DemoOrigin = createDemoOrigin({ nowMs: () => clock });
  const agent = new Agent();
  let base = '';
  const get = (path: string, opts?: Parameters<typeof call>[3]): Promise<Reply> => call(agent, base, path, opts);

  before(async () => {
    base = await origin.listen();
  });
  after(async () => {
    await origin.close();
    await agent.close();
  });
  beforeEach(() => {
    origin.resetCounts();
  });

  void test('listen resolves the base URL on 127.0.0.1 with the chosen port', () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(base).port, '0');
  });

  void test('seeded resources carry their caching headers', async () => {
    const app = await get('/static/app.js');
    assert.equal(app.status, 200);
    assert.equal(app.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(app.headers.etag), /^"[0-9a-f]{20}"$/);
    assert.equal(app.headers['last-modified'], httpDate(START));
    assert.equal(app.headers.date, httpDate(clock));
    assert.equal(app.headers['content-length'], String(app.body.length));
    assert.match(String(app.headers['content-type']), /javascript/);

    assert.equal((await get('/news')).headers['cache-control'], 'max-age=5');
    assert.equal((await get('/api/time')).headers['cache-control'], 'no-store');
    assert.equal((await get('/account')).headers['cache-control'], 'private, max-age=60');
    const noCache = await get('/no-cache');
    assert.equal(noCache.headers['cache-control'], 'no-cache');
    assert.ok(noCache.headers.etag);

    const heuristic = await get('/heuristic');
    assert.equal(heuristic.headers['cache-control'], undefined);
    assert.equal(heuristic.headers.etag, undefined);
    assert.equal(heuristic.headers.expires, undefined);
    assert.equal(heuristic.headers['last-modified'], httpDate(START - 10 * 24 * 3600 * 1000));

    const index = await get('/');
    assert.equal(index.headers['cache-control'], 'max-age=5');
    assert.match(String(index.headers['content-type']), /text\/html/);
    for (const p of ['/news', '/static/app.js', '/lang', '/echo']) assert.ok(index.body.toString().includes(p), p);
  });

  void test('/expires is 30 s after Date on the origin clock', async () => {
    const first = await get('/expires');
    assert.equal(first.headers.expires, httpDate(clock + 30_000));
    assert.equal(first.headers.date, httpDate(clock));
    clock += 7_000;
    assert.equal((await get('/expires')).headers.expires, httpDate(clock + 30_000));
  });

  void test('/lang varies on the first Accept-Language tag, one ETag per variant', async () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'hello'], ['en-US', 'hello'], ['fr-CH, fr;q=0.9', 'bonjour'], ['de;q=0.8, fr', 'hallo'], ['es', 'hello'],
    ];
    const etags = new Map<string, string>();
    for (const [lang, expected] of cases) {
      const r = await get('/lang', { headers: lang === undefined ? {} : { 'accept-language': lang } });
      assert.equal(r.body.toString(), expected, String(lang));
      assert.equal(r.headers.vary, 'Accept-Language');
      assert.equal(r.headers['cache-control'], 'max-age=60');
      etags.set(expected, String(r.headers.etag));
    }
    assert.equal(new Set(etags.values()).size, 3);
  });

  void test('unknown path: 404 text/plain "not found", max-age=10', async () => {
    const r = await get('/nope?x=1');
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), 'not found');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.headers['cache-control'], 'max-age=10');
    assert.equal(r.headers.date, httpDate(clock));
  });

  void test('If-None-Match: exact, weak, list and * give 304 with the validators and no body', async () => {
    const full = await get('/static/app.js');
    const etag = String(full.headers.etag);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, `"a,b",W/${etag}`, '*']) {
      const r = await get('/static/app.js', { headers: { 'if-none-match': inm } });
      assert.equal(r.status, 304, inm);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, etag);
      assert.equal(r.headers['last-modified'], full.headers['last-modified']);
      assert.equal(r.headers['cache-control'], full.headers['cache-control']);
      assert.equal(r.headers.date, httpDate(clock));
    }
    assert.equal((await get('/static/app.js', { headers: { 'if-none-match': '"nope", W/"x"' } })).status, 200);
    // '*' matches any current representation, even one without an ETag.
    assert.equal((await get('/heuristic', { headers: { 'if-none-match': '*' } })).status, 304);
    const lang = await get('/lang', { headers: { 'accept-language': 'fr', 'if-none-match': '*' } });
    assert.equal(lang.headers.vary, 'Accept-Language');
    const expires = await get('/expires', { headers: { 'if-none-match': '*' } });
    assert.equal(expires.headers.expires, httpDate(clock + 30_000));
  });

  void test('If-Modified-Since: 304 when not modified since, 200 otherwise; INM takes precedence', async () => {
    const full = await get('/news');
    const lm = String(full.headers['last-modified']);
    const lmMs = Date.parse(lm);
    assert.equal((await get('/news', { headers: { 'if-modified-since': lm } })).status, 304);
    assert.equal((await get('/news', { headers: { 'if-modified-since': httpDate(lmMs + 60_000) } })).status, 304);
    assert.equal((await get('/news', { headers: { 'if-modified-since': httpDate(lmMs - 1_000) } })).status, 200);
    assert.equal((await get('/news', { headers: { 'if-modified-since': 'not a date' } })).status, 200);
    // Present If-None-Match decides alone, both ways.
    const mismatch = await get('/news', { headers: { 'if-none-match': '"other"', 'if-modified-since': lm } });
    assert.equal(mismatch.status, 200);
    const match = await get('/news', { headers: { 'if-none-match': String(full.headers.etag), 'if-modified-since': httpDate(lmMs - 1_000) } });
    assert.equal(match.status, 304);
    // /heuristic validates by date alone.
    const h = await get('/heuristic');
    assert.equal((await get('/heuristic', { headers: { 'if-modified-since': String(h.headers['last-modified']) } })).status, 304);
  });

  void test('HEAD has the GET headers and no body; conditional HEAD gives 304', async () => {
    const g = await get('/news');
    const h = await get('/news', { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    for (const name of ['etag', 'last-modified', 'cache-control', 'content-length', 'content-type', 'date']) {
      assert.equal(h.headers[name], g.headers[name], name);
    }
    assert.equal((await get('/news', { method: 'HEAD', headers: { 'if-none-match': String(g.headers.etag) } })).status, 304);
  });

  void test('setResource bumps ETag and Last-Modified, fires onChange; deleteResource too', async () => {
    const changes: string[] = [];
    const unsubscribe = origin.onChange((p) => changes.push(p));
    origin.setResource('/doc', { body: 'v1', headers: { 'cache-control': 'max-age=100' } });
    const v1 = await get('/doc');
    assert.equal(v1.body.toString(), 'v1');
    assert.equal(v1.headers['cache-control'], 'max-age=100');
    // Same body, same clock second: validators must still change.
    origin.setResource('/doc', { body: 'v1', headers: { 'cache-control': 'max-age=100' } });
    const v2 = await get('/doc');
    assert.notEqual(v2.headers.etag, v1.headers.etag);
    assert.ok(Date.parse(String(v2.headers['last-modified'])) > Date.parse(String(v1.headers['last-modified'])));
    assert.equal((await get('/doc', { headers: { 'if-none-match': String(v1.headers.etag) } })).status, 200);
    assert.equal((await get('/doc', { headers: { 'if-modified-since': String(v1.headers['last-modified']) } })).status, 200);
    origin.deleteResource('/doc');
    assert.equal((await get('/doc')).status, 404);
    origin.deleteResource('/doc'); // absent: no change to report
    assert.deepEqual(changes, ['/doc', '/doc', '/doc']);
    unsubscribe();
    origin.setResource('/doc', { body: 'v3' });
    assert.equal(changes.length, 3);
    origin.deleteResource('/doc');
  });

  void test('ResourceSpec options: status, etag string/false, lastModified false, binary body, delay', async () => {
    origin.setResource('/opt', { status: 203, etag: 'abc', lastModified: false, body: Buffer.from([0, 255, 1]) });
    const r = await get('/opt');
    assert.equal(r.status, 203);
    assert.equal(r.headers.etag, '"abc"');
    assert.equal(r.headers['last-modified'], undefined);
    assert.deepEqual([...r.body], [0, 255, 1]);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    origin.setResource('/opt', { etag: false, body: 'x', delayMs: 80 });
    const started = Date.now();
    const d = await get('/opt');
    assert.ok(Date.now() - started >= 70);
    assert.equal(d.headers.etag, undefined);
    assert.throws(() => origin.setResource('no-slash', {}), TypeError);
    assert.throws(() => origin.setResource('/bad', { status: 99 }), RangeError);
    origin.deleteResource('/opt');
  });

  void test('PUT creates and replaces, DELETE deletes, POST echoes without change', async () => {
    const changes: string[] = [];
    const unsubscribe = origin.onChange((p) => changes.push(p));
    try {
      const created = await get('/put?v=1', { method: 'PUT', headers: { 'content-type': 'text/css' }, body: 'a{}' });
      assert.equal(created.status, 201);
      const got = await get('/put?v=1');
      assert.equal(got.body.toString(), 'a{}');
      assert.equal(got.headers['content-type'], 'text/css');
      assert.equal((await get('/put')).status, 404, 'the query is part of the path');

      origin.setResource('/put?v=1', { body: 'old', headers: { 'Cache-Control': 'max-age=9', 'Content-Type': 'text/plain' } });
      const replaced = await get('/put?v=1', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(replaced.status, 204);
      const afterPut = await get('/put?v=1');
      assert.equal(afterPut.body.toString(), '{}');
      assert.equal(afterPut.headers['content-type'], 'application/json');
      assert.equal(afterPut.headers['cache-control'], 'max-age=9');

      const post = await get('/put?v=1', { method: 'POST', body: 'hello' });
      assert.equal(post.status, 200);
      assert.deepEqual(JSON.parse(post.body.toString()), { method: 'POST', path: '/put?v=1', bodyBytes: 5 });
      assert.equal((await get('/put?v=1')).headers.etag, afterPut.headers.etag);

      assert.equal((await get('/put?v=1', { method: 'DELETE' })).status, 204);
      assert.equal((await get('/put?v=1')).status, 404);
      assert.equal((await get('/put?v=1', { method: 'DELETE' })).status, 404);
      assert.equal((await get('/missing', { method: 'POST', body: 'x' })).status, 404);
      assert.deepEqual(changes, ['/put?v=1', '/put?v=1', '/put?v=1', '/put?v=1']);
      assert.equal(origin.count('/put?v=1', 'POST'), 1);
      assert.equal(origin.count('/put?v=1', 'DELETE'), 2);
    } finally {
      unsubscribe();
    }
  });

  void test('count() and log record every request in order', async () => {
    await get('/news');
    await get('/news');
    await get('/news', { method: 'HEAD' });
    await get('/nope', { headers: { 'x-trace': 't1' } });
    await get('/news?a=1');
    assert.equal(origin.count(), 5);
    assert.equal(origin.count('/news'), 3);
    assert.equal(origin.count('/news', 'GET'), 2);
    assert.equal(origin.count('/news', 'head'), 1);
    assert.equal(origin.count(undefined, 'GET'), 4);
    assert.equal(origin.count('/news?a=1'), 1);
    assert.deepEqual(origin.log.map((e) => [e.method, e.path, e.status]), [
      ['GET', '/news', 200], ['GET', '/news', 200], ['HEAD', '/news', 200], ['GET', '/nope', 404], ['GET', '/news?a=1', 404],
    ]);
    assert.equal(origin.log[3]?.headers['x-trace'], 't1');
    origin.resetCounts();
    assert.equal(origin.count(), 0);
    assert.equal(origin.log.length, 0);
  });

  void test('/big and /chunked send exactly N KiB of the deterministic bytes', async () => {
    const big = await get('/big?kb=100');
    assert.equal(big.status, 200);
    assert.equal(big.headers['content-length'], String(100 * 1024));
    assert.equal(big.headers['cache-control'], 'max-age=60');
    assert.ok(big.body.equals(deterministicBytes(0, 100 * 1024)));

    const chunked = await get('/chunked?kb=37');
    assert.equal(chunked.headers['content-length'], undefined);
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    assert.ok(chunked.body.equals(deterministicBytes(0, 37 * 1024)));

    const head = await get('/big?kb=3', { method: 'HEAD' });
    assert.equal(head.headers['content-length'], '3072');
    assert.equal(head.body.length, 0);
    assert.equal((await get('/big?kb=0')).body.length, 0);
    for (const bad of ['/big?kb=abc', '/big?kb=-1', '/chunked?kb=1.5', '/slow?ms=x']) assert.equal((await get(bad)).status, 400, bad);
    assert.equal((await get('/big', { method: 'POST', body: 'x' })).status, 405);
  });

  void test('/echo answers any method with the request as JSON', async () => {
    const r = await get('/echo?q=1', { method: 'PATCH', headers: { 'x-hello': 'world' }, body: 'héllo' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    const echo = JSON.parse(r.body.toString()) as { method: string; url: string; headers: Record<string, string>; body: string };
    assert.equal(echo.method, 'PATCH');
    assert.equal(echo.url, '/echo?q=1');
    assert.equal(echo.headers['x-hello'], 'world');
    assert.equal(echo.body, 'héllo');
  });

  void test('/status/N answers N with its cache-control from cc', async () => {
    const r = await get('/status/503?cc=max-age%3D30');
    assert.equal(r.status, 503);
    assert.equal(r.headers['cache-control'], 'max-age=30');
    assert.equal(r.body.toString(), 'status 503');
    const plain = await get('/status/404');
    assert.equal(plain.status, 404);
    assert.equal(plain.headers['cache-control'], undefined);
    const empty = await get('/status/204');
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0);
    assert.equal((await get('/status/99')).status, 400);
    assert.equal((await get('/status/700')).status, 400);
  });

  void test('/slow waits ms before answering', async () => {
    const started = Date.now();
    const r = await get('/slow?ms=60');
    assert.ok(Date.now() - started >= 50);
    assert.equal(r.body.toString(), 'slow');
    assert.equal(r.headers['cache-control'], 'max-age=60');
  });

  void test('bad input gets a 4xx, never a crash', async () => {
    assert.match(await rawStatusLine(base, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await rawStatusLine(base, 'this is not http\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await rawStatusLine(base, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n'), /^HTTP\/1\.1 405/);
    origin.setResource('/throws', {
      varyBody: () => {
        throw new Error('broken resource');
      },
    });
    const broken = await get('/throws');
    assert.equal(broken.status, 500);
    assert.match(broken.body.toString(), /broken resource/);
    assert.equal(origin.log.at(-1)?.status, 500);
    origin.deleteResource('/throws');
    const patch = await get('/news', { method: 'PATCH', body: 'x' });
    assert.equal(patch.status, 405);
    assert.match(String(patch.headers.allow), /GET/);
    // Still serving.
    assert.equal((await get('/news')).status, 200);
  });
});
