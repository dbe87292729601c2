// The bus survives losing its primary: edges and a publisher on a Redis Sentinel setup of this
// test's own (a primary, a replica, three sentinels: real processes on free ports, stopped by PID).
// 1. Purges published in a loop while the primary is SIGKILLed: every purge whose publish
//    succeeded reaches every edge (applied, or covered by a resync): the purged URL is never
//    served as a hit of the old body, and the origin saw every edge come back for it.
// 2. The regression case, forced: the replica is cut off and frozen, the primary publishes K
//    purges (the edges apply them), dies, and the replica (without them) is promoted. Its counter
//    is behind the edges'; the next purge reuses a number they applied. The edges must resync
//    ('sequence regression') and apply that purge, not drop it as a duplicate.
// 3. A graceful fail-over (SENTINEL FAILOVER): the old primary stays up as a replica. Connections
//    to it must move (a write there is READONLY; a subscriber there would hear nothing): the next
//    purge is published on the new primary and reaches every edge.
// 4. READONLY (a write that reached a demoted primary) is MCDN_BUS_UNAVAILABLE, and retried.
// 5. The CLI on Sentinel: `edge --redis redis-sentinel://...`, `edge --config` with bus.sentinels,
//    then `purge --wait` and `edges` through the same URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startCliEdge } from '../helpers/cli-edge.js';
import { customOrigin, fetchFrom, sleep } from '../helpers/harness.js';
import type { Fetched } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startSentinelSetup } from '../helpers/sentinel.js';
import { registryTrusted } from '../helpers/registry-trust.js';
import type { SentinelSetup } from '../helpers/sentinel.js';
import { createBus } from '../../edge/bus/index.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions, InvalidationBus } from '../../edge/bus/types.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { MiniCdnError } from '../../common/errors.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';

const signing = { current: 'k1', keys: { k1: randomBytes(24).toString('hex') } };
const MAX_AGE_S = 3600;
const EDGES = 2;

/** An origin whose every path has a version (bumped by the test) and counts its requests per path. */
async function versionedOrigin(): Promise<{ url: string; bump(path: string): number; version(path: string): number; hits(path: string): number; close(): Promise<void> }> {
  const versions = new Map<string, number>();
  const hits = new Map<string, number>();
  const origin = await customOrigin((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const version = versions.get(path) ?? 1;
    const etag = `"${version}"`;
    res.setHeader('cache-control', `max-age=${MAX_AGE_S}`);
    res.setHeader('etag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(`${path} v${version}`);
  });
  return {
    url: origin.url,
    bump: (path) => {
      const next = (versions.get(path) ?? 1) + 1;
      versions.set(path, next);
      return next;
    },
    version: (path) => versions.get(path) ?? 1,
    hits: (path) => hits.get(path) ?? 0,
    close: origin.close,
  };
}

interface World {
  setup: SentinelSetup;
  origin: Awaited<ReturnType<typeof versionedOrigin>>;
  options: BusOptions;
  edges: EdgeNode[];
  urls: string[];
  publisher: InvalidationBus;
  /** A subscriber of its own that records every resync reason (the edges count theirs). */
  resyncReasons: string[];
  observer: InvalidationBus;
  close(): Promise<void>;
}

let namespaceCounter = 0;

async function world(): Promise<World> {
  const setup = await startSentinelSetup();
  const opened: { close(): Promise<void> }[] = [];
  try {
    const origin = await versionedOrigin();
    opened.push(origin);
    const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `sentinel-${process.pid}-${++namespaceCounter}`, signing };
    const bus = (): InvalidationBus => createBus({ ...options, redisUrl: setup.url });
    const edges: EdgeNode[] = [];
    const urls: string[] = [];
    for (let i = 0; i < EDGES; i++) {
      const edge = createEdgeNode({ id: `sentinel-edge-${i}`, proxy: { origin: origin.url, cacheName: `edge-${i}` }, bus: bus(), signing });
      edges.push(edge);
      opened.unshift({ close: () => edge.close() });
      urls.push(await edge.start(0));
    }
    const resyncReasons: string[] = [];
    const observer = bus();
    opened.unshift(observer);
    await observer.subscribe({ onInvalidation: () => undefined, onResync: (reason) => void resyncReasons.push(reason) });
    const publisher = bus();
    opened.unshift(publisher);
    return {
      setup, origin, options, edges, urls, publisher, resyncReasons, observer,
      async close() {
        for (const o of opened) await o.close().catch(() => undefined);
        await setup.stopAll();
      },
    };
  } catch (err) {
    for (const o of opened) await o.close().catch(() => undefined);
    await setup.stopAll();
    throw err;
  }
}

/**
 * Polls `check` every 100 ms for up to `deadlineMs`; fails with `what`, the last `describe()` and
 * the last error. A check that throws counts as "not yet": the test's own connection to a server
 * that Sentinel is reconfiguring may be killed (every SLAVEOF a sentinel sends comes with CLIENT
 * KILL TYPE normal), and ioredis rejects it with "Connection is closed.".
 */
async function eventually(what: string, check: () => boolean | Promise<boolean>, describe: () => string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let failed = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      failed = `; the last check failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline) assert.fail(`${what} within ${deadlineMs} ms; ${describe()}${failed}`);
    await sleep(100);
  }
}

const busState = (w: World): string => w.edges.map((e) => JSON.stringify({ id: e.id, ...e.bus.stats(), edge: e.stats() })).join('\n');

/** Fetches `path` from every edge twice (a miss, then a hit), so that each has it cached. */
async function prime(w: World, path: string): Promise<void> {
  for (const url of w.urls) {
    await fetchFrom(url, 'GET', path);
    const again = await fetchFrom(url, 'GET', path);
    assert.equal(again.cacheStatus.hit, true, `${url}${path} is cached: ${JSON.stringify(again.cacheStatus)}`);
  }
}

/** What an edge serves for a purged `path` whose origin version is now `version`: never the old body from cache, never past freshness. */
function assertCurrent(res: Fetched, path: string, version: number, where: string): void {
  assert.equal(res.status, 200, where);
  assert.equal(res.text, `${path} v${version}`, `${where}: served ${JSON.stringify(res.text)} with Cache-Status ${JSON.stringify(res.cacheStatus)}`);
  const age = Number(res.headers['age'] ?? 0);
  assert.ok(age <= MAX_AGE_S, `${where}: served at age ${age}, past its freshness`);
}

test('purges published while the primary is killed: none lost at any edge', async (t) => {
  const w = await world();
  t.after(() => w.close());
  const COUNT = 40;
  const KILL_AT = 15;
  const paths = Array.from({ length: COUNT }, (_, i) => `/loop/${i}`);
  for (const path of paths) await prime(w, path);
  const before = new Map(paths.map((p) => [p, w.origin.hits(p)]));
  const succeeded: string[] = [];
  const failed: string[] = [];
  for (const [i, path] of paths.entries()) {
    if (i === KILL_AT) w.setup.signal(w.setup.primary, 'SIGKILL');
    w.origin.bump(path);
    try {
      await publishInvalidation(w.publisher, { urls: [w.origin.url + path] }, { retryForMs: 60_000 });
      succeeded.push(path);
    } catch {
      failed.push(path); // an unconfirmed publish: no promise made, nothing asserted
    }
  }
  await w.setup.waitForMaster(w.setup.replica.port);
  assert.ok(succeeded.length >= COUNT - 1, `publishes kept failing after the fail-over: ${failed.join(', ')}`);
  // Every edge back in sync and caught up with the new primary's counter.
  const counter = async (): Promise<number> => Number(await w.setup.command(w.setup.replica.port, 'GET', `${w.options.namespace}:seq`));
  await eventually('every edge in sync with the new primary', async () => {
    const head = await counter();
    return w.edges.every((e) => e.bus.state() === 'in-sync' && e.bus.stats().lastAppliedSeq === head);
  }, () => busState(w));
  for (const path of succeeded) {
    for (const [i, url] of w.urls.entries()) {
      const res = await fetchFrom(url, 'GET', path);
      assert.notEqual(res.cacheStatus.hit === true && res.text !== `${path} v${w.origin.version(path)}`, true, `edge ${i} served the old body of ${path} as a hit`);
      assertCurrent(res, path, w.origin.version(path), `edge ${i} ${path}`);
    }
    // Each edge went back to the origin for it after the purge (a fetch or a revalidation).
    assert.ok(w.origin.hits(path) >= (before.get(path) ?? 0) + EDGES, `origin requests for ${path}: ${w.origin.hits(path)}`);
  }
});

test('a fail-over to a replica that lacks the newest purges: edges resync, and the next purge is applied', async (t) => {
  const w = await world();
  t.after(() => w.close());
  const { setup } = w;
  const seqKey = `${w.options.namespace}:seq`;
  // Two purges replicated normally.
  for (const path of ['/warm/0', '/warm/1']) {
    await prime(w, path);
    w.origin.bump(path);
    await publishInvalidation(w.publisher, { urls: [w.origin.url + path] }, { retryForMs: 10_000 });
  }
  await eventually('the replica has the first purges', async () => Number(await setup.command(setup.replica.port, 'GET', seqKey)) === 2, () => busState(w));
  // Cut the replica off, then freeze it: what the primary takes from now on never reaches it.
  // (Freezing alone is not enough: the kernel would buffer the replication stream for it, and
  // the replica would read it after SIGCONT.)
  setup.signal(setup.replica, 'SIGSTOP');
  await setup.command(setup.primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
  const K = 3;
  const lost = Array.from({ length: K }, (_, i) => `/lost/${i}`);
  for (const path of lost) await prime(w, path);
  for (const path of lost) {
    w.origin.bump(path);
    await publishInvalidation(w.publisher, { urls: [w.origin.url + path] }, { retryForMs: 10_000 });
  }
  await eventually(`every edge applied seq ${2 + K}`, () => w.edges.every((e) => e.bus.stats().lastAppliedSeq === 2 + K), () => busState(w));
  for (const path of lost) for (const url of w.urls) assertCurrent(await fetchFrom(url, 'GET', path), path, w.origin.version(path), `${url}${path}`);
  // A copy cached after those purges: the one the next purge (on the new primary) must reach.
  const late = '/late';
  await prime(w, late);
  const resyncsBefore = w.edges.map((e) => e.stats().resyncs);
  const reconnectsBefore = w.edges.map((e) => e.bus.stats().reconnects);
  // The primary dies; the replica (without the K purges) wakes up and is promoted.
  setup.signal(setup.primary, 'SIGKILL');
  setup.signal(setup.replica, 'SIGCONT');
  await setup.waitForMaster(setup.replica.port);
  const counter = Number(await setup.command(setup.replica.port, 'GET', seqKey));
  assert.equal(counter, 2, 'the promoted replica lacks the purges it never received (the sequence regressed)');
  await eventually('every edge reconnected to the new primary and in sync', () => w.edges.every((e, i) => e.bus.stats().reconnects > (reconnectsBefore[i] ?? 0) && e.bus.state() === 'in-sync'), () => busState(w));
  // The next purge on the new primary takes seq 3, a number every edge already applied (/lost/0).
  const beforeLate = w.origin.hits(late);
  w.origin.bump(late);
  const { message, receipt } = await publishInvalidation(w.publisher, { urls: [w.origin.url + late] }, { retryForMs: 30_000, waitMs: 10_000 });
  assert.equal(message.seq, counter + 1);
  for (const [i, url] of w.urls.entries()) {
    const res = await fetchFrom(url, 'GET', late);
    assert.notEqual(res.cacheStatus.hit, true, `edge ${i} served ${late} from cache after its purge: ${res.text} ${JSON.stringify(res.cacheStatus)}`);
    assertCurrent(res, late, w.origin.version(late), `edge ${i} ${late}`);
  }
  assert.ok(w.origin.hits(late) >= beforeLate + EDGES, `every edge went back to the origin for ${late}`);
  assert.deepEqual(receipt?.unknown, [], `every edge confirmed the purge: ${JSON.stringify(receipt)}`);
  for (const [i, edge] of w.edges.entries()) {
    assert.ok(edge.stats().resyncs > (resyncsBefore[i] ?? 0), `edge ${i} resynced: ${busState(w)}`);
    assert.equal(edge.bus.stats().lastAppliedSeq, message.seq, `edge ${i} follows the new counter: ${busState(w)}`);
  }
  assert.ok(w.resyncReasons.includes('sequence regression'), `resync reasons: ${JSON.stringify(w.resyncReasons)}`);
  // And the copies cached before the fail-over are not trusted: each is revalidated at the origin.
  for (const path of ['/warm/0', ...lost]) {
    const beforeHits = w.origin.hits(path);
    for (const url of w.urls) {
      const res = await fetchFrom(url, 'GET', path);
      assert.notEqual(res.cacheStatus.hit === true && res.cacheStatus.fwd === undefined, true, `${url}${path} served as a plain hit after the resync: ${JSON.stringify(res.cacheStatus)}`);
      assertCurrent(res, path, w.origin.version(path), `${url}${path}`);
    }
    assert.ok(w.origin.hits(path) >= beforeHits + EDGES, `every edge revalidated ${path}`);
  }
});

test('a graceful fail-over (the old primary demoted, still up): the next purge reaches every edge', async (t) => {
  const w = await world();
  t.after(() => w.close());
  const { setup } = w;
  const path = '/graceful';
  await prime(w, path);
  await publishInvalidation(w.publisher, { urls: [`${w.origin.url}/warm`] }, { retryForMs: 10_000 }); // the publisher's link is up
  await eventually('the replica in sync', async () => String(await setup.command(setup.replica.port, 'INFO', 'replication')).includes('master_link_status:up'), () => busState(w));
  assert.equal(await setup.command(setup.sentinels[0]?.port ?? 0, 'SENTINEL', 'FAILOVER', 'm'), 'OK');
  await setup.waitForMaster(setup.replica.port);
  await eventually('the old primary demoted', async () => String(await setup.command(setup.primary.port, 'ROLE')).startsWith('slave'), () => busState(w));
  const before = w.origin.hits(path);
  w.origin.bump(path);
  const { message, receipt } = await publishInvalidation(w.publisher, { urls: [w.origin.url + path] }, { retryForMs: 30_000, waitMs: 10_000 });
  assert.ok(message.seq > 0);
  assert.equal(Number(await setup.command(setup.replica.port, 'GET', `${w.options.namespace}:seq`)), message.seq, 'published on the new primary');
  await eventually('every edge applied it', () => w.edges.every((e) => e.bus.stats().lastAppliedSeq >= message.seq), () => busState(w));
  for (const [i, url] of w.urls.entries()) assertCurrent(await fetchFrom(url, 'GET', path), path, w.origin.version(path), `edge ${i}`);
  assert.ok(w.origin.hits(path) >= before + EDGES);
  assert.deepEqual(receipt?.unknown, [], JSON.stringify(receipt));
});

test('a publish that meets READONLY (its server was demoted) is MCDN_BUS_UNAVAILABLE, and a retrying publisher gets through once it is a primary again', async (t) => {
  const a = await startRedisServer();
  const b = await startRedisServer();
  const publisher = createBus({ ...DEFAULT_BUS_OPTIONS, namespace: `readonly-${process.pid}`, signing, redisUrl: a.url });
  t.after(async () => {
    await publisher.close();
    await a.stop();
    await b.stop();
  });
  const first = await publisher.publish({ all: true });
  // Demote A (it becomes a replica of B, empty): its clients stay connected, and writes answer READONLY.
  const direct = new Redis(a.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  direct.on('error', () => undefined); // A is stopped after the test; this connection must not retry it
  await direct.connect();
  await direct.call('REPLICAOF', '127.0.0.1', String(b.port));
  await assert.rejects(publisher.publish({ all: true }), (err: unknown) => err instanceof MiniCdnError && err.code === 'MCDN_BUS_UNAVAILABLE' && /READONLY/.test(err.message), 'a write on a replica');
  // A publisher that retries: A becomes a primary again meanwhile, and the publish goes through.
  const retried = publishInvalidation(publisher, { all: true }, { retryForMs: 30_000 });
  await sleep(300);
  await direct.call('REPLICAOF', 'NO', 'ONE');
  const { message } = await retried;
  direct.disconnect();
  assert.ok(message.seq >= 1 && message.id !== first.id);
});

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));

test('the CLI on Sentinel: edges by --redis redis-sentinel:// and by bus.sentinels, purge --wait and edges', async (t) => {
  const setup = await startSentinelSetup();
  const children: ChildProcess[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), 'mini-cdn-sentinel-cli-'));
  const origin = await versionedOrigin();
  t.after(async () => {
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    })));
    await origin.close();
    await setup.stopAll();
    await rm(dir, { recursive: true, force: true });
  });
  const secret = signing.keys.k1;
  const namespace = `sentinel-cli-${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, MINI_CDN_BUS_SECRET: secret, MINI_CDN_BUS_KEY_ID: 'k1', MINI_CDN_BUS_NAMESPACE: namespace };
  delete env['MINI_CDN_REDIS_URL'];
  const startEdge = async (args: string[]): Promise<string> => {
    const edge = await startCliEdge(args, env);
    children.push(edge.child);
    return edge.url;
  };
  const run = (args: string[]): Promise<{ code: number | null; output: string }> => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
  };
  const byFlag = await startEdge(['--origin', origin.url, '--port', '0', '--id', 'cli-flag-edge', '--redis', setup.url, '--no-access-log']);
  const file = path.join(dir, 'edge.yaml');
  const sentinels = setup.sentinels.map((s) => `    - { host: 127.0.0.1, port: ${s.port} }`).join('\n');
  await writeFile(file, `listen:\n  port: 0\norigins:\n  - url: ${origin.url}\nlogging:\n  accessLog: false\nbus:\n  namespace: ${namespace}\n  secret: ${secret}\n  sentinels:\n${sentinels}\n  sentinelMaster: m\n`);
  const byConfig = await startEdge(['--config', file, '--id', 'cli-config-edge']);
  const both = (text: string): boolean => text.includes(`cli-flag-edge\t${byFlag}`) && text.includes(`cli-config-edge\t${byConfig}`);
  let listed = '';
  for (let tries = 0; tries < 100 && !both(listed); tries++) {
    listed = (await run(['edges', '--redis', setup.url])).output;
    if (!both(listed)) await sleep(100);
  }
  assert.ok(both(listed), `mini-cdn edges lists both edges: ${listed}`);
  for (const url of [byFlag, byConfig]) {
    await fetchFrom(url, 'GET', '/cli/a');
    assert.equal((await fetchFrom(url, 'GET', '/cli/a')).cacheStatus.hit, true);
  }
  // The registry is as young as the namespace's epoch (created by the first edge): a receipt is
  // complete only once it has outlived one lease + margin (before, it says registry reset, exit 3).
  await registryTrusted(`redis://127.0.0.1:${setup.primary.port}`, namespace);
  origin.bump('/cli/a');
  const { code, output } = await run(['purge', '--url', `${origin.url}/cli/a`, '--wait', '5000', '--redis', setup.url]);
  assert.equal(code, 0, output);
  assert.match(output, /confirmed\s+cli-config-edge/);
  assert.match(output, /confirmed\s+cli-flag-edge/);
  for (const url of [byFlag, byConfig]) assertCurrent(await fetchFrom(url, 'GET', '/cli/a'), '/cli/a', origin.version('/cli/a'), url);
  const bad = await run(['purge', '--all', '--redis', 'redis-sentinel://127.0.0.1:1']);
  assert.equal(bad.code, 2, bad.output);
  assert.match(bad.output, /redis-sentinel:\/\/host:port,host:port\/NAME/);
});
