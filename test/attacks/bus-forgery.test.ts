// Validly signed messages that Redis never numbered: a message of another namespace sharing the
// secret, a real message captured before Redis lost its state and replayed after, and one with a
// far-future sequence number. None of them may move an edge to another epoch or past Redis's
// counter: the edge keeps applying the real purges that follow and stays in sync. Real
// redis-server of this file's own (free port, stopped by PID), in-process edges on real sockets,
// an origin of the test's own that counts requests per path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Redis } from 'ioredis';
import { buildInvalidation, seal } from '../../edge/bus/messages.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import { createRedisBus } from '../../edge/bus/index.js';
import type { BusOptions, BusStats, Invalidation, InvalidationBus } from '../../edge/bus/index.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { customOrigin, fetchFrom, waitFor } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { OwnRedis } from '../helpers/redis-server.js';

const signing = { current: 'k1', keys: { k1: 'one-secret-shared-by-every-namespace' } };
/** Generous bound for anything the bus must do (deliver, reconnect, resync); never asserted on. */
const PATIENCE_MS = 8_000;

type Origin = Awaited<ReturnType<typeof customOrigin>>;

let server: OwnRedis;
let admin: Redis;
let origin: Origin;
const hits = new Map<string, number>();
const buses: InvalidationBus[] = [];
const edges: EdgeNode[] = [];
let namespaces = 0;

/** Every path answers "<path> v<n>" (n = the origin's nth request for it), fresh for 10 minutes. */
function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = req.url ?? '/';
  const n = (hits.get(path) ?? 0) + 1;
  hits.set(path, n);
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
  res.end(`${path} v${n}`);
}

const originHits = (path: string): number => hits.get(path) ?? 0;

function options(): BusOptions {
  return { ...DEFAULT_BUS_OPTIONS, signing, namespace: `forgery-${process.pid}-${++namespaces}`, streamMaxLength: 1000, gapWaitMs: 50 };
}

function bus(opts: BusOptions): InvalidationBus {
  const created = createRedisBus(server.url, opts);
  buses.push(created);
  return created;
}

async function edge(opts: BusOptions, id: string): Promise<{ node: EdgeNode; url: string }> {
  const node = createEdgeNode({ id, proxy: { origin: origin.url }, bus: bus(opts), signing });
  edges.push(node);
  return { node, url: await node.start(0) };
}

/** A miss, then a hit: the path is cached on the edge. */
async function prime(url: string, path: string): Promise<void> {
  await fetchFrom(url, 'GET', path);
  const second = await fetchFrom(url, 'GET', path);
  assert.equal(second.cacheStatus.hit, true, `${path} is cached on ${url}`);
}

/**
 * A real purge of `path`, published after whatever the attacker did: the edge must apply it
 * (its next GET is a miss that reaches the origin and gets the new body) and stay in sync.
 */
async function realPurgeIsApplied(publisher: InvalidationBus, target: { node: EdgeNode; url: string }, path: string): Promise<Invalidation> {
  await prime(target.url, path);
  const originBefore = originHits(path);
  const appliedBefore = target.node.stats().applied;
  const { message } = await publishInvalidation(publisher, { urls: [`${origin.url}${path}`] }, { retryForMs: PATIENCE_MS });
  await waitFor(() => target.node.stats().applied > appliedBefore, PATIENCE_MS);
  const res = await fetchFrom(target.url, 'GET', path);
  const story = JSON.stringify({ published: { epoch: message.epoch, seq: message.seq }, bus: target.node.bus.stats() });
  assert.equal(res.cacheStatus.fwd, 'uri-miss', `the real purge was applied: ${story}`);
  assert.equal(originHits(path), originBefore + 1, 'the miss reached the origin');
  assert.equal(res.text, `${path} v${originBefore + 1}`, 'the edge serves the new body');
  await waitFor(() => target.node.bus.state() === 'in-sync', PATIENCE_MS);
  assert.equal(target.node.bus.state(), 'in-sync', `and the bus is in sync: ${story}`);
  return message;
}

/** The epoch and counter Redis holds for a namespace. */
async function redisView(opts: BusOptions): Promise<{ epoch: string | null; seq: number }> {
  const [epoch, seq] = await admin.mget(`${opts.namespace}:epoch`, `${opts.namespace}:seq`);
  return { epoch: epoch ?? null, seq: Number(seq ?? 0) };
}

/** The sealed text of the newest entry in a namespace's stream: what an eavesdropper captured. */
async function newestInStream(opts: BusOptions): Promise<string> {
  const [entry] = await admin.xrevrange(`${opts.namespace}:stream`, '+', '-', 'COUNT', 1);
  const fields = entry?.[1] ?? [];
  const text = fields[fields.indexOf('m') + 1] ?? '';
  assert.ok(text.startsWith('{'), 'captured a sealed message');
  return text;
}

/**
 * Cuts every subscriber off and keeps them off during `during` (maxclients 1: connections already
 * open keep working, new ones are refused), so that they catch up from the stream afterwards.
 */
async function whileSubscribersCut(nodes: EdgeNode[], during: () => Promise<void>): Promise<void> {
  await admin.config('SET', 'maxclients', '1');
  try {
    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => nodes.every((n) => n.bus.state() === 'down'), PATIENCE_MS);
    for (const n of nodes) assert.equal(n.bus.state(), 'down', 'the subscriber noticed the drop');
    await during();
  } finally {
    await admin.config('SET', 'maxclients', '10000');
  }
}

/** Counts that are not in every version of BusStats read as 0. */
const counted = (stats: BusStats, name: string): number => Number((stats as unknown as Record<string, unknown>)[name] ?? 0);

before(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { maxRetriesPerRequest: 50, retryStrategy: () => 50 });
  admin.on('error', () => undefined);
  origin = await customOrigin(answer);
});

after(async () => {
  for (const node of edges.splice(0)) await node.close();
  await Promise.all(buses.splice(0).map((b) => b.close()));
  admin?.disconnect();
  await origin?.close();
  await server?.stop();
});

describe('bus forgery: validly signed messages Redis never numbered do not deafen an edge', () => {
  test('(a) a message of another namespace sharing the secret, PUBLISHed on the channel and XADDed to the stream, is not applied and does not move the epoch', async () => {
    const mine = options();
    const theirs = options();
    const publisher = bus(mine);
    const victim = await edge(mine, 'edge-a');
    await realPurgeIsApplied(publisher, victim, '/a/warm-up');
    const epochBefore = victim.node.bus.stats().epoch;

    // The other namespace purges a URL this edge also caches; the attacker copies its message across.
    await prime(victim.url, '/a/victim');
    const victimHits = originHits('/a/victim');
    await publishInvalidation(bus(theirs), { urls: [`${origin.url}/a/victim`], all: true });
    const foreign = await newestInStream(theirs);
    await admin.publish(`${mine.namespace}:inv`, foreign);

    // A real purge right after it on the channel, and one the edge only gets by catching up through the stream.
    await realPurgeIsApplied(publisher, victim, '/a/after-channel');
    const victimAfter = await fetchFrom(victim.url, 'GET', '/a/victim');
    assert.equal(victimAfter.cacheStatus.hit, true, 'the foreign purge was not applied');
    assert.equal(originHits('/a/victim'), victimHits, 'the origin did not see the victim URL again');

    await prime(victim.url, '/a/after-stream');
    const streamHits = originHits('/a/after-stream');
    const appliedBefore = victim.node.stats().applied;
    // In the stream under the next number: the catch-up below reads it beside the real one.
    const next = await redisView(mine);
    await admin.xadd(`${mine.namespace}:stream`, '*', 's', String(next.seq + 1), 'e', String(next.epoch), 'm', foreign);
    await whileSubscribersCut([victim.node], async () => {
      await publishInvalidation(publisher, { urls: [`${origin.url}/a/after-stream`] });
    });
    await waitFor(() => victim.node.stats().applied > appliedBefore && victim.node.bus.state() === 'in-sync', PATIENCE_MS);
    const caughtUp = await fetchFrom(victim.url, 'GET', '/a/after-stream');
    assert.equal(caughtUp.cacheStatus.fwd, 'uri-miss', 'the purge replayed from the stream was applied');
    assert.equal(originHits('/a/after-stream'), streamHits + 1);

    const stats = victim.node.bus.stats();
    assert.equal(stats.state, 'in-sync');
    assert.equal(stats.epoch, epochBefore, 'the edge still follows its own epoch');
    assert.equal(stats.epoch, (await redisView(mine)).epoch, "which is Redis's");
    assert.equal(stats.resyncs, 0, 'nothing made it resync');
    assert.ok(stats.forged >= 2, `the foreign message was refused on the channel and in the stream: ${JSON.stringify(stats)}`);
  });

  test('(b) a real message captured before Redis restarted empty, replayed after, does not move an edge back to the old epoch', async () => {
    const mine = options();
    const publisher = bus(mine);
    const survivor = await edge(mine, 'edge-survivor');
    await realPurgeIsApplied(publisher, survivor, '/b/warm-up');
    await publishInvalidation(publisher, { urls: [`${origin.url}/b/victim`] });
    const captured = await newestInStream(mine);
    const oldEpoch = (await redisView(mine)).epoch;

    await server.restart(); // no persistence: the epoch, the counter and the stream are gone
    await publishInvalidation(publisher, { tags: ['after-restart'] }, { retryForMs: PATIENCE_MS });
    const newEpoch = (await redisView(mine)).epoch;
    assert.notEqual(newEpoch, oldEpoch, 'Redis started a new epoch');
    const newcomer = await edge(mine, 'edge-newcomer'); // joined after the restart: it never saw the old epoch
    await waitFor(() => survivor.node.bus.stats().epoch === newEpoch && survivor.node.bus.state() === 'in-sync', PATIENCE_MS);
    assert.equal(survivor.node.bus.stats().epoch, newEpoch, 'the survivor resynced and follows the new epoch');

    for (const target of [survivor, newcomer]) await prime(target.url, '/b/victim');
    const victimHits = originHits('/b/victim');
    await admin.publish(`${mine.namespace}:inv`, captured);
    for (const target of [survivor, newcomer]) {
      await realPurgeIsApplied(publisher, target, `/b/after-${target.node.id}`);
      const stats = target.node.bus.stats();
      assert.equal(stats.epoch, newEpoch, `${target.node.id} still follows the new epoch: ${JSON.stringify(stats)}`);
    }
    for (const target of [survivor, newcomer]) {
      assert.equal((await fetchFrom(target.url, 'GET', '/b/victim')).cacheStatus.hit, true, `${target.node.id}: the replayed purge was not applied`);
    }
    assert.equal(originHits('/b/victim'), victimHits, 'the origin did not see the victim URL again');
    const newcomerStats = newcomer.node.bus.stats();
    assert.equal(newcomerStats.resyncs, 0, `the newcomer never resynced: ${JSON.stringify(newcomerStats)}`);
    assert.equal(counted(newcomerStats, 'foreignEpoch'), 1, 'the replay was dropped as a message of another epoch than Redis reports');
    // The survivor's subscriber may still be re-subscribing after the restart when the replay is
    // sent (then it never receives it); when it does, the replay is counted, never applied.
    assert.ok(counted(survivor.node.bus.stats(), 'foreignEpoch') <= 1, 'on the survivor, at most the one replay was refused');
  });

  test('(c) a validly signed message with seq 1e9 in the live epoch is dropped; later real purges are applied', async () => {
    const mine = options();
    const publisher = bus(mine);
    const victim = await edge(mine, 'edge-c');
    const warm = await realPurgeIsApplied(publisher, victim, '/c/warm-up');
    await prime(victim.url, '/c/victim');
    const victimHits = originHits('/c/victim');
    const resyncsBefore = victim.node.bus.stats().resyncs;

    const farFuture = buildInvalidation({ urls: [`${origin.url}/c/victim`] }, { epoch: warm.epoch, seq: 1e9, id: 'far-future', issuedAtMs: Date.now() });
    await admin.publish(`${mine.namespace}:inv`, seal('inv', farFuture, signing, mine.namespace));
    // Before the fix, the hole below 1e9 was given up on after two replays: a resync to 1e9.
    await waitFor(() => {
      const stats = victim.node.bus.stats();
      return stats.resyncs > resyncsBefore || counted(stats, 'aheadOfCounter') > 0;
    }, PATIENCE_MS);

    for (let i = 0; i < 3; i++) await realPurgeIsApplied(publisher, victim, `/c/after-${i}`);
    assert.equal((await fetchFrom(victim.url, 'GET', '/c/victim')).cacheStatus.hit, true, 'the far-future purge was not applied');
    assert.equal(originHits('/c/victim'), victimHits);
    const stats = victim.node.bus.stats();
    assert.equal(stats.resyncs, resyncsBefore, `no resync: ${JSON.stringify(stats)}`);
    assert.equal(counted(stats, 'aheadOfCounter'), 1, "dropped as beyond Redis's counter");
    assert.ok(stats.lastAppliedSeq < 1000, `numbering follows Redis's counter, not the forgery: ${stats.lastAppliedSeq}`);
  });
});
