// Callbacks that hold under partition (issue 11), with real faults, never mocks: three
// callback-mode edges on a redis-server of this file's own, the third behind a TCP relay. Its
// link is cut (bytes held both ways, half-open, reset, its subscriber killed and kept out), or
// Redis is frozen (SIGSTOP) or restarted empty. Asserted: what the edges SERVE after a receipt
// said complete (never the purged body; the cut edge never from the callback's extension), what
// the RECEIPT says (the cut edge lapsed, never confirmed; a reset registry never complete), and
// that after the fault heals the cut edge is in sync again and a new purge is confirmed by all.
// No timing is asserted; every wait is bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisBus } from '../../edge/bus/index.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import type { OwnRedis } from '../helpers/redis-server.js';
import {
  EDGE_IDS, primeExtended, purgeWithReceipt, registryTrusted, relayedClients, servedEverywhere, startPartitionCluster, trusting, until,
} from '../helpers/bus-partition.js';
import type { PartitionCluster } from '../helpers/bus-partition.js';

let redis: OwnRedis;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  if (redis?.pid !== undefined) process.kill(redis.pid, 'SIGCONT'); // never leave it frozen
  await redis?.stop();
});

const ids = (list: Array<{ edgeId: string }>): string[] => list.map((e) => e.edgeId);

/** After a complete receipt: every edge serves the new body, the cut one not on the callback's word. */
async function assertNothingStale(c: PartitionCluster, path: string): Promise<void> {
  const answers = await servedEverywhere(c, path);
  for (const [i, res] of answers.entries()) {
    assert.equal(res.status, 200);
    assert.equal(res.text, 'new', `${EDGE_IDS[i]} served ${JSON.stringify(res.text)} after a complete receipt (Cache-Status ${JSON.stringify(res.cacheStatus)})`);
  }
  assert.notEqual(answers[2]?.cacheStatus.detail, 'callback', 'the cut edge does not extend a copy past freshness');
}

/** The fault is gone: the cut edge is back in sync with a lease, and a new purge is confirmed by all three. */
async function assertHealed(c: PartitionCluster, path: string): Promise<void> {
  await until(() => c.edges.every(trusting));
  for (const edge of c.edges) assert.ok(trusting(edge), `${edge.id} is in sync with a lease again: ${JSON.stringify(edge.bus.stats())}`);
  assert.equal(c.cut.bus.stats().state, 'in-sync');
  c.origin.setResource(path, { body: 'newer', headers: { 'cache-control': 'max-age=0' } });
  const receipt = await purgeWithReceipt(c, path, 15_000);
  assert.deepEqual(ids(receipt.confirmed), [...EDGE_IDS], JSON.stringify(receipt));
  assert.deepEqual([receipt.lapsed, receipt.unknown, receipt.complete], [[], [], true]);
  for (const res of await servedEverywhere(c, path)) assert.equal(res.text, 'newer');
}

interface Cut {
  name: string;
  cut(c: PartitionCluster): Promise<void>;
  heal(c: PartitionCluster): Promise<void>;
}

const cuts: Cut[] = [
  { name: 'bytes held both ways (sockets stay open)', cut: async (c) => c.relay.setMode('hold'), heal: async (c) => c.relay.setMode('forward') },
  { name: 'half-open: commands reach Redis, no answer comes back', cut: async (c) => c.relay.setMode('half-open'), heal: async (c) => c.relay.setMode('forward') },
  { name: 'connections reset, and every reconnect too', cut: async (c) => c.relay.setMode('reset'), heal: async (c) => c.relay.setMode('forward') },
  {
    name: 'its subscriber killed (CLIENT KILL TYPE pubsub) and kept from reconnecting',
    cut: async (c) => {
      c.relay.setMode('refuse-new');
      const [subscriber] = await relayedClients(c, 'pubsub');
      assert.ok(subscriber, 'the cut edge has a subscriber connection through the relay');
      assert.equal(await c.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ADDR', subscriber), 1);
    },
    heal: async (c) => c.relay.setMode('forward'),
  },
];

describe('one edge of three cut off from Redis: a complete receipt still means nobody serves the purged copy', () => {
  for (const fault of cuts) {
    test(fault.name, async () => {
      const c = await startPartitionCluster(redis);
      try {
        await registryTrusted(c);
        const path = `/cut-${cuts.indexOf(fault)}`;
        await primeExtended(c, path, 'old');
        c.origin.setResource(path, { body: 'new', headers: { 'cache-control': 'max-age=0' } });
        await fault.cut(c);
        const receipt = await purgeWithReceipt(c, path); // published at once: the cut edge may still hold a lease
        assert.deepEqual(ids(receipt.confirmed), ['edge-a', 'edge-b'], JSON.stringify(receipt));
        assert.deepEqual(receipt.lapsed, ['edge-cut'], `the cut edge is named, as lapsed: ${JSON.stringify(receipt)}`);
        assert.deepEqual(receipt.unknown, []);
        assert.equal(receipt.complete, true);
        await assertNothingStale(c, path);
        assert.equal(c.cut.bus.leaseValid(), false, 'the cut edge trusts no copy past freshness');
        await fault.heal(c);
        await assertHealed(c, path);
      } finally {
        await c.close();
      }
    });
  }

  test('a receipt whose wait ends before the cut edge\'s lease names it unknown, never confirmed, and is not complete', async () => {
    const c = await startPartitionCluster(redis);
    try {
      await registryTrusted(c);
      const path = '/cut-short-wait';
      await primeExtended(c, path, 'old');
      c.relay.setMode('hold');
      const receipt = await purgeWithReceipt(c, path, 200);
      assert.ok(!ids(receipt.confirmed).includes('edge-cut'), JSON.stringify(receipt));
      assert.ok(receipt.unknown.includes('edge-cut'), JSON.stringify(receipt));
      assert.equal(receipt.complete, false);
      c.relay.setMode('forward');
      await assertHealed(c, path);
    } finally {
      await c.close();
    }
  });
});

test('a publisher whose ack subscriber is cut (bytes held) declares its link dead; once healed, its receipts are confirmed by every edge', async () => {
  const c = await startPartitionCluster(redis);
  const relay = await startTcpRelay(redis.port);
  const far = createRedisBus(`redis://127.0.0.1:${relay.port}`, c.options);
  try {
    await registryTrusted(c);
    const stop = await far.onAck(() => undefined); // listening for acks starts the PING on its subscriber
    relay.setMode('hold');
    await until(() => far.stats().linkDeaths >= 1);
    assert.ok(far.stats().linkDeaths >= 1, 'the publisher noticed that its subscriber no longer answers');
    relay.setMode('forward');
    stop();
    const path = '/publisher-cut';
    await primeExtended(c, path, 'old');
    c.origin.setResource(path, { body: 'new', headers: { 'cache-control': 'max-age=0' } });
    const { receipt } = await publishInvalidation(far, { urls: [`${c.originUrl}${path}`] }, { waitMs: 15_000, retryForMs: 20_000 });
    assert.deepEqual(ids(receipt?.confirmed ?? []), [...EDGE_IDS], JSON.stringify(receipt));
    assert.equal(receipt?.complete, true);
    await assertNothingStale(c, path);
  } finally {
    await far.close();
    await relay.close();
    await c.close();
  }
});

describe('Redis itself fails', () => {
  test('frozen (SIGSTOP): every edge stops trusting copies past freshness; after SIGCONT they are in sync again and a purge is confirmed by all', async () => {
    const c = await startPartitionCluster(redis);
    try {
      await registryTrusted(c);
      const path = '/frozen';
      await primeExtended(c, path, 'old');
      c.origin.setResource(path, { body: 'new', headers: { 'cache-control': 'max-age=0' } });
      const pid = redis.pid as number;
      process.kill(pid, 'SIGSTOP');
      try {
        await until(() => c.edges.every((edge) => !edge.bus.leaseValid() && edge.bus.state() !== 'in-sync'));
        for (const edge of c.edges) {
          assert.equal(edge.bus.leaseValid(), false, `${edge.id} left in-sync though its sockets stayed open`);
          assert.ok(edge.bus.stats().linkDeaths >= 1, `${edge.id} declared its link dead`);
        }
        // Nothing could be purged, but nothing is served past freshness either: revalidated at the origin.
        for (const res of await servedEverywhere(c, path)) {
          assert.equal(res.text, 'new');
          assert.notEqual(res.cacheStatus.detail, 'callback');
        }
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await assertHealed(c, path);
    } finally {
      await c.close();
    }
  });

  test('restarted empty: the first receipt is never complete (registry reset); once the registry has outlived a lease, a purge is confirmed by all', async () => {
    const c = await startPartitionCluster(redis);
    try {
      await registryTrusted(c);
      const path = '/restarted';
      await primeExtended(c, path, 'old');
      c.origin.setResource(path, { body: 'new', headers: { 'cache-control': 'max-age=0' } });
      await redis.restart();
      const receipt = await purgeWithReceipt(c, path, 5_000);
      assert.equal(receipt.registryReset, true, JSON.stringify(receipt));
      assert.equal(receipt.complete, false, 'an emptied registry cannot vouch for the edges it forgot');
      await until(() => c.edges.every(trusting));
      for (const res of await servedEverywhere(c, path)) {
        assert.equal(res.text, 'new', 'the edges resynced: every copy revalidated');
        assert.notEqual(res.cacheStatus.detail, 'callback');
      }
      await registryTrusted(c);
      await assertHealed(c, path);
    } finally {
      await c.close();
    }
  });
});
