// Origins that would make the edge hammer them: a 304 to a request that had no validators (or
// whose validators it contradicts), a 304 that repeats no validator, and an origin that takes the
// request and never answers. The edge must bound what it sends (counted at the origin), answer
// every client with a clear code, and store nothing it was not given.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Agent, request as undiciRequest } from 'undici';
import { parseCacheStatus } from '../../proxy/policy/index.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyOptions } from '../../proxy/server/options.js';
import { customOrigin, sleep, waitFor } from '../helpers/harness.js';

type Origin = Awaited<ReturnType<typeof customOrigin>>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  cacheStatus: Record<string, string | number | boolean>;
}

/** How long a client waits at most: before the fixes, some of these requests were never answered. */
const CLIENT_PATIENCE_MS = 15_000;
/** Time given to a runaway loop to show itself after the client has its answer. */
const SETTLE_MS = 400;
const agent = new Agent({ keepAliveTimeout: 1_000, connections: 64 });

async function ask(base: string, path: string, options: { method?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Answer> {
  const res = await undiciRequest(base + path, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers,
    dispatcher: agent,
    signal: options.signal ?? AbortSignal.timeout(CLIENT_PATIENCE_MS),
  });
  const text = await res.body.text();
  const raw = res.headers['cache-status'];
  const members = raw === undefined ? [] : parseCacheStatus(Array.isArray(raw) ? raw.join(', ') : raw);
  const mine = members[members.length - 1];
  return { status: res.statusCode, headers: res.headers, text, cacheStatus: mine ? { cache: mine.cache, ...mine.params } : {} };
}

async function edgeFor(origin: string | string[], extra: Partial<ProxyOptions> = {}): Promise<{ node: ProxyNode; url: string; close(): Promise<void> }> {
  const origins = Array.isArray(origin) ? origin.map((url) => ({ url, weight: 1 })) : undefined;
  const node = createProxyNode({ origin: Array.isArray(origin) ? (origin[0] as string) : origin, ...(origins ? { origins } : {}), ...extra });
  const url = await node.listen(0, '127.0.0.1');
  return { node, url, close: () => node.close() };
}

function storedKeys(node: ProxyNode): string[] {
  return [...node.store.keys()];
}

/** The coded answer an origin protocol failure must give. */
function assertProtocol502(res: Answer, fwd: string): void {
  assert.equal(res.status, 502, res.text);
  assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_PROTOCOL');
  assert.match(res.text, /MCDN_UPSTREAM_PROTOCOL/);
  assert.equal(res.cacheStatus.fwd, fwd);
  assert.equal(res.cacheStatus['fwd-status'], 304, 'Cache-Status shows what the origin answered');
  assert.equal(res.cacheStatus.detail, 'MCDN_UPSTREAM_PROTOCOL');
  assert.equal(res.cacheStatus.stored, undefined);
}

/** An origin that answers 304, without any validator or body, to everything. */
function always304(): Promise<Origin> {
  return customOrigin((_req, res) => {
    res.writeHead(304);
    res.end();
  });
}

describe('an origin that answers 304 to unconditional requests', () => {
  test('one GET costs the origin exactly 2 requests (one retry) and gets a coded 502; nothing is stored', async () => {
    const origin = await always304();
    const edge = await edgeFor(origin.url);
    try {
      const first = await ask(edge.url, '/loop');
      assertProtocol502(first, 'uri-miss');
      assert.equal(origin.stats.requests, 2, 'the first request and one unconditional retry');
      await sleep(SETTLE_MS);
      assert.equal(origin.stats.requests, 2, 'no request after the client got its answer');
      assert.deepEqual(storedKeys(edge.node), [], 'nothing stored');

      const second = await ask(edge.url, '/loop');
      assertProtocol502(second, 'uri-miss');
      assert.equal(origin.stats.requests, 4, 'the second GET is again a miss, with its own bounded retry');
      assert.deepEqual(storedKeys(edge.node), []);
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('N clients collapsed on one fill all get the 502, and the origin sees 2 requests in all', async () => {
    const N = 12;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const origin = await customOrigin((_req, res) => {
      void gate.then(() => {
        res.writeHead(304);
        res.end();
      });
    });
    const edge = await edgeFor(origin.url);
    try {
      const answers = Array.from({ length: N }, () => ask(edge.url, '/crowd'));
      // Every client has joined the one fill before the origin answers.
      await waitFor(() => edge.node.engine.stats().collapsed === N - 1, 10_000);
      assert.equal(edge.node.engine.stats().collapsed, N - 1);
      assert.equal(origin.stats.requests, 1);
      release();
      for (const res of await Promise.all(answers)) assertProtocol502(res, 'uri-miss');
      assert.equal(origin.stats.requests, 2, 'one retry for the whole crowd, not one per waiter');
      await sleep(SETTLE_MS);
      assert.equal(origin.stats.requests, 2);
      assert.deepEqual(storedKeys(edge.node), []);
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('a client that leaves before the answer leaves no loop behind', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const origin = await customOrigin((_req, res) => {
      void gate.then(() => {
        res.writeHead(304);
        res.end();
      });
    });
    const edge = await edgeFor(origin.url);
    try {
      const leaving = new AbortController();
      const gone = ask(edge.url, '/gone', { signal: leaving.signal }).then(
        () => 'answered',
        () => 'aborted',
      );
      await waitFor(() => origin.stats.requests === 1, 10_000);
      leaving.abort();
      assert.equal(await gone, 'aborted');
      release();
      await waitFor(() => origin.stats.requests >= 2, 10_000);
      await sleep(SETTLE_MS);
      const settled = origin.stats.requests;
      assert.equal(settled, 2, 'first request and one retry, then nothing');
      await sleep(SETTLE_MS);
      assert.equal(origin.stats.requests, settled, 'the count stays put after the client has gone');
      assert.deepEqual(storedKeys(edge.node), []);
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('HEAD (miss and stale) and Range requests end with a bounded number of origin requests', async () => {
    let phase: 'store' | '304' = '304';
    const origin = await customOrigin((req, res) => {
      if (phase === 'store' && req.method === 'GET') {
        res.writeHead(200, { 'cache-control': 'max-age=0', 'content-type': 'text/plain' });
        res.end('stored body');
        return;
      }
      res.writeHead(304);
      res.end();
    });
    const edge = await edgeFor(origin.url);
    try {
      const headMiss = await ask(edge.url, '/head', { method: 'HEAD' });
      assert.equal(headMiss.status, 502);
      assert.equal(headMiss.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_PROTOCOL');
      assert.equal(headMiss.cacheStatus['fwd-status'], 304);
      assert.equal(origin.stats.requests, 1, 'HEAD miss: one request, nothing retries it');

      let before = origin.stats.requests;
      const range = await ask(edge.url, '/range', { headers: { range: 'bytes=0-3' } });
      assertProtocol502(range, 'uri-miss');
      assert.equal(origin.stats.requests - before, 1, 'Range miss: one request');

      // A stored entry (no validators, stale at once), then HEADs and Range GETs against the 304s.
      phase = 'store';
      const stored = await ask(edge.url, '/stale');
      assert.equal(stored.text, 'stored body');
      phase = '304';
      before = origin.stats.requests;
      const headStale = await ask(edge.url, '/stale', { method: 'HEAD' });
      assert.equal(headStale.status, 502);
      assert.equal(headStale.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_PROTOCOL');
      assert.equal(headStale.cacheStatus.fwd, 'stale');
      assert.equal(headStale.cacheStatus['fwd-status'], 304);
      assert.equal(origin.stats.requests - before, 1, 'HEAD of a stale entry: one request');
      assert.deepEqual(storedKeys(edge.node).length, 1, 'the stored GET response is neither replaced nor dropped by the bad 304');

      before = origin.stats.requests;
      // The stored response has no validator: its revalidation is unconditional, and a 304
      // without validators selects it (RFC 9111 §4.3.4 case 3); the range is cut from it.
      const rangeStale = await ask(edge.url, '/stale', { headers: { range: 'bytes=0-5' } });
      assert.equal(rangeStale.status, 206);
      assert.equal(rangeStale.text, 'stored');
      assert.equal(rangeStale.cacheStatus['fwd-status'], 304);
      assert.equal(origin.stats.requests - before, 1, 'Range on a stale entry: one request');

      await sleep(SETTLE_MS);
      const settled = origin.stats.requests;
      await sleep(SETTLE_MS);
      assert.equal(origin.stats.requests, settled, 'nothing keeps asking once the clients are answered');
    } finally {
      await edge.close();
      await origin.close();
    }
  });
});

describe('a 304 the edge can tell apart from an attack', () => {
  test('one 304 to a miss, then a 200 to the retry: the 200 is served and stored, detail=unexpected-304', async () => {
    const origin = await customOrigin((_req, res) => {
      if (origin.stats.requests === 1) res.writeHead(304).end();
      else res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"r"' }).end('after one glitch');
    });
    const edge = await edgeFor(origin.url);
    try {
      const res = await ask(edge.url, '/glitch');
      assert.equal(res.status, 200);
      assert.equal(res.text, 'after one glitch');
      assert.equal(res.cacheStatus['fwd-status'], 200);
      assert.equal(res.cacheStatus.stored, true);
      assert.equal(res.cacheStatus.detail, 'unexpected-304');
      assert.equal((await ask(edge.url, '/glitch')).cacheStatus.hit, true);
      assert.equal(origin.stats.requests, 2);
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test("a 304 that answers the client's own If-None-Match (HEAD miss, Range miss, POST) is relayed or refused as RFC 9110 §15.4.5 says", async () => {
    const origin = await customOrigin((_req, res) => {
      res.writeHead(304, { etag: '"c"' });
      res.end();
    });
    const edge = await edgeFor(origin.url);
    try {
      const head = await ask(edge.url, '/own', { method: 'HEAD', headers: { 'if-none-match': '"c"' } });
      assert.equal(head.status, 304, 'the client asked a conditional HEAD: its 304 is relayed');
      const range = await ask(edge.url, '/own-range', { headers: { range: 'bytes=0-1', 'if-none-match': '"c"' } });
      assert.equal(range.status, 304, 'a conditional Range GET: its 304 is relayed');
      const post = await ask(edge.url, '/own-post', { method: 'POST', headers: { 'if-none-match': '"c"' } });
      assert.equal(post.status, 502, 'no 304 answers a POST');
      assert.equal(post.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_PROTOCOL');
      assert.equal(post.cacheStatus['fwd-status'], 304);
      assert.equal(origin.stats.requests, 3, 'one origin request each');
      assert.deepEqual(storedKeys(edge.node), []);
    } finally {
      await edge.close();
      await origin.close();
    }
  });
});

describe('a 304 that answers the conditional the edge itself sent', () => {
  const rows: Array<{ name: string; validators: Record<string, string>; sent: string }> = [
    { name: 'a stored ETag', validators: { etag: '"v1"' }, sent: 'if-none-match' },
    { name: 'a stored Last-Modified', validators: { 'last-modified': 'Sun, 06 Nov 1994 08:49:37 GMT' }, sent: 'if-modified-since' },
  ];
  for (const row of rows) {
    test(`RFC 9111 §4.3.4, RFC 9110 §13.1: a 304 with no validator freshens the response stored with ${row.name}, one origin request per revalidation`, async () => {
      const conditionals: Array<string | undefined> = [];
      const origin = await customOrigin((req, res) => {
        const sent = req.headers[row.sent];
        conditionals.push(typeof sent === 'string' ? sent : undefined);
        if (sent === undefined) {
          res.writeHead(200, { ...row.validators, 'cache-control': 'max-age=0', 'content-type': 'text/plain' });
          res.end('the stored body');
          return;
        }
        // Says the validators matched, and repeats none of them.
        res.writeHead(304);
        res.end();
      });
      const edge = await edgeFor(origin.url);
      try {
        assert.equal((await ask(edge.url, '/r')).text, 'the stored body');
        const REVALIDATIONS = 3;
        for (let i = 1; i <= REVALIDATIONS; i++) {
          const res = await ask(edge.url, '/r');
          assert.equal(res.status, 200);
          assert.equal(res.text, 'the stored body');
          assert.equal(res.cacheStatus.fwd, 'stale');
          assert.equal(res.cacheStatus['fwd-status'], 304);
          assert.equal(origin.stats.requests, 1 + i, 'exactly one origin request per revalidation');
        }
        const validator = Object.values(row.validators)[0];
        assert.deepEqual(conditionals, [undefined, validator, validator, validator], 'every revalidation was conditional');
      } finally {
        await edge.close();
        await origin.close();
      }
    });
  }
});

describe('a 304 that contradicts the stored response', () => {
  test('a different strong ETag: one unconditional refetch, and the new 200 is served and stored', async () => {
    const sent: Array<string | undefined> = [];
    const origin = await customOrigin((req, res) => {
      const inm = req.headers['if-none-match'];
      sent.push(typeof inm === 'string' ? inm : undefined);
      if (sent.length === 1) res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=0' }).end('first');
      else if (inm !== undefined) res.writeHead(304, { etag: '"v2"' }).end();
      else res.writeHead(200, { etag: '"v2"', 'cache-control': 'max-age=60' }).end('second');
    });
    const edge = await edgeFor(origin.url);
    try {
      assert.equal((await ask(edge.url, '/e')).text, 'first');
      const res = await ask(edge.url, '/e');
      assert.equal(res.status, 200);
      assert.equal(res.text, 'second');
      assert.equal(res.cacheStatus.fwd, 'stale');
      assert.equal(res.cacheStatus['fwd-status'], 200);
      assert.equal(res.cacheStatus.stored, true);
      assert.equal(res.cacheStatus.detail, 'mismatched-304');
      assert.deepEqual(sent, [undefined, '"v1"', undefined]);
      const hit = await ask(edge.url, '/e');
      assert.equal(hit.cacheStatus.hit, true);
      assert.equal(hit.text, 'second');
      assert.equal(origin.stats.requests, 3);
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('a different strong ETag, then 304 to the unconditional refetch too: a coded 502 after 2 requests', async () => {
    const origin = await customOrigin((req, res) => {
      if (origin.stats.requests === 1) res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=0' }).end('first');
      else res.writeHead(304, { etag: '"v2"' }).end();
    });
    const edge = await edgeFor(origin.url);
    try {
      assert.equal((await ask(edge.url, '/e2')).text, 'first');
      const res = await ask(edge.url, '/e2');
      assertProtocol502(res, 'stale');
      assert.equal(origin.stats.requests, 3, 'the revalidation and one unconditional refetch');
      await sleep(SETTLE_MS);
      assert.equal(origin.stats.requests, 3);
      const again = await ask(edge.url, '/e2');
      assertProtocol502(again, 'stale');
      assert.equal(origin.stats.requests, 5, 'again two requests, never a loop');
      assert.deepEqual(storedKeys(edge.node).length, 1, 'only the first, stale, response is stored; no 304 was');
    } finally {
      await edge.close();
      await origin.close();
    }
  });
});

describe('an origin that takes the request and never answers', () => {
  /** Holds every request open; the responses are only ended when the origin closes. */
  function hanging(): Promise<Origin> {
    const held: http.ServerResponse[] = [];
    return customOrigin((_req, res) => {
      held.push(res);
    });
  }

  test('a headers timeout is not retried: the origin sees exactly one request, the client a 504', async () => {
    const origin = await hanging();
    const edge = await edgeFor(origin.url, {
      upstream: { headersTimeoutMs: 300 } as ProxyOptions['upstream'],
      pool: { retries: { attempts: 3, backoffMs: 0 } } as ProxyOptions['pool'],
    });
    try {
      for (const method of ['GET', 'HEAD']) {
        const before = origin.stats.requests;
        const res = await ask(edge.url, `/hang-${method}`, { method });
        assert.equal(res.status, 504, method);
        assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_TIMEOUT');
        await sleep(SETTLE_MS);
        assert.equal(origin.stats.requests - before, 1, `${method}: one request reached the origin, no retry`);
      }
    } finally {
      await edge.close();
      await origin.close();
    }
  });

  test('with two origins in a pool, the second does not get the timed-out request either', async () => {
    const a = await hanging();
    const b = await hanging();
    const edge = await edgeFor([a.url, b.url], {
      upstream: { headersTimeoutMs: 300 } as ProxyOptions['upstream'],
      pool: { retries: { attempts: 3, backoffMs: 0 }, balancing: 'weighted-round-robin' } as ProxyOptions['pool'],
    });
    try {
      const res = await ask(edge.url, '/hang-pool');
      assert.equal(res.status, 504);
      assert.equal(res.headers['x-mini-cdn-error'], 'MCDN_UPSTREAM_TIMEOUT');
      await sleep(SETTLE_MS);
      assert.equal(a.stats.requests + b.stats.requests, 1, `origins saw ${a.stats.requests} + ${b.stats.requests} requests`);
    } finally {
      await edge.close();
      await a.close();
      await b.close();
    }
  });
});
