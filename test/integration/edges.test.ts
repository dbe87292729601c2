// Edges on the in-process bus, through real sockets: callbacks reach every edge, receipts name
// who confirmed, the admin API publishes purges, callback mode trusts copies only while the bus
// is in sync, and a tier never hands back a copy its child has seen purged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdminServer } from '../../edge/admin-api.js';
import type { AdminServer } from '../../edge/admin-api.js';
import { createMemoryBus } from '../../edge/bus/memory-bus.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { createPublisher, publishChanges } from '../../origin/publisher.js';
import type { ProxyOptions } from '../../proxy/server/options.js';
import { fetchFrom, waitFor } from '../helpers/harness.js';

const signing = { current: 'k1', keys: { k1: 'test-secret' } };
let namespaceCounter = 0;

interface Cluster {
  origin: DemoOrigin;
  originUrl: string;
  options: BusOptions;
  edges: EdgeNode[];
  urls: string[];
  close(): Promise<void>;
}

async function cluster(count: number, proxy: Partial<ProxyOptions> = {}): Promise<Cluster> {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `edges-test-${process.pid}-${++namespaceCounter}`, signing };
  const edges: EdgeNode[] = [];
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const edge = createEdgeNode({ id: `edge-${i}`, proxy: { origin: originUrl, ...proxy }, bus: createMemoryBus(options), signing });
    edges.push(edge);
    urls.push(await edge.start(0));
  }
  return {
    origin,
    originUrl,
    options,
    edges,
    urls,
    async close() {
      for (const edge of edges) await edge.close();
      await origin.close();
    },
  };
}

async function primeAll(c: Cluster, path: string): Promise<void> {
  for (const url of c.urls) {
    await fetchFrom(url, 'GET', path);
    assert.equal((await fetchFrom(url, 'GET', path)).cacheStatus.hit, true);
  }
}

describe('callbacks reach every edge', () => {
  let c: Cluster;
  before(async () => {
    c = await cluster(3);
  });
  after(() => c.close());

  const kinds: Array<{ name: string; setup: (path: string) => Record<string, string>; request: (path: string, base: string) => object }> = [
    { name: 'URL', setup: () => ({}), request: (path, base) => ({ urls: [base + path] }) },
    { name: 'prefix', setup: () => ({}), request: (path, base) => ({ prefixes: [base + path.slice(0, 6)] }) },
    { name: 'tag', setup: (path) => ({ 'surrogate-key': `t${path.length}-${path.slice(-3)}` }), request: (path) => ({ tags: [`t${path.length}-${path.slice(-3)}`] }) },
  ];
  let n = 0;
  for (const kind of kinds) {
    test(`a purge by ${kind.name} reaches every edge, with a complete receipt`, async () => {
      const path = `/k${++n}${kind.name}-x${n}`;
      c.origin.setResource(path, { body: 'v1', headers: { 'cache-control': 'max-age=600', ...kind.setup(path) } });
      await primeAll(c, path);
      const bus = createMemoryBus(c.options);
      const { receipt } = await publishInvalidation(bus, kind.request(path, c.originUrl), { waitMs: 2_000 });
      await bus.close();
      assert.ok(receipt?.complete, JSON.stringify(receipt));
      assert.deepEqual(receipt?.confirmed.map((e) => e.edgeId), ['edge-0', 'edge-1', 'edge-2']);
      for (const url of c.urls) assert.equal((await fetchFrom(url, 'GET', path)).cacheStatus.fwd, 'uri-miss');
    });
  }

  test('a change at the demo origin is pushed to every edge', async () => {
    const path = '/pushed';
    c.origin.setResource(path, { body: 'before', headers: { 'cache-control': 'max-age=600' } });
    await primeAll(c, path);
    const bus = createMemoryBus(c.options);
    const publisher = createPublisher({ bus });
    const stop = publishChanges(c.origin, publisher, c.originUrl);
    c.origin.setResource(path, { body: 'after', headers: { 'cache-control': 'max-age=600' } });
    await waitFor(() => c.edges.every((e) => e.proxy.store.stats().entries === 0 || ![...e.proxy.store.keys()].some((k) => k.includes(path))));
    for (const url of c.urls) assert.equal((await fetchFrom(url, 'GET', path)).text, 'after');
    stop();
    await bus.close();
  });

  test('a receipt names an edge that stopped listening as unknown while its lease may still run', async () => {
    const d = await cluster(2);
    try {
      const [alive, dead] = d.edges as [EdgeNode, EdgeNode];
      await dead.bus.close(); // stops receiving; its registry entry stays until it expires
      const bus = createMemoryBus(d.options);
      const { receipt } = await publishInvalidation(bus, { all: true }, { waitMs: 300 });
      await bus.close();
      assert.equal(receipt?.complete, false);
      assert.deepEqual(receipt?.confirmed.map((e) => e.edgeId), [alive.id]);
      assert.deepEqual(receipt?.unknown, [dead.id], 'a 300 ms wait ends before its 3 s lease');
      assert.deepEqual(receipt?.lapsed, []);
    } finally {
      await d.close();
    }
  });
});

describe('admin API', () => {
  let c: Cluster;
  let admin: AdminServer;
  let adminUrl: string;
  before(async () => {
    c = await cluster(2);
    admin = createAdminServer(c.edges[0] as EdgeNode, { token: 'sesame' });
    adminUrl = await admin.listen(0);
  });
  after(async () => {
    await admin.close();
    await c.close();
  });
  const auth = { authorization: 'Bearer sesame' };

  test('refuses requests without the bearer token', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'sesame' }] as Array<Record<string, string>>) {
      const res = await fetchFrom(adminUrl, 'POST', '/purge', { headers, body: '{"all":true}' });
      assert.equal(res.status, 401);
      assert.match(res.text, /MCDN_UNAUTHORIZED/);
    }
    assert.equal((await fetchFrom(adminUrl, 'GET', '/healthz')).status, 200);
  });

  test('POST /purge publishes to every edge and returns the receipt', async () => {
    c.origin.setResource('/adm', { body: 'x', headers: { 'cache-control': 'max-age=600' } });
    await primeAll(c, '/adm');
    const res = await fetchFrom(adminUrl, 'POST', '/purge', { headers: auth, body: JSON.stringify({ urls: [`${c.originUrl}/adm`], waitMs: 2000 }) });
    assert.equal(res.status, 202);
    const body = JSON.parse(res.text) as { receipt: { complete: boolean; confirmed: unknown[] } };
    assert.equal(body.receipt.complete, true);
    assert.equal(body.receipt.confirmed.length, 2);
    for (const url of c.urls) assert.equal((await fetchFrom(url, 'GET', '/adm')).cacheStatus.fwd, 'uri-miss');
  });

  test('PURGE /path purges that URL on every edge', async () => {
    c.origin.setResource('/verb', { body: 'x', headers: { 'cache-control': 'max-age=600' } });
    await primeAll(c, '/verb');
    const res = await fetchFrom(adminUrl, 'PURGE', '/verb?wait=2000', { headers: auth });
    assert.equal(res.status, 202);
    for (const url of c.urls) assert.equal((await fetchFrom(url, 'GET', '/verb')).cacheStatus.fwd, 'uri-miss');
  });

  const bad: Array<{ name: string; body: string }> = [
    { name: 'not JSON', body: '{' },
    { name: 'no target', body: '{}' },
    { name: 'a relative URL', body: '{"urls":["/x"]}' },
    { name: 'an unknown field', body: '{"url":"http://a/x"}' },
    { name: 'a bad wait', body: '{"all":true,"waitMs":-1}' },
  ];
  for (const row of bad) {
    test(`POST /purge with ${row.name}: 400 MCDN_INVALIDATION_INVALID`, async () => {
      const res = await fetchFrom(adminUrl, 'POST', '/purge', { headers: auth, body: row.body });
      assert.equal(res.status, 400);
      assert.match(res.text, /MCDN_INVALIDATION_INVALID/);
    });
  }

  test('GET /edges lists the live edges; GET /stats reports the bus and the cache', async () => {
    const edges = JSON.parse((await fetchFrom(adminUrl, 'GET', '/edges', { headers: auth })).text) as { edges: Array<{ id: string }> };
    assert.deepEqual(edges.edges.map((e) => e.id).sort(), ['edge-0', 'edge-1']);
    const stats = JSON.parse((await fetchFrom(adminUrl, 'GET', '/stats', { headers: auth })).text) as { bus: { state: string }; edge: { applied: number } };
    assert.equal(stats.bus.state, 'in-sync');
    assert.ok(stats.edge.applied >= 1);
  });
});

describe('consistency modes', () => {
  test('callback mode keeps a copy past its freshness while the bus is in sync, and falls back when it is not', async () => {
    const c = await cluster(1, { consistency: { mode: 'callback', edgeTtlMs: 3_600_000 } });
    try {
      const [url] = c.urls as [string];
      c.origin.setResource('/cb', { body: 'x', headers: { 'cache-control': 'max-age=60', age: '120' } });
      await fetchFrom(url, 'GET', '/cb');
      const kept = await fetchFrom(url, 'GET', '/cb');
      assert.equal(kept.cacheStatus.hit, true);
      assert.equal(kept.cacheStatus.detail, 'callback');
      assert.equal(c.origin.count('/cb'), 1);
      const bus = (c.edges[0] as EdgeNode).bus as ReturnType<typeof createMemoryBus>;
      bus.simulateDisconnect(10_000); // long enough for the next request under any load; close() ends it
      await waitFor(() => bus.state() !== 'in-sync');
      const fallback = await fetchFrom(url, 'GET', '/cb');
      assert.equal(fallback.cacheStatus.fwd, 'stale');
      assert.equal(fallback.cacheStatus.detail, 'callbacks-not-in-sync');
      assert.equal(c.origin.count('/cb'), 2);
    } finally {
      await c.close();
    }
  });

  test('validate mode revalidates every request', async () => {
    const c = await cluster(1, { consistency: { mode: 'validate', edgeTtlMs: 0 } });
    try {
      const [url] = c.urls as [string];
      c.origin.setResource('/val', { body: 'x', headers: { 'cache-control': 'max-age=600' } });
      await fetchFrom(url, 'GET', '/val');
      const again = await fetchFrom(url, 'GET', '/val');
      assert.equal(again.cacheStatus['fwd-status'], 304);
      assert.equal(again.cacheStatus.detail, 'validate-mode');
      assert.equal(c.origin.count('/val'), 2);
    } finally {
      await c.close();
    }
  });
});

test('a shield that has not applied a purge yet does not hand the purged copy back to its edge', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `tier-test-${process.pid}`, signing };
  const shieldBus = createMemoryBus(options);
  const shield = createEdgeNode({ id: 'shield', proxy: { origin: originUrl, cacheName: 'shield' }, bus: shieldBus, signing });
  const shieldUrl = await shield.start(0);
  const edge = createEdgeNode({ id: 'edge', proxy: { origin: shieldUrl }, bus: createMemoryBus(options), signing });
  const edgeUrl = await edge.start(0);
  try {
    origin.setResource('/tiered', { body: 'old', headers: { 'cache-control': 'max-age=600' } });
    assert.equal((await fetchFrom(edgeUrl, 'GET', '/tiered')).text, 'old');
    // The shield misses the callback for a while; the edge applies it at once.
    shieldBus.simulateDisconnect(10_000); // close() ends it
    origin.setResource('/tiered', { body: 'new', headers: { 'cache-control': 'max-age=600' } });
    const bus = createMemoryBus(options);
    await publishInvalidation(bus, { urls: [`${originUrl}/tiered`] });
    await bus.close();
    await waitFor(() => edge.stats().applied >= 1);
    assert.equal(shield.stats().applied, 0, 'the shield has not applied it');
    const refetched = await fetchFrom(edgeUrl, 'GET', '/tiered');
    assert.equal(refetched.text, 'new');
  } finally {
    await edge.close();
    await shield.close();
    await origin.close();
  }
});

test('misses from many edges collapse at their shield into one origin request', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `tier-collapse-${process.pid}`, signing };
  const shield = createEdgeNode({ id: 'shield', proxy: { origin: originUrl, cacheName: 'shield' }, bus: createMemoryBus(options), signing });
  const shieldUrl = await shield.start(0);
  const children = [0, 1, 2].map((i) => createEdgeNode({ id: `child-${i}`, proxy: { origin: shieldUrl, cacheName: `child-${i}` }, bus: createMemoryBus(options), signing }));
  const urls = await Promise.all(children.map((child) => child.start(0)));
  try {
    // One site name for every edge, as DNS would give it: the shield keys on the client's Host, which the edges pass on.
    const answers = await Promise.all(urls.flatMap((url) => Array.from({ length: 5 }, () => fetchFrom(url, 'GET', '/slow?ms=300', { headers: { host: 'www.example.test' } }))));
    assert.ok(answers.every((a) => a.status === 200 && a.text.startsWith('slow')));
    assert.equal(origin.count('/slow?ms=300'), 1, 'one origin request for 15 client requests on 3 edges');
  } finally {
    for (const child of children) await child.close();
    await shield.close();
    await origin.close();
  }
});
