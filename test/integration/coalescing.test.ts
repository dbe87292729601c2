// Request coalescing: concurrent misses for one key make one origin request; waiters never get a
// response that is private, not storable for them, or for another variant, and when they cannot
// share they all go to the origin at once rather than one after another.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom } from '../helpers/harness.js';

const CONCURRENCY = 20;

/** An origin whose answers wait until `release()`, so every request is surely concurrent. */
async function gatedOrigin(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const waiting: Array<() => void> = [];
  let open = false;
  const origin = await customOrigin((req, res) => {
    if (open) answer(req, res);
    else waiting.push(() => answer(req, res));
  });
  return {
    origin,
    release() {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
  };
}

async function withProxy(originUrl: string, run: (url: string, node: ReturnType<typeof createProxyNode>) => Promise<void>): Promise<void> {
  const node = createProxyNode({ origin: originUrl });
  const url = await node.listen(0);
  try {
    await run(url, node);
  } finally {
    await node.close();
  }
}

/** Fires requests, waits until the proxy has forwarded the first, then lets the origin answer. */
async function stampede(url: string, gate: { release(): void; origin: { stats: { requests: number } } }, headersOf: (i: number) => Record<string, string>) {
  const pending = Array.from({ length: CONCURRENCY }, (_, i) => fetchFrom(url, 'GET', '/item', { headers: headersOf(i) }));
  while (gate.origin.stats.requests === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100)); // let every request reach the proxy
  gate.release();
  return Promise.all(pending);
}

describe('coalescing', () => {
  test('concurrent misses for one URL make exactly one origin request', async () => {
    const gate = await gatedOrigin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end('shared body');
    });
    await withProxy(gate.origin.url, async (url) => {
      const results = await stampede(url, gate, () => ({}));
      assert.equal(gate.origin.stats.requests, 1);
      assert.ok(results.every((r) => r.text === 'shared body'));
      assert.equal(results.filter((r) => r.cacheStatus.collapsed === true).length, CONCURRENCY - 1);
      assert.equal(results.filter((r) => r.cacheStatus.fwd === 'uri-miss').length, CONCURRENCY);
    });
    await gate.origin.close();
  });

  test('waiters for a private response each make their own request, all at once', async () => {
    let n = 0;
    const gate = await gatedOrigin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(`user ${++n}`);
    });
    await withProxy(gate.origin.url, async (url) => {
      const first = stampede(url, gate, () => ({}));
      // The first origin request is held until release; the waiters' own requests come after it
      // and are answered at once, so their concurrency shows in the origin's peak.
      const results = await first;
      assert.equal(gate.origin.stats.requests, CONCURRENCY);
      assert.equal(new Set(results.map((r) => r.text)).size, CONCURRENCY, 'nobody got another user\'s response');
      assert.ok(results.every((r) => r.cacheStatus.detail === 'private'));
    });
    await gate.origin.close();
  });

  test('the waiters of a non-shareable response go to the origin concurrently', async () => {
    let phase = 0;
    const holds: Array<() => void> = [];
    const origin = await customOrigin((_req, res) => {
      const answer = (): void => {
        res.writeHead(200, { 'cache-control': 'no-store' });
        res.end('x');
      };
      if (phase++ === 0) setTimeout(answer, 100);
      else holds.push(answer); // held until all waiters arrived, proving they did not queue
      if (holds.length === CONCURRENCY - 1) for (const go of holds.splice(0)) go();
    });
    await withProxy(origin.url, async (url) => {
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => fetchFrom(url, 'GET', '/nostore')));
      assert.equal(origin.stats.requests, CONCURRENCY);
      assert.ok(origin.stats.peak >= CONCURRENCY - 1, `peak concurrency ${origin.stats.peak}`);
      assert.ok(results.every((r) => r.status === 200));
    });
    await origin.close();
  });

  test('waiters of another Vary variant get their own variant, never the leader\'s', async () => {
    const gate = await gatedOrigin((req, res) => {
      const lang = String(req.headers['accept-language'] ?? 'en');
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language', 'content-language': lang });
      res.end(`body in ${lang}`);
    });
    await withProxy(gate.origin.url, async (url) => {
      const langs = ['en', 'fr', 'de', 'it'];
      const results = await stampede(url, gate, (i) => ({ 'accept-language': langs[i % langs.length] as string }));
      results.forEach((r, i) => assert.equal(r.text, `body in ${langs[i % langs.length]}`));
      // the leader and the 4 others of its language share one fetch; the 15 others fetch their own
      assert.equal(gate.origin.stats.requests, 1 + CONCURRENCY - CONCURRENCY / langs.length);
      const again = await Promise.all(langs.map((l) => fetchFrom(url, 'GET', '/item', { headers: { 'accept-language': l } })));
      again.forEach((r, i) => {
        assert.equal(r.text, `body in ${langs[i]}`);
        assert.equal(r.cacheStatus.hit, true);
      });
    });
    await gate.origin.close();
  });

  test('a waiter with Authorization does not get a response stored for anonymous users', async () => {
    const gate = await gatedOrigin((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end(req.headers.authorization ? 'for the user' : 'anonymous');
    });
    await withProxy(gate.origin.url, async (url) => {
      const results = await stampede(url, gate, (i): Record<string, string> => (i % 2 ? { authorization: 'Bearer t' } : {}));
      results.forEach((r, i) => assert.equal(r.text, i % 2 ? 'for the user' : 'anonymous'));
    });
    await gate.origin.close();
  });

  test('concurrent stale requests make one revalidation', async () => {
    let n = 0;
    const origin = await customOrigin((req, res) => {
      n++;
      if (req.headers['if-none-match'] === '"v1"') {
        setTimeout(() => {
          res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
          res.end();
        }, 100);
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=60', age: '100' });
      res.end('v1');
    });
    await withProxy(origin.url, async (url, node) => {
      await fetchFrom(url, 'GET', '/s');
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => fetchFrom(url, 'GET', '/s')));
      assert.equal(n, 2);
      assert.ok(results.every((r) => r.text === 'v1' && r.cacheStatus['fwd-status'] === 304));
      // Counted per origin fetch: one revalidation answered 304, the rest waited on it.
      const stats = node.engine.stats();
      assert.deepEqual([stats.revalidations, stats.notModified, stats.collapsed], [1, 1, CONCURRENCY - 1]);
    });
    await origin.close();
  });

  test('a failed fetch that waiters shared counts as one upstream error', async () => {
    const origin = await customOrigin((req) => {
      setTimeout(() => req.socket.destroy(), 100);
    });
    try {
      await withProxy(origin.url, async (url, node) => {
        const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => fetchFrom(url, 'GET', '/broken')));
        assert.ok(results.every((r) => r.status === 502), results.map((r) => r.status).join(','));
        const stats = node.engine.stats();
        assert.equal(stats.misses + stats.collapsed, CONCURRENCY, JSON.stringify(stats));
        assert.equal(stats.upstreamErrors, stats.misses, JSON.stringify(stats));
        // An idempotent GET is retried on a reset connection, so the origin may see a few attempts.
        assert.ok(origin.stats.requests >= stats.misses);
      });
    } finally {
      await origin.close();
    }
  });
});
