// The Redis bus: the shared contract against the machine's Redis (127.0.0.1:6379), then the
// failures, against a redis-server of this file's own (so killing connections and restarting
// touch nobody else): a dropped subscriber catches up by replay, a trimmed stream means a
// resync, a Redis restart (state lost) loses nothing silently, forgeries in the log are skipped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MiniCdnError } from '../../common/errors.js';
import { buildInvalidation, seal } from '../../edge/bus/messages.js';
import { createRedisBus } from '../../edge/bus/index.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import type { BusOptions, Invalidation, InvalidationBus, InvalidationRequest } from '../../edge/bus/index.js';
import { busContract, deliveryResumes, recorder, testBusOptions, waitUntil } from '../helpers/bus-contract.js';
import type { Recorder } from '../helpers/bus-contract.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { OwnRedis } from '../helpers/redis-server.js';

const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** A plain client for what a test does behind the bus's back (raw PUBLISH, CLIENT KILL, cleanup). */
function plainClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 50, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  return client;
}

async function deleteNamespace(client: Redis, namespace: string): Promise<void> {
  await client.del(...['epoch', 'epoch:since', 'seq', 'stream', 'edges:seen', 'edges:info'].map((key) => `${namespace}:${key}`));
}

let shared: Redis | undefined;
after(() => shared?.disconnect());

busContract('redis', async (options) => {
  shared ??= plainClient(SHARED_REDIS);
  const admin = shared;
  const publisherBus = createRedisBus(SHARED_REDIS, options);
  const edgeBuses = [0, 1, 2].map(() => createRedisBus(SHARED_REDIS, options));
  return {
    publisherBus,
    edgeBuses,
    inject: async (channel, raw) => void (await admin.publish(`${options.namespace}:${channel}`, raw)),
    async cleanup() {
      await Promise.all([publisherBus, ...edgeBuses].map((bus) => bus.close()));
      await deleteNamespace(admin, options.namespace);
    },
  };
});

/** Publishes, retrying (50 ms apart, bounded) while the bus is unavailable. */
async function publishWithRetry(bus: InvalidationBus, request: InvalidationRequest): Promise<Invalidation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bus.publish(request);
    } catch (err) {
      if (!(err instanceof MiniCdnError && err.code === 'MCDN_BUS_UNAVAILABLE') || attempt >= 200) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('redis bus against its own redis-server: drops, trimming, restart, forgeries', () => {
  let server: OwnRedis;
  let admin: Redis;
  const open: InvalidationBus[] = [];

  before(async () => {
    server = await startRedisServer();
    admin = plainClient(server.url);
  });
  after(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()));
    admin?.disconnect();
    await server?.stop();
  });

  function bus(options: BusOptions): InvalidationBus {
    const created = createRedisBus(server.url, options);
    open.push(created);
    return created;
  }

  /**
   * Cuts every subscriber off (CLIENT KILL TYPE pubsub) and keeps them off during `during`: the
   * server refuses new connections meanwhile (maxclients 1), so no subscriber reconnects before
   * it ends. Connections already open (the buses' command connections) keep working.
   */
  async function whileSubscribersCut(edges: InvalidationBus[], during: () => Promise<void>): Promise<void> {
    await admin.config('SET', 'maxclients', '1');
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
      await waitUntil(() => edges.every((edge) => edge.state() === 'down'));
      for (const edge of edges) assert.equal(edge.state(), 'down', 'the subscriber noticed the drop');
      await during();
    } finally {
      await admin.config('SET', 'maxclients', '10000');
    }
  }

  test('a subscriber whose connection drops misses the live messages published meanwhile and gets them by replay, in order', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe(rec.handlers);
    const heard: number[] = [];
    await publisher.onAck((ack) => heard.push(ack.seq));
    const first = await publisher.publish({ tags: ['before-drop'] });
    await waitUntil(() => rec.delivered.length === 1);
    const missed: Invalidation[] = [];
    await whileSubscribersCut([edge], async () => {
      for (let i = 0; i < 20; i++) missed.push(await publisher.publish({ tags: [`missed-${i}`] }));
    });
    await waitUntil(() => rec.delivered.length === 21 && edge.state() === 'in-sync');
    assert.deepEqual(rec.delivered.map((m) => m.id), [first, ...missed].map((m) => m.id), 'every one, in order');
    const stats = edge.stats();
    assert.equal(stats.replayed, 20, 'the missed ones came from the stream');
    assert.equal(stats.reconnects, 1);
    assert.deepEqual([stats.resyncs, stats.duplicates], [0, 0]);
    assert.deepEqual(rec.resyncs, []);
    const live = await publisher.publish({ tags: ['after'] });
    await waitUntil(() => rec.delivered.length === 22);
    assert.equal(rec.delivered.at(-1)?.id, live.id, 'and the live channel works again');
    // The publisher's ack subscription was cut too; it is back (acks are best effort: send until heard).
    await waitUntil(async () => {
      await edge.ack({ v: 1, id: live.id, seq: live.seq, edgeId: 'edge', tookMs: 1 });
      await new Promise((r) => setTimeout(r, 20));
      return heard.includes(live.seq);
    });
    assert.ok(heard.includes(live.seq), 'acks reach the publisher again');
  });

  test('a publisher stays subscribed to acks between receipts (no SUBSCRIBE per publish); after its subscriber connection drops, the next receipt subscribes again and still hears every ack', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe({ ...rec.handlers, onInvalidation: async (m) => { await rec.handlers.onInvalidation(m); await edge.ack({ v: 1, id: m.id, seq: m.seq, edgeId: 'edge-a', tookMs: 0 }); } });
    await edge.heartbeat({ id: 'edge-a', address: 'http://127.0.0.1:1', startedAtMs: Date.now() }, 60_000);
    const ackSubscribers = async (): Promise<number> => Number(((await admin.pubsub('NUMSUB', `${options.namespace}:ack`)) as [string, number])[1]);
    const confirmedOf = async (tag: string): Promise<string[]> => {
      const { receipt } = await publishInvalidation(publisher, { tags: [tag] }, { waitMs: 5_000, retryForMs: 10_000 });
      return receipt?.confirmed.map((c) => c.edgeId) ?? [];
    };
    assert.deepEqual(await confirmedOf('first'), ['edge-a']);
    assert.equal(await ackSubscribers(), 1, 'still subscribed after the receipt returned');
    assert.deepEqual(await confirmedOf('second'), ['edge-a'], 'a receipt on the kept subscription');
    // Both subscribers cut (the publisher's ack subscription with them); the next receipt must not
    // trust the subscription of the dead connection.
    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitUntil(() => publisher.stats().reconnects === 1);
    assert.deepEqual(await confirmedOf('after-drop'), ['edge-a'], 'the ack of the receipt after the drop was heard');
    assert.equal(await ackSubscribers(), 1, 'subscribed again on the new connection');
    assert.equal(publisher.stats().reconnects, 1);
  });

  test('while Redis is down, publish, ack, heartbeat and subscribe reject with MCDN_BUS_UNAVAILABLE (no hang); once it is back, publishing and delivery resume', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe(rec.handlers);
    await publisher.publish({ all: true });
    await server.stop();
    try {
      await waitUntil(() => edge.state() === 'down');
      assert.equal(edge.state(), 'down');
      const unavailable = (err: unknown): boolean => err instanceof MiniCdnError && err.code === 'MCDN_BUS_UNAVAILABLE';
      await assert.rejects(publisher.publish({ all: true }), unavailable);
      await assert.rejects(publisher.heartbeat({ id: 'e', address: 'http://127.0.0.1:1', startedAtMs: 0 }, 1000), unavailable);
      await assert.rejects(edge.ack({ v: 1, id: 'x', seq: 1, edgeId: 'e', tookMs: 0 }), unavailable);
      await assert.rejects(bus(testBusOptions()).subscribe(recorder().handlers), unavailable);
    } finally {
      await server.start();
    }
    const back = await publishWithRetry(publisher, { all: true });
    await waitUntil(() => rec.delivered.some((m) => m.id === back.id) && edge.state() === 'in-sync');
    assert.equal(rec.delivered.at(-1)?.id, back.id);
    assert.ok(rec.resyncs.length >= 1, 'the lost state (new epoch) meant a resync');
  });

  test('an acknowledged publish that meets Redis down waits within retryForMs and gets its receipt once Redis is back; closing the bus ends a pending retry at once', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe({ ...rec.handlers, onInvalidation: async (m) => { await rec.handlers.onInvalidation(m); await edge.ack({ v: 1, id: m.id, seq: m.seq, edgeId: 'edge-r', tookMs: 0 }); } });
    await edge.heartbeat({ id: 'edge-r', address: 'http://127.0.0.1:1', startedAtMs: Date.now() }, 60_000);
    await publisher.publish({ tags: ['warm'] });
    await server.stop();
    const restarted = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
      // The state is gone with the restart: the edge announces itself again, as its heartbeat would.
      await waitUntil(async () => edge.heartbeat({ id: 'edge-r', address: 'http://127.0.0.1:1', startedAtMs: Date.now() }, 60_000).then(() => true, () => false));
    })();
    const published = await publishInvalidation(publisher, { tags: ['during-outage'] }, { waitMs: 3_000, retryForMs: 10_000 });
    await restarted;
    assert.ok(published.receipt, 'a receipt, not an error');
    assert.equal(published.message.tags?.[0], 'during-outage');

    const closing = bus(options);
    await server.stop();
    try {
      const began = Date.now();
      const pending = publishInvalidation(closing, { tags: ['never'] }, { waitMs: 0, retryForMs: 20_000 });
      setTimeout(() => void closing.close(), 100);
      await assert.rejects(pending, (err: unknown) => err instanceof MiniCdnError && /closed/.test(err.message));
      assert.ok(Date.now() - began < 5_000, `ended ${Date.now() - began} ms after the close, not at the end of retryForMs`);
    } finally {
      await server.start();
    }
  });

  test('trimming: with streamMaxLength 10, a subscriber that misses 200 messages resyncs (trimmed) when it reconnects', async () => {
    const options = testBusOptions({ streamMaxLength: 10 });
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe(rec.handlers);
    await publisher.publish({ tags: ['before-drop'] });
    await waitUntil(() => rec.delivered.length === 1);
    await whileSubscribersCut([edge], async () => {
      for (let i = 0; i < 200; i++) await publisher.publish({ tags: [`missed-${i}`] });
    });
    assert.ok((await admin.xlen(`${options.namespace}:stream`)) < 200, 'the stream was trimmed');
    await waitUntil(() => rec.resyncs.length > 0 && edge.state() === 'in-sync');
    assert.match(rec.resyncs[0] as string, /trim/);
    assert.equal(rec.delivered.length, 1, 'none of the missed ones is delivered: the resync covers them');
    const next = await deliveryResumes(publisher, rec);
    assert.equal(edge.stats().lastAppliedSeq, next.seq);
    assert.ok(rec.resyncs.every((reason) => /trim/.test(reason)), rec.resyncs.join('; '));
  });

  test('a Redis restart (state lost) in the middle of a stream of publishes: every published message is delivered or covered by a resync, on every edge', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edges = [0, 1, 2].map(() => bus(options));
    let started = 0; // publishes begun so far (the one in flight included)
    const marks: number[][] = edges.map(() => []); // per edge: `started` at each resync
    const recs: Recorder[] = edges.map((_, i) => recorder(() => (marks[i] as number[]).push(started)));
    await Promise.all(edges.map((edge, i) => edge.subscribe((recs[i] as Recorder).handlers)));
    const published: Invalidation[] = [];
    const publishNext = async (): Promise<void> => {
      started++;
      published.push(await publishWithRetry(publisher, { urls: [`http://restart.test/${started}`] }));
    };
    for (let i = 0; i < 25; i++) await publishNext();
    // Publishing goes on, a few ms apart, while the server stops and starts, then 25 more.
    let restarted = false;
    const restarting = server.restart().then(() => void (restarted = true));
    for (let afterRestart = 0; afterRestart < 25 && started < 5000; ) {
      await publishNext();
      if (restarted) afterRestart++;
      else await new Promise((r) => setTimeout(r, 5));
    }
    await restarting;
    const lastId = (published.at(-1) as Invalidation).id;
    // The end: every edge in sync again, having delivered the last message or resynced after it was published.
    const done = (i: number): boolean =>
      edges[i]?.state() === 'in-sync' && ((recs[i] as Recorder).delivered.some((m) => m.id === lastId) || (marks[i] as number[]).includes(published.length));
    await waitUntil(() => edges.every((_, i) => done(i)));
    assert.notEqual(published[0]?.epoch, published.at(-1)?.epoch, 'the restart lost the state: a new epoch');
    for (const [i, rec] of recs.entries()) {
      const tag = (m: Invalidation): string => `${m.epoch.slice(0, 6)}#${m.seq}`;
      const story = JSON.stringify({ stats: edges[i]?.stats(), resyncs: rec.resyncs, marks: marks[i], delivered: rec.delivered.slice(-8).map(tag), published: published.slice(-8).map(tag) });
      assert.ok(done(i), `edge ${i} is in sync and has the last message or a resync after it: ${story}`);
      assert.ok(rec.resyncs.length >= 1, `edge ${i} resynced after the restart: ${story}`);
      const lastResync = Math.max(0, ...(marks[i] as number[]));
      const covered = new Set([...rec.delivered.map((m) => m.id), ...published.slice(0, lastResync).map((m) => m.id)]);
      const missed = published.filter((m) => !covered.has(m.id)).map((m) => `${m.epoch}#${m.seq}`);
      assert.deepEqual(missed, [], `edge ${i}: nothing silently missed: ${story}`);
    }
  });

  test('forgeries on the channel and in the stream (next seq, live epoch, wrong key) are never delivered; the genuine messages are, in order', async () => {
    const options = testBusOptions();
    const publisher = bus(options);
    const edge = bus(options);
    const rec = recorder();
    await edge.subscribe(rec.handlers);
    const first = await publisher.publish({ tags: ['genuine-1'] });
    await waitUntil(() => rec.delivered.length === 1);
    const rogue = { current: 'k2', keys: { k2: 'attacker-secret' } };
    const forge = (seq: number): string => seal('inv', buildInvalidation({ all: true }, { epoch: first.epoch, seq, id: `forged-${seq}`, issuedAtMs: Date.now() }), rogue, options.namespace);
    await admin.publish(`${options.namespace}:inv`, forge(first.seq + 1));
    // A forged entry in the log, then a cut subscriber that must catch up through it.
    await admin.xadd(`${options.namespace}:stream`, '*', 's', String(first.seq + 1), 'e', first.epoch, 'm', forge(first.seq + 1));
    const genuine: Invalidation[] = [];
    await whileSubscribersCut([edge], async () => {
      genuine.push(await publisher.publish({ tags: ['genuine-2'] }), await publisher.publish({ tags: ['genuine-3'] }));
    });
    const [second, third] = genuine as [Invalidation, Invalidation];
    await waitUntil(() => rec.delivered.length === 3 && edge.state() === 'in-sync');
    assert.deepEqual(rec.delivered.map((m) => m.id), [first.id, second.id, third.id]);
    assert.equal(second.seq, first.seq + 1, 'the forgeries took no number');
    const stats = edge.stats();
    assert.equal(stats.forged, 2, 'one on the channel, one in the stream');
    assert.equal(stats.resyncs, 0);
  });
});
