// The origin pool with every origin down: one request at a time still tries the origins, requests
// arriving together get the trying one's answer at once, and recovery is noticed.
// No timed assertions: tests poll stats with a deadline.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { closedPort, customOrigin, waitFor } from '../helpers/harness.js';
import { makePool, rejection, send } from '../helpers/origin-pool.js';

describe('origin pool, every origin down', () => {
  test('every origin down: each is tried once, then MCDN_NO_HEALTHY_ORIGIN; later requests still try them', async () => {
    const urls = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
    const pool = makePool(
      urls.map((url) => ({ url, weight: 1 })),
      { passiveEjection: { failures: 1, windowMs: 60_000, ejectMs: 60_000 }, retries: { attempts: 2, backoffMs: 1 } },
    );
    try {
      const err = await rejection(send(pool, '/x'));
      assert.equal(err.code, 'MCDN_NO_HEALTHY_ORIGIN');
      assert.equal(err.status, 503);
      assert.deepEqual(pool.stats().origins.map((o) => [o.requests, o.failures]), [[1, 1], [1, 1], [1, 1]], 'every origin was tried once');
      assert.ok(pool.stats().origins.every((o) => o.ejectedUntilMs !== undefined));

      // All ejected: the pool falls back to trying them anyway rather than refusing outright.
      const again = await rejection(send(pool, '/y'));
      assert.equal(again.code, 'MCDN_NO_HEALTHY_ORIGIN');
      assert.deepEqual(pool.stats().origins.map((o) => o.requests), [2, 2, 2]);
    } finally {
      await pool.close();
    }
  });
  test('every origin down and requests arrive together: one tries the origins, the others get its answer at once', async () => {
    const port = await closedPort();
    const pool = makePool([{ url: `http://127.0.0.1:${port}`, weight: 1 }], { passiveEjection: { failures: 1, windowMs: 60_000, ejectMs: 60_000 }, retries: { attempts: 1, backoffMs: 1 } });
    const attempts = () => pool.stats().origins[0]?.requests;
    let revived: http.Server | undefined;
    try {
      const first = await rejection(send(pool, '/first'));
      assert.equal(first.code, 'MCDN_NO_HEALTHY_ORIGIN', 'one failure ejected the only origin');
      assert.equal(attempts(), 2);

      // Ten at once: the first one tries (two attempts, as a lone request would); nine fail fast.
      const together = await Promise.all(Array.from({ length: 10 }, (_, i) => rejection(send(pool, `/together${i}`))));
      assert.deepEqual(new Set(together.map((err) => `${err.code} ${err.status} ${err.message}`)), new Set([`MCDN_NO_HEALTHY_ORIGIN 503 ${first.message}`]));
      assert.equal(attempts(), 4, 'only the first of them reached for the origin');
      assert.equal(pool.stats().failedFast, 9);

      // Alone again: tried, as before (the fallback to an ejected origin is kept).
      assert.equal((await rejection(send(pool, '/alone'))).code, 'MCDN_NO_HEALTHY_ORIGIN');
      assert.equal(attempts(), 6);
      assert.equal(pool.stats().failedFast, 9);

      // The origin comes back: the next request finds it, and nothing fails fast after that.
      revived = http.createServer((_req, res) => res.end('back'));
      await new Promise<void>((resolve) => revived?.listen(port, '127.0.0.1', resolve));
      assert.equal((await send(pool, '/back')).text, 'back');
      const after = await Promise.all(Array.from({ length: 10 }, (_, i) => send(pool, `/after${i}`)));
      assert.deepEqual(after.map((r) => r.text), new Array(10).fill('back'));
      assert.equal(pool.stats().failedFast, 9);
    } finally {
      await pool.close();
      if (revived) {
        revived.closeAllConnections();
        await new Promise<void>((resolve) => revived?.close(() => resolve()));
      }
    }
  });

  test('an origin the checks call unhealthy but that answers: requests together all go to it', async () => {
    const origin = await customOrigin((req, res) => {
      res.statusCode = req.url === '/healthz' ? 500 : 200;
      res.end('served');
    });
    const pool = makePool([{ url: origin.url, weight: 1 }], { healthCheck: { path: '/healthz', intervalMs: 50, timeoutMs: 1_000, healthyAfter: 1, unhealthyAfter: 1 } });
    try {
      pool.start();
      await waitFor(() => pool.stats().origins[0]?.healthy === false);
      assert.equal(pool.stats().origins[0]?.healthy, false);
      // Unhealthy without a failed attempt is no reason to refuse: every one is tried, and served.
      const together = await Promise.all(Array.from({ length: 10 }, (_, i) => send(pool, `/x${i}`)));
      assert.deepEqual(together.map((r) => r.text), new Array(10).fill('served'));
      assert.equal(pool.stats().failedFast, 0);
    } finally {
      await pool.close();
      await origin.close();
    }
  });

  const refused: Array<{ name: string; path: string; headers: Record<string, string> }> = [
    { name: 'a field value undici refuses', path: '/x', headers: { 'x-bad': 'a\nb' } },
    { name: 'a path that is not absolute', path: 'relative', headers: {} },
  ];
  for (const row of refused) {
    test(`${row.name}: a rejected promise with a MiniCdnError, never a throw`, async () => {
      const pool = makePool([{ url: `http://127.0.0.1:${await closedPort()}`, weight: 1 }]);
      try {
        let pending: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          pending = pool.request({ method: 'GET', path: row.path, headers: row.headers });
        });
        const err = await rejection(pending as Promise<unknown>);
        assert.equal(err.code, 'MCDN_UPSTREAM_FAILED');
        assert.equal(pool.stats().origins[0]?.failures, 0, 'a local fault says nothing about the origin');
      } finally {
        await pool.close();
      }
    });
  }
});
