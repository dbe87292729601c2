// A fail-over announced while the bus is reconnecting. ioredis's failover detector (subscribed
// to +switch-master on the sentinels) outlives the connection it watched: when the announcement
// arrives while the next reconnect is still asking a sentinel for the master, the detector cuts
// that reconnect off, and ioredis gives the client up for good (status 'end': every command
// fails "Connection is closed." and it never connects again). On a real setup this is a race of
// milliseconds (a killed primary, its clients reconnecting while the sentinels vote); here a
// sentinel of the test's own (test/helpers/fake-sentinel.ts) holds the master's address back
// while it announces the switch, so the window is always hit. Real redis-server (free port,
// stopped by PID), an in-process edge and a publisher on real sockets, an origin that counts.
// Also: no sentinel answering at all. ioredis then asks them again and again, and its connect()
// never settles; a publish must still fail as MCDN_BUS_UNAVAILABLE (and be retried), not hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Redis } from 'ioredis';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions } from '../../edge/bus/types.js';
import { createRedisBus } from '../../edge/bus/index.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import { customOrigin, fetchFrom, waitFor } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startFakeSentinel } from '../helpers/fake-sentinel.js';
import type { FakeSentinel } from '../helpers/fake-sentinel.js';
import { freePort } from '../../bench/processes.js';
import { MiniCdnError } from '../../common/errors.js';

const signing = { current: 'k1', keys: { k1: 'sentinel-race-secret' } };
/** Generous bound for anything the bus must do (reconnect, deliver); never asserted on. */
const PATIENCE_MS = 15_000;

test('a +switch-master that lands while every connection is asking the sentinel for the master: the bus reconnects, the purge is published, applied and confirmed', async (t) => {
  const server = await startRedisServer();
  const sentinel = await startFakeSentinel(server.port, 'm');
  const hits = new Map<string, number>();
  const origin = await customOrigin((req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
    res.end(`${path} v${n}`);
  });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
  admin.on('error', () => undefined);
  const url = `redis-sentinel://127.0.0.1:${sentinel.port}/m`;
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, signing, namespace: `sentinel-race-${process.pid}` };
  const edge = createEdgeNode({ id: 'race-edge', proxy: { origin: origin.url }, bus: createRedisBus(url, options), signing });
  const publisher = createRedisBus(url, options);
  t.after(async () => {
    await publisher.close();
    await edge.close();
    admin.disconnect();
    await origin.close();
    await sentinel.close();
    await server.stop();
  });
  const edgeUrl = await edge.start(0);
  // A first purge with a receipt: the publisher has its command and its ack-subscriber connections.
  const first = await publishInvalidation(publisher, { urls: [`${origin.url}/warm`] }, { waitMs: PATIENCE_MS, retryForMs: PATIENCE_MS });
  assert.deepEqual(first.receipt?.confirmed.map((c) => c.edgeId), ['race-edge']);
  // Four connections (the edge's two, the publisher's two), each with a failover detector subscribed.
  await waitFor(() => sentinel.subscribers() >= 4, PATIENCE_MS);
  assert.equal(sentinel.subscribers(), 4, 'every connection has a failover detector');
  const path = '/purged';
  await fetchFrom(edgeUrl, 'GET', path);
  assert.equal((await fetchFrom(edgeUrl, 'GET', path)).cacheStatus.hit, true, `${path} is cached`);

  // Redis drops every client; each reconnect asks the sentinel for the master, and waits.
  sentinel.holdResolves();
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal'); // skips this connection (SKIPME yes)
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  await waitFor(() => sentinel.held() >= 4, PATIENCE_MS);
  assert.equal(sentinel.held(), 4, 'every connection is resolving the master');
  // The fail-over is announced: the old connections' detectors fire (and close their own sentinel links).
  sentinel.announceSwitch();
  await waitFor(() => sentinel.subscribers() === 0, PATIENCE_MS);
  assert.equal(sentinel.subscribers(), 0, 'every failover detector fired');
  sentinel.release();

  const before = hits.get(path) ?? 0;
  const { message, receipt } = await publishInvalidation(publisher, { urls: [`${origin.url}${path}`] }, { waitMs: PATIENCE_MS, retryForMs: PATIENCE_MS });
  assert.equal(message.seq, 2);
  assert.equal(await admin.get(`${options.namespace}:seq`), '2', 'published on the master');
  assert.deepEqual(receipt?.confirmed.map((c) => c.edgeId), ['race-edge'], `the edge confirmed the purge: ${JSON.stringify(receipt)}`);
  assert.deepEqual(receipt?.unknown, []);
  const res = await fetchFrom(edgeUrl, 'GET', path);
  assert.equal(res.cacheStatus.fwd, 'uri-miss', `the purge was applied: ${JSON.stringify(res.cacheStatus)} ${JSON.stringify(edge.bus.stats())}`);
  assert.equal(res.text, `${path} v${before + 1}`, 'the edge serves the new body');
  assert.equal(hits.get(path), before + 1, 'the miss reached the origin');
  await waitFor(() => edge.bus.state() === 'in-sync' && edge.bus.leaseValid(), PATIENCE_MS);
  assert.equal(edge.bus.state(), 'in-sync');
  assert.equal(edge.bus.leaseValid(), true, 'the edge holds its lease again');
});

test('no sentinel answers: a publish fails as MCDN_BUS_UNAVAILABLE instead of hanging, and a retrying publisher gets through once one answers', async (t) => {
  const server = await startRedisServer();
  const sentinelPort = await freePort(); // nothing listens there yet
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, signing, namespace: `sentinel-silent-${process.pid}` };
  const publisher = createRedisBus(`redis-sentinel://127.0.0.1:${sentinelPort}/m`, options);
  const started: FakeSentinel[] = [];
  t.after(async () => {
    await publisher.close();
    for (const sentinel of started) await sentinel.close();
    await server.stop();
  });
  // A hang bound, not a timing assertion: the bus's own bound is 3 x commandTimeoutMs.
  const HANG_MS = 60_000;
  let hangTimer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (hangTimer = setTimeout(() => resolve('hung'), HANG_MS)));
  const outcome = await Promise.race([publisher.publish({ all: true }).then(() => 'published', (err: unknown) => err), hung]);
  clearTimeout(hangTimer);
  assert.ok(outcome instanceof MiniCdnError && outcome.code === 'MCDN_BUS_UNAVAILABLE', `the publish failed as unavailable: ${String(outcome)}`);
  // A publisher that retries: the sentinel comes up meanwhile, and the publish goes through.
  const retried = publishInvalidation(publisher, { all: true }, { retryForMs: PATIENCE_MS * 2 });
  started.push(await startFakeSentinel(server.port, 'm', sentinelPort));
  const { message } = await retried;
  assert.equal(message.seq, 1);
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
  admin.on('error', () => undefined);
  try {
    assert.equal(await admin.get(`${options.namespace}:seq`), '1', 'published on the master');
  } finally {
    admin.disconnect();
  }
});
