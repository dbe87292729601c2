// Conformance on the wire: what a 304 does to the stored entry (RFC 9111 §3.2, §4.3.4), what a
// revalidation request carries (§4.3.1), invalidation by unsafe methods (§4.4), header fields
// kept or dropped (§3.1, §4, §5.1) and 1xx interim responses (RFC 9110 §15.2). Demo origin for
// the common cases; custom and raw-TCP origins where the exact response bytes matter.
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { parseCacheStatus } from '../../proxy/policy/index.js';
import { customOrigin, fetchFrom, rawOrigin, startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
/** A fresh path per test, so tests share one stack without sharing entries. */
const fresh = (name: string): string => `/wire${++n}-${name.replace(/\W+/g, '-')}`;

before(async () => {
  stack = await startStack();
});
after(() => stack.close());

/** A proxy node in front of `originUrl` for one test; closed by the returned function. */
async function proxyFor(originUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const node = createProxyNode({ origin: originUrl });
  const url = await node.listen(0);
  return { url, close: () => node.close() };
}

describe('validation on the wire (RFC 9111 §3.2, §4.3)', () => {
  test('RFC 9111 §4.3.4, §3.2: a 304 with new fields updates the stored entry, but not its Content-Length', async () => {
    const requests: string[] = [];
    const origin = await rawOrigin((socket, request) => {
      requests.push(request);
      const date = `Date: ${new Date().toUTCString()}\r\n`;
      if (requests.length === 1) {
        socket.write(`HTTP/1.1 200 OK\r\n${date}ETag: "v1"\r\nCache-Control: max-age=60\r\nAge: 120\r\nX-Version: 1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`);
      } else {
        socket.write(`HTTP/1.1 304 Not Modified\r\n${date}ETag: "v1"\r\nCache-Control: max-age=300\r\nX-Version: 2\r\nContent-Length: 999\r\n\r\n`);
      }
    });
    const proxy = await proxyFor(origin.url);
    try {
      assert.equal((await fetchFrom(proxy.url, 'GET', '/r')).cacheStatus.stored, true);
      const reval = await fetchFrom(proxy.url, 'GET', '/r');
      assert.equal(reval.status, 200);
      assert.equal(reval.cacheStatus.fwd, 'stale');
      assert.equal(reval.cacheStatus['fwd-status'], 304);
      assert.match(requests[1] ?? '', /^if-none-match: "v1"$/im);
      for (const res of [reval, await fetchFrom(proxy.url, 'GET', '/r')]) {
        assert.equal(res.text, 'hello');
        assert.equal(res.headers['content-length'], '5', 'the 304 Content-Length is not taken');
        assert.equal(res.headers['x-version'], '2', 'the 304 fields replace the stored ones');
        assert.equal(res.headers['cache-control'], 'max-age=300');
      }
      const hit = await fetchFrom(proxy.url, 'GET', '/r');
      assert.equal(hit.cacheStatus.hit, true);
      assert.ok(Number(hit.cacheStatus.ttl) > 290, `ttl ${hit.cacheStatus.ttl}: the new max-age and a new age`);
      assert.equal(requests.length, 2);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('RFC 9111 §4.3.4: a 304 with a different strong ETag is not applied; the proxy fetches again unconditionally', async () => {
    const ifNoneMatch: Array<string | undefined> = [];
    const origin = await customOrigin((req, res) => {
      const inm = req.headers['if-none-match'];
      ifNoneMatch.push(inm);
      if (ifNoneMatch.length === 1) res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=60', age: '120' }).end('first');
      else if (inm !== undefined) res.writeHead(304, { etag: '"v2"', 'cache-control': 'max-age=60' }).end();
      else res.writeHead(200, { etag: '"v2"', 'cache-control': 'max-age=60' }).end('second');
    });
    const proxy = await proxyFor(origin.url);
    try {
      assert.equal((await fetchFrom(proxy.url, 'GET', '/e')).text, 'first');
      const res = await fetchFrom(proxy.url, 'GET', '/e');
      assert.equal(res.status, 200);
      assert.equal(res.text, 'second');
      assert.equal(res.headers['etag'], '"v2"');
      assert.equal(res.cacheStatus['fwd-status'], 200);
      assert.deepEqual(ifNoneMatch, [undefined, '"v1"', undefined]);
      const hit = await fetchFrom(proxy.url, 'GET', '/e');
      assert.equal(hit.cacheStatus.hit, true);
      assert.equal(hit.text, 'second');
      assert.equal(origin.stats.requests, 3);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test("RFC 9111 §4.3.1: a revalidation carries the stored ETag and the client's selecting field", async () => {
    const path = fresh('reval-fields');
    stack.origin.setResource(path, {
      headers: { 'cache-control': 'max-age=60', age: '120', vary: 'Accept-Language' },
      varyBody: (req) => `lang=${String(req.headers['accept-language'])}`,
    });
    const miss = await stack.get(path, { 'accept-language': 'fr' });
    const reval = await stack.get(path, { 'accept-language': 'fr' });
    assert.equal(reval.text, 'lang=fr');
    assert.equal(reval.cacheStatus.fwd, 'stale');
    assert.equal(reval.cacheStatus['fwd-status'], 304);
    const sent = stack.origin.log.filter((r) => r.path === path)[1];
    assert.equal(sent?.headers['if-none-match'], miss.headers['etag'], 'the client sent no validator: the stored ETag is used');
    assert.equal(sent?.headers['accept-language'], 'fr');
    assert.equal(stack.origin.count(path), 2);
  });
});

describe('invalidation by unsafe methods (RFC 9111 §4.4)', () => {
  // GET: a Vary: Accept-Language response, fresh for 60 s. Any other method: the status, Location
  // and Content-Location given by the request's x-status / x-location / x-content-location.
  let origin: Awaited<ReturnType<typeof customOrigin>>;
  let proxyUrl: string;
  let closeProxy: () => Promise<void>;
  const gets = new Map<string, number>();
  before(async () => {
    origin = await customOrigin((req, res) => {
      const path = req.url ?? '/';
      if (req.method === 'GET') {
        gets.set(path, (gets.get(path) ?? 0) + 1);
        res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' }).end(`${path}:${String(req.headers['accept-language'])}`);
        return;
      }
      const headers: Record<string, string> = {};
      if (req.headers['x-location']) headers['location'] = String(req.headers['x-location']);
      if (req.headers['x-content-location']) headers['content-location'] = String(req.headers['x-content-location']);
      req.resume();
      req.on('end', () => res.writeHead(Number(req.headers['x-status'] ?? 200), headers).end('done'));
    });
    ({ url: proxyUrl, close: closeProxy } = await proxyFor(origin.url));
  });
  after(async () => {
    await closeProxy();
    await origin.close();
  });
  const get = (path: string, lang: string, host?: string) =>
    fetchFrom(proxyUrl, 'GET', path, { headers: { 'accept-language': lang, ...(host ? { host } : {}) } });
  /** Stores the en and fr variants of `path` and checks both are hits. */
  async function storeTwoVariants(path: string, host?: string): Promise<void> {
    for (const lang of ['en', 'fr']) await get(path, lang, host);
    for (const lang of ['en', 'fr']) assert.equal((await get(path, lang, host)).cacheStatus.hit, true, `${lang} stored`);
  }

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'PROPPATCH']) {
    test(`RFC 9111 §4.4: a successful ${method} invalidates every variant of its URL`, async () => {
      const path = fresh(`invalidate-${method}`);
      await storeTwoVariants(path);
      const res = await fetchFrom(proxyUrl, method, path, { body: 'x' });
      assert.equal(res.status, 200);
      assert.equal(res.cacheStatus.fwd, 'method');
      const en = await get(path, 'en');
      const fr = await get(path, 'fr');
      assert.equal(en.cacheStatus.fwd, 'uri-miss', 'no variant of the URL is left');
      assert.equal(fr.cacheStatus.fwd, 'vary-miss');
      assert.equal(gets.get(path), 4);
    });
  }

  const related: Array<{ name: string; field: 'x-location' | 'x-content-location'; value: (target: string) => string; host?: string; invalidated: boolean }> = [
    { name: 'a relative Location on the same origin is invalidated too', field: 'x-location', value: (t) => t, invalidated: true },
    { name: 'a relative Content-Location on the same origin is invalidated too', field: 'x-content-location', value: (t) => t, invalidated: true },
    { name: 'a Location on another host is not invalidated', field: 'x-location', value: (t) => `http://other.test${t}`, host: 'other.test', invalidated: false },
    { name: 'a Content-Location on another host is not invalidated', field: 'x-content-location', value: (t) => `http://other.test${t}`, host: 'other.test', invalidated: false },
  ];
  for (const row of related) {
    test(`RFC 9111 §4.4: POST: ${row.name}`, async () => {
      const target = fresh('other');
      await storeTwoVariants(target, row.host);
      const post = await fetchFrom(proxyUrl, 'POST', fresh('post'), { body: 'x', headers: { [row.field]: row.value(target) } });
      assert.equal(post.status, 200);
      const en = await get(target, 'en', row.host);
      const fr = await get(target, 'fr', row.host);
      if (row.invalidated) {
        assert.equal(en.cacheStatus.fwd, 'uri-miss');
        assert.equal(fr.cacheStatus.fwd, 'vary-miss');
        assert.equal(gets.get(target), 4);
      } else {
        assert.equal(en.cacheStatus.hit, true);
        assert.equal(fr.cacheStatus.hit, true);
        assert.equal(gets.get(target), 2);
      }
    });
  }

  for (const status of [400, 404, 409, 500]) {
    test(`RFC 9111 §4.4: a POST answered ${status} (an error) invalidates nothing`, async () => {
      const path = fresh(`error-${status}`);
      const other = fresh('error-location');
      await storeTwoVariants(path);
      await storeTwoVariants(other);
      const post = await fetchFrom(proxyUrl, 'POST', path, { body: 'x', headers: { 'x-status': String(status), 'x-location': other } });
      assert.equal(post.status, status);
      for (const p of [path, other]) {
        for (const lang of ['en', 'fr']) assert.equal((await get(p, lang)).cacheStatus.hit, true, `${p} ${lang}`);
        assert.equal(gets.get(p), 2);
      }
    });
  }
});

describe('header fields (RFC 9111 §3.1, §4, §5.1)', () => {
  test('RFC 9111 §3.1: two Set-Cookie lines on a public, max-age=60 response are served exactly on a hit', async () => {
    const path = fresh('set-cookie');
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'public, max-age=60', 'set-cookie': ['a=1; Path=/', 'b=2, with comma; HttpOnly'] } });
    const miss = await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.deepEqual(miss.headers['set-cookie'], ['a=1; Path=/', 'b=2, with comma; HttpOnly']);
    assert.deepEqual(hit.headers['set-cookie'], ['a=1; Path=/', 'b=2, with comma; HttpOnly']);
    assert.equal(stack.origin.count(path), 1);
  });

  test("RFC 9111 §4, §5.1: a hit carries the origin's Date unchanged and an Age", async () => {
    const path = fresh('date-age');
    const date = new Date(Date.now() - 5000).toUTCString();
    stack.origin.setResource(path, { body: 'x', headers: { 'cache-control': 'max-age=60', date } });
    await stack.get(path);
    const hit = await stack.get(path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.headers['date'], date);
    assert.match(String(hit.headers['age']), /^\d+$/);
    // The Date was 5 s old on arrival: apparent_age (RFC 9111 §4.2.3).
    assert.ok(Number(hit.headers['age']) >= 4, `age ${hit.headers['age']}`);
  });

  test('RFC 9110 §7.6.1, RFC 9111 §3.1: fields named in the Connection header are dropped, on the miss and the hit', async () => {
    let requests = 0;
    const origin = await rawOrigin((socket) => {
      requests++;
      socket.write('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nX-Kept: yes\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok');
    });
    const proxy = await proxyFor(origin.url);
    try {
      const miss = await fetchFrom(proxy.url, 'GET', '/c');
      const hit = await fetchFrom(proxy.url, 'GET', '/c');
      assert.equal(hit.cacheStatus.hit, true);
      for (const res of [miss, hit]) {
        assert.equal(res.text, 'ok');
        assert.equal(res.headers['x-hop'], undefined);
        assert.equal(res.headers['x-kept'], 'yes');
      }
      assert.equal(requests, 1);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});

describe('1xx interim responses (RFC 9110 §15.2)', () => {
  /** node's own client: it reports 1xx responses as 'information' events, which undici does not. */
  function getWithInterim(base: string, path: string): Promise<{ interim: http.InformationEvent[]; status: number; headers: http.IncomingHttpHeaders; text: string }> {
    return new Promise((resolve, reject) => {
      const interim: http.InformationEvent[] = [];
      const req = http.request(base + path, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ interim, status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('information', (info) => interim.push(info));
      req.on('error', reject);
      req.end();
    });
  }
  const cacheStatusOf = (headers: http.IncomingHttpHeaders) => {
    const members = parseCacheStatus(String(headers['cache-status'] ?? ''));
    return members[members.length - 1]?.params ?? {};
  };

  test('RFC 9110 §15.2, RFC 8297: a 103 is relayed, not merged into the 200, and not stored', async () => {
    const origin = await customOrigin((_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }).end('page');
    });
    const proxy = await proxyFor(origin.url);
    try {
      const first = await getWithInterim(proxy.url, '/p');
      assert.deepEqual(first.interim.map((i) => i.statusCode), [103]);
      assert.equal(first.interim[0]?.headers['link'], '</a.css>; rel=preload');
      assert.equal(first.status, 200);
      assert.equal(first.text, 'page');
      assert.equal(first.headers['link'], undefined, 'the 103 fields are not merged into the final response');
      assert.equal(cacheStatusOf(first.headers).stored, true);
      const hit = await getWithInterim(proxy.url, '/p');
      assert.equal(cacheStatusOf(hit.headers).hit, true);
      assert.deepEqual(hit.interim, [], 'no 103 from the cache');
      assert.equal(hit.headers['link'], undefined);
      assert.equal(hit.text, 'page');
      assert.equal(origin.stats.requests, 1);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});
