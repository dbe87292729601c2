// The origin pool against real origins on port 0: weighted and least-busy balancing, fail-over
// from refused, killed, resetting and hanging origins, passive ejection with half-open return,
// active health checks (every origin down: origin-pool-down.test.ts). No timed assertions: tests poll
// stats with a deadline, and only let timers run where ejection must expire.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { OriginPool } from '../../proxy/upstream/origin-pool.js';
import type { Upstream } from '../../proxy/upstream/origin-pool.js';
import { closedPort, customOrigin, rawOrigin, waitFor } from '../helpers/harness.js';
import { makePool, named, rejection, send } from '../helpers/origin-pool.js';

describe('origin pool', () => {
  test('weighted round-robin: 70 GETs over weights 5,1,1 give 50/10/10', async () => {
    const origins = [await named('a'), await named('b'), await named('c')];
    const pool = makePool(origins.map((o, i) => ({ url: o.url, weight: [5, 1, 1][i] ?? 1 })));
    // Compile-time: the pool fits wherever the engine holds an OriginClient's surface.
    const upstream: Upstream = pool;
    try {
      assert.equal(typeof upstream.request, 'function');
      const bodies: Record<string, number> = {};
      for (let i = 0; i < 70; i++) {
        const res = await send(pool, `/item/${i}`);
        assert.equal(res.status, 200);
        bodies[res.text] = (bodies[res.text] ?? 0) + 1;
      }
      assert.deepEqual(bodies, { a: 50, b: 10, c: 10 });
      assert.deepEqual(origins.map((o) => o.stats.requests), [50, 10, 10]);
      const stats = pool.stats();
      assert.deepEqual(stats.origins.map((o) => o.requests), [50, 10, 10]);
      assert.deepEqual(stats.origins.map((o) => o.inFlight), [0, 0, 0]);
      assert.ok(stats.origins.every((o) => o.healthy && o.ejectedUntilMs === undefined && o.failures === 0 && o.latencyMs !== undefined));
    } finally {
      await pool.close();
      await Promise.all(origins.map((o) => o.close()));
    }
  });

  test('least-busy: while the heavier origin holds a request, new ones go to the other', async () => {
    const held: http.ServerResponse[] = [];
    let holding = true;
    const slow = await customOrigin((_req, res) => {
      if (holding) held.push(res);
      else res.end('slow');
    });
    const fast = await named('fast');
    const pool = makePool(
      [
        { url: slow.url, weight: 5 },
        { url: fast.url, weight: 1 },
      ],
      { balancing: 'least-busy' },
    );
    try {
      const pending = pool.request({ method: 'GET', path: '/held', headers: {} });
      await waitFor(() => slow.stats.inFlight === 1);
      assert.equal(slow.stats.inFlight, 1, 'the first request (a tie) went to the heavier origin');
      assert.equal(pool.stats().origins[0]?.inFlight, 1);
      for (let i = 0; i < 5; i++) assert.equal((await send(pool, `/n${i}`)).text, 'fast');
      assert.equal(slow.stats.requests, 1);
      assert.equal(fast.stats.requests, 5);
      holding = false;
      for (const res of held) res.end('slow');
      const res = await pending;
      assert.equal(await res.body.text(), 'slow');
      await waitFor(() => pool.stats().origins.every((o) => o.inFlight === 0));
      assert.deepEqual(pool.stats().origins.map((o) => o.inFlight), [0, 0]);
      assert.equal((await send(pool, '/idle')).text, 'slow', 'with both idle again, the tie goes to the heavier one');
    } finally {
      await pool.close();
      await slow.close();
      await fast.close();
    }
  });

  test('fail-over: a refusing origin is ejected, skipped until ejectMs passes, then tried again', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const live = await named('live');
    const pool = makePool(
      [
        { url: dead, weight: 1 },
        { url: live.url, weight: 1 },
      ],
      { passiveEjection: { failures: 2, windowMs: 60_000, ejectMs: 800 }, retries: { attempts: 1, backoffMs: 5 } },
    );
    const deadStats = () => pool.stats().origins[0];
    try {
      for (let i = 0; i < 20 && deadStats()?.ejectedUntilMs === undefined; i++) {
        const res = await send(pool, `/a${i}`);
        assert.equal(res.status, 200);
        assert.equal(res.text, 'live');
      }
      const ejected = deadStats();
      assert.ok(ejected?.ejectedUntilMs !== undefined, 'the refusing origin was ejected');
      assert.equal(ejected.requests, 2);
      assert.equal(ejected.failures, 2);
      const until = ejected.ejectedUntilMs;

      // While ejected it gets nothing (checked only for requests that finished before the end).
      for (let i = 0; i < 10; i++) {
        const res = await send(pool, `/b${i}`);
        assert.equal(res.text, 'live');
        if (Date.now() < until) assert.equal(deadStats()?.requests, 2, 'an ejected origin is not tried');
      }

      // Half-open after ejectMs: tried again; its failure ejects it at once, the GET still succeeds.
      await waitFor(() => Date.now() > until, 5_000);
      for (let i = 0; i < 4 && deadStats()?.requests === 2; i++) assert.equal((await send(pool, `/c${i}`)).text, 'live');
      const again = deadStats();
      assert.equal(again?.requests, 3, 'tried again after the ejection');
      assert.ok(again.ejectedUntilMs !== undefined && again.ejectedUntilMs > until, 'one failure while half-open ejects it again');
    } finally {
      await pool.close();
      await live.close();
    }
  });

  test('an origin killed while requests flow: everything after goes to the other', async () => {
    const doomed = await named('doomed');
    const survivor = await named('survivor');
    const pool = makePool([
      { url: doomed.url, weight: 1 },
      { url: survivor.url, weight: 1 },
    ]);
    const results: Array<{ afterKill: boolean; ok: boolean; text: string }> = [];
    let killed = false;
    let stop = false;
    const worker = async (id: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const afterKill = killed;
        try {
          const res = await send(pool, `/w${id}/${i}`);
          results.push({ afterKill, ok: res.status === 200, text: res.text });
        } catch (err) {
          results.push({ afterKill, ok: false, text: String(err) });
        }
      }
    };
    try {
      const workers = [0, 1, 2, 3].map((id) => worker(id));
      await waitFor(() => results.length >= 20);
      await doomed.close();
      killed = true;
      const doomedSeen = doomed.stats.requests;
      await waitFor(() => results.filter((r) => r.afterKill).length >= 40, 10_000);
      stop = true;
      await Promise.all(workers);
      const after = results.filter((r) => r.afterKill);
      assert.ok(after.length >= 40);
      assert.deepEqual(after.filter((r) => !r.ok || r.text !== 'survivor'), [], 'every request after the kill succeeded on the survivor');
      assert.ok(results.some((r) => !r.afterKill && r.text === 'doomed'), 'the doomed origin served before the kill');
      assert.equal(doomed.stats.requests, doomedSeen);
    } finally {
      stop = true;
      await pool.close();
      await survivor.close();
    }
  });

  test('a connection reset after the request arrived: a POST is not retried, a GET is', async () => {
    const seen: string[] = [];
    const resetting = await rawOrigin((socket, request) => {
      seen.push(request.split(' ')[0] ?? '');
      socket.destroy();
    });
    const good = await named('good');
    // least-busy with both idle always starts with the first origin.
    const pool = makePool(
      [
        { url: resetting.url, weight: 1 },
        { url: good.url, weight: 1 },
      ],
      { balancing: 'least-busy', passiveEjection: { failures: 100, windowMs: 60_000, ejectMs: 60_000 } },
    );
    try {
      const err = await rejection(send(pool, '/submit', 'POST', 'payload'));
      assert.equal(err.status, 502);
      assert.match(err.code, /^MCDN_UPSTREAM_(CONNECT|FAILED|PROTOCOL)$/);
      assert.deepEqual(seen, ['POST'], 'the origin saw exactly one POST');
      assert.equal(good.stats.requests, 0, 'the POST was not sent anywhere else');

      const res = await send(pool, '/page');
      assert.equal(res.status, 200);
      assert.equal(res.text, 'good');
      assert.equal(good.stats.requests, 1);
      assert.ok(seen.includes('GET'), 'the GET went to the resetting origin first');
    } finally {
      await pool.close();
      await resetting.close();
      await good.close();
    }
  });

  test('a POST to a refusing origin (nothing sent) goes to another one with its body', async () => {
    const bodies: string[] = [];
    const good = await customOrigin((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push(`${req.method} ${body}`);
        res.end('stored');
      });
    });
    const pool = makePool(
      [
        { url: `http://127.0.0.1:${await closedPort()}`, weight: 1 },
        { url: good.url, weight: 1 },
      ],
      { balancing: 'least-busy' },
    );
    try {
      const res = await send(pool, '/submit', 'POST', 'payload');
      assert.equal(res.status, 200);
      assert.equal(res.text, 'stored');
      assert.deepEqual(bodies, ['POST payload']);
      assert.equal(pool.stats().origins[0]?.failures, 1);
    } finally {
      await pool.close();
      await good.close();
    }
  });

  test('per-origin timeouts: a headers timeout is tried again for no method, GET included', async () => {
    let hung = 0;
    const hanging = await rawOrigin(() => {
      hung++;
    });
    const good = await named('good');
    const pool = makePool(
      [
        { url: hanging.url, weight: 1, timeouts: { headersMs: 200 } },
        { url: good.url, weight: 1 },
      ],
      { balancing: 'least-busy', passiveEjection: { failures: 100, windowMs: 60_000, ejectMs: 60_000 } },
    );
    try {
      // The origin got the request: another attempt would double its load and the client's wait.
      for (const method of ['GET', 'POST']) {
        const err = await rejection(pool.request({ method, path: '/slow', headers: {} }));
        assert.equal(err.code, 'MCDN_UPSTREAM_TIMEOUT', `${method}: the default headers timeout (10 s) was overridden`);
      }
      assert.equal(hung, 2);
      assert.equal(good.stats.requests, 0, 'neither request was sent to the other origin');
      assert.equal(pool.stats().origins[0]?.failures, 2, 'the timeouts count against the slow origin');
    } finally {
      await pool.close();
      await hanging.close();
      await good.close();
    }
  });

  test('active health checks take a failing origin out of rotation and bring it back', async () => {
    const HEALTHY_AFTER = 2;
    const UNHEALTHY_AFTER = 3;
    let mode: 'ok' | 'fail' = 'ok';
    let checks = 0;
    let dataA = 0;
    let dataB = 0;
    /** The pool's verdict on A when each check was served, by the answer given. */
    const verdicts: { fail: boolean[]; recover: boolean[] } = { fail: [], recover: [] };
    const ref: { pool?: OriginPool } = {};
    let recovering = false;
    const a = await customOrigin((req, res) => {
      if (req.url !== '/healthz') {
        dataA++;
        return res.end('a');
      }
      checks++;
      const healthy = ref.pool?.stats().origins[0]?.healthy ?? true;
      if (mode === 'fail') verdicts.fail.push(healthy);
      else if (recovering) verdicts.recover.push(healthy);
      res.statusCode = mode === 'fail' ? 500 : 204;
      res.end();
    });
    const b = await customOrigin((req, res) => {
      if (req.url !== '/healthz') dataB++;
      res.end('b');
    });
    const pool = makePool(
      [
        { url: a.url, weight: 1 },
        { url: b.url, weight: 1 },
      ],
      { healthCheck: { path: '/healthz', intervalMs: 50, timeoutMs: 1_000, healthyAfter: HEALTHY_AFTER, unhealthyAfter: UNHEALTHY_AFTER } },
    );
    ref.pool = pool;
    const healthyA = () => pool.stats().origins[0]?.healthy;
    try {
      pool.start();
      await waitFor(() => checks >= 2);
      assert.ok(checks >= 2, 'checks run');
      for (let i = 0; i < 4; i++) await send(pool, `/before${i}`);
      assert.equal(dataA, 2);

      mode = 'fail';
      await waitFor(() => healthyA() === false);
      assert.equal(healthyA(), false, 'the origin went unhealthy');
      assert.ok(verdicts.fail.length >= UNHEALTHY_AFTER);
      assert.deepEqual(verdicts.fail.slice(0, UNHEALTHY_AFTER), new Array(UNHEALTHY_AFTER).fill(true), `still healthy until ${UNHEALTHY_AFTER} failed checks`);

      const aBefore = dataA;
      const bBefore = dataB;
      for (let i = 0; i < 10; i++) assert.equal((await send(pool, `/during${i}`)).text, 'b');
      assert.equal(dataA, aBefore, 'traffic avoids the unhealthy origin');
      assert.equal(dataB, bBefore + 10);

      recovering = true;
      mode = 'ok';
      await waitFor(() => healthyA() === true);
      assert.equal(healthyA(), true, 'the origin came back');
      assert.ok(verdicts.recover.length >= HEALTHY_AFTER);
      assert.deepEqual(verdicts.recover.slice(0, HEALTHY_AFTER), new Array(HEALTHY_AFTER).fill(false), `unhealthy until ${HEALTHY_AFTER} good checks`);
      for (let i = 0; i < 4; i++) await send(pool, `/after${i}`);
      assert.equal(dataA, aBefore + 2, 'traffic returns');
    } finally {
      await pool.close();
      await a.close();
      await b.close();
    }
  });
});
