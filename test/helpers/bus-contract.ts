// The behaviour every InvalidationBus must show. Not a test file itself: each bus's test file
// calls busContract() with a factory, so the in-process bus and the Redis bus are held to the
// same rules. Every test gets a namespace of its own, so files can run side by side.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniCdnError } from '../../common/errors.js';
import { buildInvalidation, ENVELOPE_VERSION, seal } from '../../edge/bus/messages.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type {
  BusOptions, BusState, EdgeInfo, Invalidation, InvalidationBus, InvalidationRequest, LeasedPublish, SigningKeys, SubscribeHandlers,
} from '../../edge/bus/types.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';

export interface BusFixture {
  publisherBus: InvalidationBus;
  /** Three buses for three edges, not subscribed yet. */
  edgeBuses: InvalidationBus[];
  /** Puts raw text on a channel of the namespace, as a peer (or an attacker) with access could. */
  inject(channel: 'inv' | 'ack', raw: string): Promise<void>;
  cleanup(): Promise<void>;
}

export type BusFactory = (options: BusOptions) => Promise<BusFixture>;

export const TEST_SIGNING: SigningKeys = { current: 'k2', keys: { k1: 'first-test-secret', k2: 'second-test-secret' } };

let namespaces = 0;

/** Options with a namespace no other test (or test process) uses. */
export function testBusOptions(overrides: Partial<BusOptions> = {}): BusOptions {
  return { ...DEFAULT_BUS_OPTIONS, signing: TEST_SIGNING, namespace: `test-${process.pid}-${++namespaces}`, streamMaxLength: 1000, gapWaitMs: 50, ...overrides };
}

/** Polls until the condition holds or the deadline passes; the caller then asserts. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + Math.min(deadlineMs, 10_000);
  while (!(await condition()) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

export interface Recorder {
  delivered: Invalidation[];
  resyncs: string[];
  states: BusState[];
  handlers: SubscribeHandlers;
}

export function recorder(onResync?: (reason: string) => void): Recorder {
  const rec: Recorder = {
    delivered: [],
    resyncs: [],
    states: [],
    handlers: {
      onInvalidation: (message) => void rec.delivered.push(message),
      onResync: (reason) => {
        rec.resyncs.push(reason);
        onResync?.(reason);
      },
      onState: (state) => void rec.states.push(state),
    },
  };
  return rec;
}

/**
 * After a resync that left the Sequencer's frontier behind the log's head (a trimmed catch-up),
 * delivery must go on. The first message published after it may instead be covered by one more
 * resync (the Sequencer cannot learn the head from 'trimmed'; see edge/bus/README.md); the one
 * after that must be delivered. Returns the message that was delivered.
 */
export async function deliveryResumes(publisher: InvalidationBus, rec: Recorder): Promise<Invalidation> {
  const resyncs = rec.resyncs.length;
  const probe = await publisher.publish({ tags: ['probe-after-resync'] });
  await waitUntil(() => rec.delivered.some((m) => m.id === probe.id) || rec.resyncs.length > resyncs);
  if (rec.delivered.some((m) => m.id === probe.id)) return probe;
  const next = await publisher.publish({ tags: ['probe-after-resync'] });
  await waitUntil(() => rec.delivered.some((m) => m.id === next.id));
  assert.equal(rec.delivered.at(-1)?.id, next.id, 'delivery goes on after the resync');
  return next;
}

const seqs = (messages: Invalidation[]): number[] => messages.map((m) => m.seq);
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
const target = (i: number): InvalidationRequest => ({ urls: [`http://contract.test/item/${i}`] });

function isCode(code: string): (err: unknown) => boolean {
  return (err) => err instanceof MiniCdnError && err.code === code;
}

/** A sealed invalidation that looks like the next real one, but is not signed with the bus's secret. */
function forgeries(epoch: string, seq: number, namespace: string): Record<string, string> {
  const message = buildInvalidation({ all: true }, { epoch, seq, id: 'forged-0001', issuedAtMs: Date.now() });
  const genuine = JSON.parse(seal('inv', message, TEST_SIGNING, namespace)) as { body: string };
  return {
    'unknown key id': seal('inv', message, { current: 'rogue', keys: { rogue: 'whatever' } }, namespace),
    'known key id, wrong secret': seal('inv', message, { current: 'k2', keys: { k2: 'not-the-secret' } }, namespace),
    'the right secret, sealed for another namespace': seal('inv', message, TEST_SIGNING, `${namespace}-other`),
    'body altered after signing': JSON.stringify({ ...genuine, body: genuine.body.replace('"all":true', '"all":false') }),
    'no signature': JSON.stringify({ v: ENVELOPE_VERSION, kind: 'inv', kid: 'k2', body: genuine.body }),
  };
}

export function busContract(name: string, make: BusFactory): void {
  async function withBuses(run: (f: BusFixture, options: BusOptions) => Promise<void>, overrides: Partial<BusOptions> = {}): Promise<void> {
    const options = testBusOptions(overrides);
    const fixture = await make(options);
    try {
      await run(fixture, options);
    } finally {
      await fixture.cleanup();
    }
  }

  async function subscribeAll(buses: InvalidationBus[]): Promise<Recorder[]> {
    const recs = buses.map(() => recorder());
    await Promise.all(buses.map((bus, i) => bus.subscribe((recs[i] as Recorder).handlers)));
    return recs;
  }

  /** Publishes a marker and waits until every recorder has it: everything before it is in. */
  async function settle(publisher: InvalidationBus, recs: Recorder[]): Promise<Invalidation> {
    const marker = await publisher.publish({ tags: ['contract-marker'] });
    await waitUntil(() => recs.every((r) => r.delivered.some((m) => m.id === marker.id)));
    for (const r of recs) assert.ok(r.delivered.some((m) => m.id === marker.id), 'the marker reached every edge');
    return marker;
  }

  describe(`${name} bus: the InvalidationBus contract`, () => {
    test('50 quick publishes reach every subscribed edge exactly once, in sequence order, with consecutive seqs', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const recs = await subscribeAll(edgeBuses);
        const published = await Promise.all(range(0, 50).map((i) => publisherBus.publish(target(i))));
        published.sort((a, b) => a.seq - b.seq);
        const first = (published[0] as Invalidation).seq;
        assert.deepEqual(seqs(published), range(first, 50), 'the publisher numbered them 1..50 from its start, no gaps');
        assert.equal(new Set(published.map((m) => m.id)).size, 50, 'ids are unique');
        const marker = await settle(publisherBus, recs);
        for (const rec of recs) {
          assert.deepEqual(seqs(rec.delivered), range(first, 51), 'in order, once each');
          assert.deepEqual(rec.delivered.slice(0, 50), published, 'exactly the published messages');
          assert.equal(rec.delivered[50]?.id, marker.id);
        }
      });
    });

    test('two publishers on one namespace share one sequence: every number is taken once, edges see all in order', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const recs = await subscribeAll(edgeBuses.slice(0, 2));
        const other = edgeBuses[2] as InvalidationBus;
        const published = await Promise.all(range(0, 40).map((i) => (i % 2 === 0 ? publisherBus : other).publish(target(i))));
        const numbers = seqs(published).sort((a, b) => a - b);
        assert.deepEqual(numbers, range(numbers[0] as number, 40));
        await settle(publisherBus, recs);
        for (const rec of recs) assert.deepEqual(seqs(rec.delivered), range(numbers[0] as number, 41));
      });
    });

    test('subscribe delivers only what is published after it', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const before = await Promise.all([0, 1, 2].map((i) => publisherBus.publish(target(i))));
        const [rec] = await subscribeAll(edgeBuses.slice(0, 1));
        assert.equal((edgeBuses[0] as InvalidationBus).stats().lastAppliedSeq, Math.max(...seqs(before)), 'starts after the newest');
        const after = [await publisherBus.publish(target(3)), await publisherBus.publish(target(4))];
        const marker = await settle(publisherBus, [rec as Recorder]);
        assert.deepEqual(rec?.delivered.map((m) => m.id), [...after, marker].map((m) => m.id));
      });
    });

    test('each kind round-trips: urls (normalized), prefixes, tags, all, soft', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const recs = await subscribeAll(edgeBuses);
        const requests: InvalidationRequest[] = [
          { urls: ['http://Example.COM:80/a?x=1', 'https://example.com/b'] },
          { prefixes: ['http://example.com/static/'] },
          { tags: ['product-42', 'catalog'] },
          { all: true },
          { tags: ['product-42'], soft: true },
          { urls: ['http://example.com/c'], prefixes: ['http://example.com/d/'], tags: ['t'], soft: true },
        ];
        const published: Invalidation[] = [];
        for (const request of requests) published.push(await publisherBus.publish(request));
        assert.deepEqual((published[0] as Invalidation).urls, ['http://example.com/a?x=1', 'https://example.com/b']);
        assert.deepEqual(published.map((m) => [m.all, m.soft]), [[false, false], [false, false], [false, false], [true, false], [false, true], [false, true]]);
        await settle(publisherBus, recs);
        for (const rec of recs) assert.deepEqual(rec.delivered.slice(0, requests.length), published, 'delivered exactly as published');
      });
    });

    test('invalid requests reject with MCDN_INVALIDATION_INVALID and take no sequence number', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const [rec] = await subscribeAll(edgeBuses.slice(0, 1));
        const before = await publisherBus.publish(target(0));
        const bad: unknown[] = [{}, { urls: [] }, { urls: ['/relative'] }, { urls: ['ftp://example.com/'] }, { tags: ['a b'] }, { all: 'yes' }, { bogus: true }, null];
        for (const request of bad) {
          await assert.rejects(publisherBus.publish(request as InvalidationRequest), isCode('MCDN_INVALIDATION_INVALID'), JSON.stringify(request));
        }
        const after = await publisherBus.publish(target(1));
        assert.equal(after.seq, before.seq + 1, 'no number was spent on a rejected request');
        await settle(publisherBus, [rec as Recorder]);
        const stats = (edgeBuses[0] as InvalidationBus).stats();
        assert.deepEqual([stats.gaps, stats.resyncs], [0, 0]);
      });
    });

    test('acks from edges reach onAck listeners, verified; forged and garbled acks are counted, not passed on', async () => {
      await withBuses(async ({ publisherBus, edgeBuses, inject }, options) => {
        const heard: string[] = [];
        const stop = await publisherBus.onAck((ack) => heard.push(ack.edgeId));
        const forgedAck = seal('ack', { v: 1, id: 'x', seq: 1, edgeId: 'intruder', tookMs: 1 }, { current: 'rogue', keys: { rogue: 's' } }, options.namespace);
        await inject('ack', forgedAck);
        await inject('ack', '{"this is":"not an envelope"');
        const acks = edgeBuses.map((_, i) => ({ v: 1 as const, id: 'msg-1', seq: 7, edgeId: `edge-${i}`, tookMs: i }));
        for (const [i, bus] of edgeBuses.entries()) await bus.ack(acks[i] as (typeof acks)[number]);
        await waitUntil(() => heard.length >= 3);
        assert.deepEqual(heard.sort(), ['edge-0', 'edge-1', 'edge-2']);
        assert.deepEqual([publisherBus.stats().forged, publisherBus.stats().garbled], [1, 1]);
        stop();
        const later: string[] = [];
        const stopLater = await publisherBus.onAck((ack) => later.push(ack.edgeId));
        await (edgeBuses[0] as InvalidationBus).ack({ v: 1, id: 'msg-2', seq: 8, edgeId: 'edge-0', tookMs: 0 });
        await waitUntil(() => later.length >= 1);
        assert.deepEqual(later, ['edge-0']);
        assert.equal(heard.length, 3, 'an unsubscribed listener hears nothing more');
        stopLater();
      });
    });

    test('invalidations sealed without the secret (unknown key, wrong secret, another namespace, altered body, no signature) are counted as forged and never delivered', async () => {
      await withBuses(async ({ publisherBus, edgeBuses, inject }, options) => {
        const recs = await subscribeAll(edgeBuses);
        const last = await publisherBus.publish(target(0));
        await waitUntil(() => recs.every((r) => r.delivered.length === 1));
        const forged = forgeries(last.epoch, last.seq + 1, options.namespace); // the next number, the live epoch: the most tempting forgery
        for (const raw of Object.values(forged)) await inject('inv', raw);
        const real = await publisherBus.publish(target(1));
        assert.equal(real.seq, last.seq + 1);
        await settle(publisherBus, recs);
        for (const [i, rec] of recs.entries()) {
          assert.deepEqual(rec.delivered.slice(0, 2).map((m) => m.id), [last.id, real.id], 'only genuine messages');
          const stats = (edgeBuses[i] as InvalidationBus).stats();
          assert.deepEqual([stats.forged, stats.garbled, stats.resyncs], [Object.keys(forged).length, 0, 0]);
        }
      });
    });

    test("validly signed invalidations the bus never numbered (another epoch, a made-up epoch's first number, far beyond the counter) are dropped and counted; the epoch stays, the real ones are delivered", async () => {
      await withBuses(async ({ publisherBus, edgeBuses, inject }, options) => {
        const recs = await subscribeAll(edgeBuses);
        const last = await publisherBus.publish(target(0));
        await waitUntil(() => recs.every((r) => r.delivered.length === 1));
        // Signed with the bus's own secret, for its own namespace: only the bus's state can tell them apart.
        const unnumbered = (epoch: string, seq: number): string =>
          seal('inv', buildInvalidation({ all: true }, { epoch, seq, id: `unnumbered-${seq}`, issuedAtMs: Date.now() }), TEST_SIGNING, options.namespace);
        const foreign = [unnumbered('an-epoch-of-long-ago', last.seq + 1), unnumbered('a-made-up-epoch', 1)];
        const ahead = [unnumbered(last.epoch, 1e9), unnumbered(last.epoch, last.seq + 1000)];
        for (const raw of [...foreign, ...ahead]) await inject('inv', raw);
        const real = [await publisherBus.publish(target(1)), await publisherBus.publish(target(2))];
        assert.equal(real[0]?.seq, last.seq + 1, 'the injected ones took no number');
        await settle(publisherBus, recs);
        for (const [i, rec] of recs.entries()) {
          assert.deepEqual(rec.delivered.slice(0, 3).map((m) => m.id), [last, ...real].map((m) => m.id), 'only the numbered messages, in order');
          assert.deepEqual(rec.resyncs, []);
          const stats = (edgeBuses[i] as InvalidationBus).stats();
          assert.equal(stats.state, 'in-sync');
          assert.equal(stats.epoch, last.epoch, 'still the bus\'s epoch');
          assert.equal(stats.lastAppliedSeq, (rec.delivered.at(-1) as Invalidation).seq);
          assert.equal(stats.foreignEpoch, foreign.length);
          assert.equal(stats.aheadOfCounter, ahead.length);
          assert.deepEqual([stats.forged, stats.garbled, stats.gaps, stats.duplicates], [0, 0, 0, 0]);
        }
      });
    });

    test('garbled text on the channel (not JSON, not an envelope, a signed body that is no invalidation) is counted as garbled and never delivered', async () => {
      await withBuses(async ({ publisherBus, edgeBuses, inject }, options) => {
        const recs = await subscribeAll(edgeBuses);
        const badBody = JSON.parse(seal('ack', { v: 1, id: 'a', seq: 1, edgeId: 'e', tookMs: 0 }, TEST_SIGNING, options.namespace)) as { body: string };
        const garbage = ['not json at all', '{"v":1}', '[1,2,3]', JSON.stringify({ ...badBody, kind: 'inv' }), ''];
        for (const raw of garbage) await inject('inv', raw);
        const real = await publisherBus.publish(target(0));
        await settle(publisherBus, recs);
        for (const [i, rec] of recs.entries()) {
          assert.equal(rec.delivered[0]?.id, real.id);
          const stats = (edgeBuses[i] as InvalidationBus).stats();
          assert.equal(stats.garbled, garbage.length);
          assert.equal(stats.forged, 0);
        }
      });
    });

    test('registry: heartbeat lists an edge with lastSeenMs, a heartbeat refreshes the ttl, an expired edge is not listed, deregister removes it', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const [a, b] = edgeBuses as [InvalidationBus, InvalidationBus];
        const infoA: EdgeInfo = { id: 'edge-a', address: 'http://127.0.0.1:8001', adminUrl: 'http://127.0.0.1:9001', startedAtMs: 1000 };
        const infoB: EdgeInfo = { id: 'edge-b', address: 'http://127.0.0.1:8002', startedAtMs: 2000 };
        const before = Date.now();
        await a.heartbeat(infoA, 60_000);
        await b.heartbeat(infoB, 60_000);
        const after = Date.now();
        const live = await publisherBus.liveEdges();
        assert.deepEqual(live.map(({ lastSeenMs: _, ...rest }) => rest), [infoA, infoB]);
        for (const edge of live) assert.ok(edge.lastSeenMs !== undefined && edge.lastSeenMs >= before && edge.lastSeenMs <= after, 'lastSeenMs is the heartbeat time');
        await b.heartbeat(infoB, 1); // refreshed with a 1 ms ttl: it lapses at once
        await waitUntil(async () => (await publisherBus.liveEdges()).length === 1);
        assert.deepEqual((await publisherBus.liveEdges()).map((e) => e.id), ['edge-a']);
        await a.deregister('edge-a');
        assert.deepEqual(await publisherBus.liveEdges(), []);
      });
    });

    const LEASE = { leaseRenewMs: 100, leaseMs: 600, leaseMarginMs: 200 };

    /** Until a publish no longer reports a reset registry (a new namespace is a new registry); returns that publish. */
    async function trustedPublish(publisher: InvalidationBus): Promise<LeasedPublish> {
      let published = await publisher.publishLeased({ tags: ['registry-probe'] });
      for (let i = 0; published.registryReset && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        published = await publisher.publishLeased({ tags: ['registry-probe'] });
      }
      assert.equal(published.registryReset, false, 'a registry older than one lease is trusted');
      return published;
    }

    test('leases: keepLease after subscribe makes leaseValid() true and the edge a lease holder of publishLeased, expiring within leaseMs of the bus clock; deregister ends it', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const edge = edgeBuses[0] as InvalidationBus;
        const info: EdgeInfo = { id: 'edge-lease', address: 'http://127.0.0.1:1', startedAtMs: Date.now() };
        assert.equal(edge.leaseValid(), false, 'no lease before keepLease');
        const [rec] = await subscribeAll([edge]);
        assert.equal(edge.leaseValid(), false, 'subscribed, but no lease yet');
        edge.keepLease(info);
        await waitUntil(() => edge.leaseValid());
        assert.equal(edge.leaseValid(), true);
        const stats = edge.stats();
        assert.ok(stats.leaseValidForMs > 0 && stats.leaseValidForMs <= LEASE.leaseMs - LEASE.leaseMarginMs, `leaseValidForMs ${stats.leaseValidForMs}`);
        const published = await publisherBus.publishLeased({ tags: ['leased'] });
        const holder = published.holders.find((h) => h.edgeId === info.id);
        assert.ok(holder, JSON.stringify(published.holders));
        assert.ok(holder.expiresAtMs > published.busNowMs && holder.expiresAtMs <= published.busNowMs + LEASE.leaseMs, 'the expiry is on the bus clock, within one lease');
        assert.equal(published.leaseMarginMs, LEASE.leaseMarginMs);
        await waitUntil(() => rec?.delivered.some((m) => m.id === published.message.id) === true);
        assert.ok(rec?.delivered.some((m) => m.id === published.message.id), 'publishLeased delivers like publish');
        const reading = await publisherBus.leases([info.id, 'nobody']);
        assert.ok((reading.expiries[info.id] ?? 0) > reading.busNowMs);
        assert.equal(reading.expiries['nobody'], undefined);
        await edge.deregister(info.id);
        assert.equal(edge.leaseValid(), false, 'deregister ends the lease at once');
        await new Promise((r) => setTimeout(r, 3 * LEASE.leaseRenewMs)); // a renewal would have come back by now
        const later = await publisherBus.publishLeased({ tags: ['after-deregister'] });
        assert.deepEqual(later.holders.map((h) => h.edgeId), [], 'no holder once deregistered');
      }, LEASE);
    });

    test('receipts: holders that ack are confirmed, a holder that never acks lapses when its lease runs out unrenewed; the receipt is complete', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const [a, b, silent] = edgeBuses as [InvalidationBus, InvalidationBus, InvalidationBus];
        for (const [i, bus] of [a, b].entries()) {
          await bus.subscribe({
            onInvalidation: (m) => void bus.ack({ v: 1, id: m.id, seq: m.seq, edgeId: `acking-${i}`, tookMs: 0 }),
            onResync: () => undefined,
          });
          bus.keepLease({ id: `acking-${i}`, address: 'http://127.0.0.1:1', startedAtMs: Date.now() });
        }
        await waitUntil(() => a.leaseValid() && b.leaseValid());
        await trustedPublish(publisherBus);
        // A lease taken once and never renewed: an edge whose link died right after.
        await silent.heartbeat({ id: 'silent', address: 'http://127.0.0.1:1', startedAtMs: Date.now() }, LEASE.leaseMs);
        const { receipt } = await publishInvalidation(publisherBus, { tags: ['receipted'] }, { waitMs: 8_000 });
        assert.ok(receipt);
        assert.deepEqual(receipt.confirmed.map((c) => c.edgeId), ['acking-0', 'acking-1']);
        assert.deepEqual(receipt.lapsed, ['silent']);
        assert.deepEqual(receipt.unknown, []);
        assert.equal(receipt.registryReset, false);
        assert.equal(receipt.complete, true);
      }, LEASE);
    });

    test('receipts: a silent holder whose lease outlasts the wait is unknown, never confirmed, and the receipt is not complete', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        await trustedPublish(publisherBus);
        await (edgeBuses[0] as InvalidationBus).heartbeat({ id: 'long-lease', address: 'http://127.0.0.1:1', startedAtMs: Date.now() }, 60_000);
        const { receipt } = await publishInvalidation(publisherBus, { tags: ['short-wait'] }, { waitMs: 300 });
        assert.ok(receipt);
        assert.deepEqual(receipt.unknown, ['long-lease']);
        assert.deepEqual([receipt.confirmed, receipt.lapsed], [[], []]);
        assert.equal(receipt.complete, false);
      }, LEASE);
    });

    test("stats count deliveries; state is 'connecting' before subscribe and 'in-sync' after", async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const edge = edgeBuses[0] as InvalidationBus;
        assert.equal(edge.state(), 'connecting');
        const [rec] = await subscribeAll([edge]);
        assert.equal(edge.state(), 'in-sync');
        assert.equal(rec?.states.at(-1), 'in-sync');
        for (let i = 0; i < 5; i++) await publisherBus.publish(target(i));
        const marker = await settle(publisherBus, [rec as Recorder]);
        const stats = edge.stats();
        assert.equal(stats.state, 'in-sync');
        assert.equal(stats.epoch, marker.epoch);
        assert.equal(stats.lastAppliedSeq, marker.seq);
        assert.deepEqual(
          [stats.received, stats.applied, stats.duplicates, stats.replayed, stats.gaps, stats.resyncs, stats.forged, stats.garbled, stats.reconnects],
          [6, 6, 0, 0, 0, 0, 0, 0, 0],
        );
      });
    });

    test('closing one edge bus leaves the others delivering; a closed bus rejects with MCDN_BUS_UNAVAILABLE', async () => {
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const recs = await subscribeAll(edgeBuses);
        const closedBus = edgeBuses[0] as InvalidationBus;
        await closedBus.close();
        await closedBus.close(); // twice is fine
        assert.equal(closedBus.state(), 'down');
        await assert.rejects(closedBus.publish(target(0)), isCode('MCDN_BUS_UNAVAILABLE'));
        const message = await publisherBus.publish(target(1));
        await settle(publisherBus, recs.slice(1));
        assert.equal(recs[1]?.delivered[0]?.id, message.id);
        assert.equal(recs[0]?.delivered.length, 0, 'nothing reaches a closed bus');
      });
    });

    test('close() releases every socket and timer the buses opened (the process can exit)', async () => {
      const count = (): Map<string, number> => {
        const counts = new Map<string, number>();
        for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
        return counts;
      };
      const baseline = count();
      await withBuses(async ({ publisherBus, edgeBuses }) => {
        const recs = await subscribeAll(edgeBuses);
        const stop = await publisherBus.onAck(() => undefined);
        await publisherBus.heartbeat({ id: 'e', address: 'http://127.0.0.1:1', startedAtMs: 0 }, 1000);
        await settle(publisherBus, recs);
        stop();
      });
      const leftover = (): string[] => [...count()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind}: ${n}`);
      await waitUntil(() => leftover().length === 0);
      assert.deepEqual(leftover(), []);
    });
  });
}
