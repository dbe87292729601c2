// Unsafe methods through one edge invalidate the URL on every edge: one suite, run over the
// in-process bus (test/integration/unsafe-invalidation.test.ts) and over a redis-server of the
// test's own (test/system/unsafe-invalidation-redis.test.ts). Two in-process edges on real
// sockets, an origin of the test's own that counts GETs per path and answers writes with the
// status the path asks for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { BusOptions, InvalidationBus } from '../../edge/bus/types.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { customOrigin, fetchFrom, waitFor } from './harness.js';
import type { Fetched } from './harness.js';

type Origin = Awaited<ReturnType<typeof customOrigin>>;
export interface Edge {
  node: EdgeNode;
  url: string;
}

const signing = { current: 'k1', keys: { k1: 'unsafe-methods-test-secret' } };
/** Generous bound for a delivery; never asserted on. */
const PATIENCE_MS = 8_000;
let namespaces = 0;

export function unsafeBusOptions(): BusOptions {
  return { ...DEFAULT_BUS_OPTIONS, signing, namespace: `unsafe-${process.pid}-${++namespaces}`, streamMaxLength: 1000, gapWaitMs: 50 };
}

/**
 * GET: "<path> v<n>" (n = the nth GET of that path), fresh for 10 minutes. Writes: 403 under
 * /fail-4/, 500 under /fail-5/, 201 with Location /items/new for POST /items, else 204.
 */
function originHandler(gets: Map<string, number>): http.RequestListener {
  return (req, res) => {
    const path = req.url ?? '/';
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' || req.method === 'HEAD') {
        const n = (gets.get(path) ?? 0) + 1;
        gets.set(path, n);
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
        res.end(`${path} v${n}`);
      } else if (path.startsWith('/fail-4/')) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('no');
      } else if (path.startsWith('/fail-5/')) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('broken');
      } else if (req.method === 'POST' && path === '/items') {
        res.writeHead(201, { location: '/items/new', 'content-type': 'text/plain' }).end('created');
      } else {
        res.writeHead(204).end();
      }
    });
  };
}

/**
 * The suite. `makeBus` gives one bus of the namespace per call (each edge has its own); it is
 * called after the file's own before() hooks ran (a redis-server may be started there).
 */
export function unsafeInvalidationSuite(label: string, makeBus: (options: BusOptions) => InvalidationBus): void {
  describe(`${label}: a successful unsafe request through one edge invalidates the URL on every edge`, () => {
    const gets = new Map<string, number>();
    let origin: Origin;
    let a: Edge;
    let b: Edge;
    const nodes: EdgeNode[] = [];

    async function edge(options: BusOptions, id: string): Promise<Edge> {
      const node = createEdgeNode({ id, proxy: { origin: origin.url }, bus: makeBus(options), signing });
      nodes.push(node);
      return { node, url: await node.start(0) };
    }

    before(async () => {
      origin = await customOrigin(originHandler(gets));
      const options = unsafeBusOptions();
      a = await edge(options, 'edge-a');
      b = await edge(options, 'edge-b');
    });
    after(async () => {
      for (const node of nodes.splice(0)) await node.close();
      await origin?.close();
    });

    const getsOf = (path: string): number => gets.get(path) ?? 0;

    async function prime(target: Edge, path: string): Promise<void> {
      await fetchFrom(target.url, 'GET', path);
      assert.equal((await fetchFrom(target.url, 'GET', path)).cacheStatus.hit, true, `${path} is cached on ${target.node.id}`);
    }

    /** Sends the write through edge A, then waits until edge B has applied one more invalidation. */
    async function writeThroughA(method: string, path: string): Promise<Fetched> {
      const applied = b.node.stats().applied;
      const res = await fetchFrom(a.url, method, path, { body: 'new content', headers: { 'content-type': 'text/plain' } });
      if (res.status < 400) await waitFor(() => b.node.stats().applied > applied, PATIENCE_MS);
      return res;
    }

    async function missOnB(path: string, what: string): Promise<void> {
      const before = getsOf(path);
      const res = await fetchFrom(b.url, 'GET', path);
      assert.equal(res.cacheStatus.fwd, 'uri-miss', `${what}: edge B no longer serves its copy: ${JSON.stringify(res.cacheStatus)}`);
      assert.equal(getsOf(path), before + 1, `${what}: the GET through B reached the origin`);
      assert.equal(res.text, `${path} v${before + 1}`, `${what}: B serves the origin's current body`);
    }

    for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
      test(`a ${method} through edge A: the next GET of that URL through edge B is a miss`, async () => {
        const path = `/doc/${method.toLowerCase()}?v=1`;
        await prime(a, path);
        await prime(b, path);
        const published = a.node.stats().unsafePublished;
        const res = await writeThroughA(method, path);
        assert.equal(res.status, 204);
        await missOnB(path, method);
        const onA = await fetchFrom(a.url, 'GET', path);
        assert.equal(onA.cacheStatus.fwd, 'uri-miss', 'and edge A dropped its own copy');
        await waitFor(() => a.node.stats().unsafePublished > published, PATIENCE_MS);
        assert.equal(a.node.stats().unsafePublished, published + 1, 'edge A published one invalidation');
      });
    }

    test('a POST answered 201 with Location: the created URL is invalidated on edge B too (RFC 9111 §4.4 targets)', async () => {
      await prime(b, '/items/new');
      const res = await writeThroughA('POST', '/items');
      assert.equal(res.status, 201);
      await missOnB('/items/new', 'the Location target');
    });

    test('a failed PUT (403, 500) invalidates nothing anywhere: edge B keeps serving its copy', async () => {
      const paths = ['/fail-4/doc', '/fail-5/doc'];
      for (const path of paths) {
        await prime(a, path);
        await prime(b, path);
      }
      const published = a.node.stats().unsafePublished;
      const counts = paths.map(getsOf);
      assert.equal((await writeThroughA('PUT', '/fail-4/doc')).status, 403);
      assert.equal((await writeThroughA('PUT', '/fail-5/doc')).status, 500);
      // A successful write after them, through the same edge: once B has it, anything A published before it is in.
      await prime(b, '/doc/marker');
      assert.equal((await writeThroughA('PUT', '/doc/marker')).status, 204);
      await missOnB('/doc/marker', 'the marker');
      for (const [i, path] of paths.entries()) {
        assert.equal((await fetchFrom(b.url, 'GET', path)).cacheStatus.hit, true, `${path}: still a hit on B`);
        assert.equal((await fetchFrom(a.url, 'GET', path)).cacheStatus.hit, true, `${path}: still a hit on A`);
        assert.equal(getsOf(path), counts[i], `${path}: the origin saw no GET`);
      }
      await waitFor(() => a.node.stats().unsafePublished > published, PATIENCE_MS);
      assert.equal(a.node.stats().unsafePublished, published + 1, 'only the marker was published');
    });
  });
}
