// The in-process bus: the shared contract, then what only it has (the hub per namespace, the
// simulateDisconnect fault-injection hook for replay), and createBus's choice.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBus, createMemoryBus } from '../../edge/bus/index.js';
import type { MemoryBus } from '../../edge/bus/index.js';
import { busContract, deliveryResumes, recorder, testBusOptions, waitUntil } from '../helpers/bus-contract.js';

busContract('memory', async (options) => {
  const publisherBus = createMemoryBus(options);
  const edgeBuses = [0, 1, 2].map(() => createMemoryBus(options));
  return {
    publisherBus,
    edgeBuses,
    // Forged and garbled text enters through the fault-injection hook: as if sent on the channel.
    inject: async (channel, raw) => publisherBus.injectRaw(channel, raw),
    async cleanup() {
      for (const bus of [publisherBus, ...edgeBuses]) await bus.close();
    },
  };
});

describe('memory bus: hub, fault injection, replay', () => {
  async function pair(overrides = {}): Promise<{ publisher: MemoryBus; edge: MemoryBus; close(): Promise<void> }> {
    const options = testBusOptions(overrides);
    const publisher = createMemoryBus(options);
    const edge = createMemoryBus(options);
    return { publisher, edge, close: async () => void (await Promise.all([publisher.close(), edge.close()])) };
  }

  test('a subscriber cut off by simulateDisconnect misses live messages and gets them by replay, in order', async () => {
    const { publisher, edge, close } = await pair();
    try {
      const rec = recorder();
      await edge.subscribe(rec.handlers);
      const first = await publisher.publish({ tags: ['before'] });
      await waitUntil(() => rec.delivered.length === 1);
      edge.simulateDisconnect(100);
      assert.equal(edge.state(), 'down');
      const missed = [];
      for (let i = 0; i < 20; i++) missed.push(await publisher.publish({ tags: [`missed-${i}`] }));
      await waitUntil(() => rec.delivered.length === 21 && edge.state() === 'in-sync');
      assert.deepEqual(rec.delivered.map((m) => m.id), [first, ...missed].map((m) => m.id), 'all of them, in order');
      const stats = edge.stats();
      assert.deepEqual([stats.replayed, stats.reconnects, stats.resyncs, stats.duplicates], [20, 1, 0, 0]);
      assert.ok(rec.states.includes('down') && rec.states.includes('replaying'), `states went down and replaying: ${rec.states.join(',')}`);
      assert.deepEqual(rec.resyncs, []);
    } finally {
      await close();
    }
  });

  test('a disconnect longer than the replay log reaches (streamMaxLength 5, 30 missed) resyncs, then delivers again', async () => {
    const { publisher, edge, close } = await pair({ streamMaxLength: 5 });
    try {
      const rec = recorder();
      await edge.subscribe(rec.handlers);
      edge.simulateDisconnect(50);
      for (let i = 0; i < 30; i++) await publisher.publish({ tags: [`missed-${i}`] });
      await waitUntil(() => rec.resyncs.length > 0 && edge.state() === 'in-sync');
      assert.match(rec.resyncs[0] as string, /trim/);
      assert.deepEqual(rec.delivered, [], 'none of the missed ones is delivered: the resync covers them');
      const next = await deliveryResumes(publisher, rec);
      assert.equal(edge.stats().lastAppliedSeq, next.seq);
      assert.ok(rec.resyncs.every((reason) => /trim/.test(reason)), rec.resyncs.join('; '));
    } finally {
      await close();
    }
  });

  test('simulateDisconnect(Infinity) stays cut off until a finite call reconnects it', async () => {
    const { publisher, edge, close } = await pair();
    try {
      const rec = recorder();
      await edge.subscribe(rec.handlers);
      edge.simulateDisconnect(Infinity);
      const missed = await publisher.publish({ tags: ['missed'] });
      await new Promise((r) => setTimeout(r, 50)); // what a reconnect at once (setTimeout's overflow) would need
      assert.deepEqual([edge.state(), rec.delivered.length], ['down', 0]);
      edge.simulateDisconnect(0);
      await waitUntil(() => rec.delivered.length === 1 && edge.state() === 'in-sync');
      assert.equal(rec.delivered[0]?.id, missed.id);
      assert.equal(edge.stats().reconnects, 1, 'one cut, however many calls');
    } finally {
      await close();
    }
  });

  test('buses of one namespace share one sequence; another namespace has its own epoch and numbering', async () => {
    const options = testBusOptions();
    const a = createMemoryBus(options);
    const b = createMemoryBus(options);
    const elsewhere = createMemoryBus(testBusOptions());
    try {
      const one = await a.publish({ all: true });
      const two = await b.publish({ all: true });
      const three = await elsewhere.publish({ all: true });
      assert.deepEqual([one.seq, two.seq, two.epoch], [1, 2, one.epoch]);
      assert.equal(three.seq, 1);
      assert.notEqual(three.epoch, one.epoch);
    } finally {
      await Promise.all([a.close(), b.close(), elsewhere.close()]);
    }
  });

  test('a bus subscribes once; a second subscribe is refused', async () => {
    const { edge, close } = await pair();
    try {
      await edge.subscribe(recorder().handlers);
      await assert.rejects(edge.subscribe(recorder().handlers), /already subscribed/);
    } finally {
      await close();
    }
  });

  test('createBus picks the in-process bus without a Redis URL and the Redis bus with one (connecting only on use)', async () => {
    const memory = createBus({ ...testBusOptions() });
    const redis = createBus({ ...testBusOptions(), redisUrl: 'redis://127.0.0.1:6379' });
    assert.equal(memory.kind, 'memory');
    assert.equal(redis.kind, 'redis');
    await Promise.all([memory.close(), redis.close()]);
  });
});
