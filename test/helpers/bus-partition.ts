// Three callback-mode edges in this process on one redis-server, the third ("edge-cut") behind a
// TCP relay that the test uses to cut its link; a demo origin (max-age=0: only the callback
// extends a copy) and a publisher of its own. For test/system/bus-partition.test.ts.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createRedisBus } from '../../edge/bus/index.js';
import type { BusOptions, InvalidationBus } from '../../edge/bus/index.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import type { PurgeReceipt } from '../../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { fetchFrom } from './harness.js';
import type { Fetched } from './harness.js';
import type { OwnRedis } from './redis-server.js';
import { registryTrusted as trustedAfter } from './registry-trust.js';
import { startTcpRelay } from './tcp-relay.js';
import type { TcpRelay } from './tcp-relay.js';

export const SIGNING = { current: 'k1', keys: { k1: 'partition-test-secret' } };
/** Shorter than the defaults so that the file runs in reasonable time; the same ratios. */
export const TIMING = { leaseRenewMs: 500, leaseMs: 2_000, leaseMarginMs: 500, commandTimeoutMs: 1_000 };
export const EDGE_IDS = ['edge-a', 'edge-b', 'edge-cut'] as const;

export interface PartitionCluster {
  redis: OwnRedis;
  relay: TcpRelay;
  options: BusOptions;
  origin: DemoOrigin;
  originUrl: string;
  edges: EdgeNode[];
  urls: string[];
  cut: EdgeNode;
  cutUrl: string;
  publisher: InvalidationBus;
  /** A plain client for what the test does behind the buses' backs. */
  admin: Redis;
  close(): Promise<void>;
}

let namespaces = 0;

/** Polls until the condition holds or the deadline passes; the caller then asserts. */
export async function until(condition: () => boolean | Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

export const trusting = (edge: EdgeNode): boolean => edge.bus.leaseValid() && edge.bus.state() === 'in-sync';

export async function startPartitionCluster(redis: OwnRedis): Promise<PartitionCluster> {
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, ...TIMING, namespace: `partition-${process.pid}-${++namespaces}`, signing: SIGNING };
  const relay = await startTcpRelay(redis.port);
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const edges = EDGE_IDS.map((id) =>
    createEdgeNode({
      id,
      proxy: { origin: originUrl, consistency: { mode: 'callback', edgeTtlMs: 3_600_000 } },
      bus: createRedisBus(id === 'edge-cut' ? `redis://127.0.0.1:${relay.port}` : redis.url, options),
      signing: SIGNING,
    }),
  );
  const urls: string[] = [];
  for (const edge of edges) urls.push(await edge.start(0));
  const publisher = createRedisBus(redis.url, options);
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 50, retryStrategy: () => 100 });
  admin.on('error', () => undefined);
  await until(() => edges.every(trusting));
  for (const edge of edges) assert.ok(trusting(edge), `${edge.id} holds a lease and is in sync`);
  return {
    redis, relay, options, origin, originUrl, edges, urls, publisher, admin,
    cut: edges[2] as EdgeNode,
    cutUrl: urls[2] as string,
    async close() {
      for (const edge of edges) await edge.close();
      await publisher.close();
      admin.disconnect();
      await origin.close();
      await relay.close();
    },
  };
}

/** A path whose copy only the callback keeps (max-age=0), cached on every edge and served from the extension. */
export async function primeExtended(c: PartitionCluster, path: string, body: string): Promise<void> {
  c.origin.setResource(path, { body, headers: { 'cache-control': 'max-age=0' } });
  for (const [i, url] of c.urls.entries()) {
    await fetchFrom(url, 'GET', path);
    const res = await fetchFrom(url, 'GET', path);
    assert.equal(res.text, body);
    assert.equal(res.cacheStatus.detail, 'callback', `${EDGE_IDS[i]} serves ${path} past freshness, on the callback's word`);
  }
}

/** Publishes a purge of `path` and waits for its receipt (long enough for any lease to lapse). */
export async function purgeWithReceipt(c: PartitionCluster, path: string, waitMs = 20_000): Promise<PurgeReceipt> {
  const { receipt } = await publishInvalidation(c.publisher, { urls: [`${c.originUrl}${path}`] }, { waitMs, retryForMs: 20_000 });
  assert.ok(receipt, 'a receipt');
  return receipt;
}

/** What every edge serves for `path` now. */
export async function servedEverywhere(c: PartitionCluster, path: string): Promise<Fetched[]> {
  const answers: Fetched[] = [];
  for (const url of c.urls) answers.push(await fetchFrom(url, 'GET', path));
  return answers;
}

/** Until the registry is older than one lease + margin (a new namespace or an emptied Redis is a reset registry). */
export function registryTrusted(c: PartitionCluster): Promise<void> {
  return trustedAfter(c.redis.url, c.options.namespace, c.options.leaseMs + c.options.leaseMarginMs);
}

/** Redis's client addresses (ip:port) of the connections the relay carries, among those of `type`. */
export async function relayedClients(c: PartitionCluster, type: 'pubsub' | 'normal'): Promise<string[]> {
  const ports = new Set(c.relay.serverSidePorts().map(String));
  const list = String(await c.admin.call('CLIENT', 'LIST', 'TYPE', type));
  return list
    .split('\n')
    .map((line) => /\baddr=(\S+)/.exec(line)?.[1])
    .filter((addr): addr is string => addr !== undefined && ports.has(addr.split(':').at(-1) as string));
}
