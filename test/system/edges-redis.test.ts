// The mini CDN as processes: an origin and three edges started with the CLI, on a redis-server of
// this test's own (free port, stopped by PID). Purges by URL, prefix and everything reach every
// edge; a forged message is ignored; receipts name every lease holder and a killed one as unknown;
// a Redis restart in the middle of a stream of purges loses none; callback mode falls back to
// ttl when the bus is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { fetchFrom, sleep } from '../helpers/harness.js';
import type { Fetched } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { registryTrusted } from '../helpers/registry-trust.js';
import type { OwnRedis } from '../helpers/redis-server.js';
import { createBus } from '../../edge/bus/index.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
// This file's own bus secret, given to every process it starts.
const SECRET = randomBytes(24).toString('hex');
const signing = { current: 'k1', keys: { k1: SECRET } };

interface Proc {
  child: ChildProcess;
  url: string;
}

let redis: OwnRedis;
const started: ChildProcess[] = [];

function env(): NodeJS.ProcessEnv {
  return { ...process.env, MINI_CDN_REDIS_URL: redis.url, MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: 'k1' };
}

/** Starts `mini-cdn ...args` and resolves once it prints its first line (with its URL). */
function start(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (match && output.includes('\n')) resolve({ child, url: match[0] });
    });
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => reject(new Error(`mini-cdn ${args[0]} exited ${code}: ${output}`)));
  });
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Fetches until `done` holds for the answer or 5 s have passed; returns the last answer. */
async function fetchUntil(base: string, path: string, done: (res: Fetched) => boolean): Promise<Fetched> {
  let res = await fetchFrom(base, 'GET', path);
  for (let tries = 0; !done(res) && tries < 50; tries++) {
    await sleep(100);
    res = await fetchFrom(base, 'GET', path);
  }
  return res;
}

async function liveEdgeCount(): Promise<number> {
  const bus = createBus({ ...DEFAULT_BUS_OPTIONS, signing, redisUrl: redis.url });
  try {
    return (await bus.liveEdges()).length;
  } finally {
    await bus.close();
  }
}

let origin: Proc;
const edges: Proc[] = [];
const alive = (): Proc[] => edges.filter((e) => e.child.exitCode === null && e.child.signalCode === null);

before(async () => {
  redis = await startRedisServer();
  origin = await start(['origin', '--port', '0']);
  for (let i = 0; i < 3; i++) edges.push(await start(['edge', '--origin', origin.url, '--port', '0', '--id', `sys-edge-${i}`]));
  for (let tries = 0; (await liveEdgeCount()) < 3 && tries < 50; tries++) await sleep(100);
  assert.equal(await liveEdgeCount(), 3);
  await registryTrusted(redis.url);
});

after(async () => {
  for (const child of started) await stop(child);
  await redis.stop();
});

async function primeEverywhere(path: string): Promise<void> {
  for (const edge of alive()) {
    await fetchFrom(edge.url, 'GET', path);
    assert.equal((await fetchFrom(edge.url, 'GET', path)).cacheStatus.hit, true, `${edge.url}${path} is cached`);
  }
}

describe('purges through Redis reach every edge process', () => {
  const rows: Array<{ name: string; path: string; flags: (originUrl: string) => string[] }> = [
    { name: 'URL', path: '/news', flags: (o) => ['--url', `${o}/news`] },
    { name: 'prefix', path: '/static/app.js', flags: (o) => ['--prefix', `${o}/static/`] },
    { name: 'tag', path: '/products/7', flags: () => ['--tag', 'product-7'] },
    { name: 'everything', path: '/heuristic', flags: () => ['--all'] },
  ];
  for (const row of rows) {
    test(`mini-cdn purge by ${row.name}: every edge confirms and drops it`, async () => {
      await primeEverywhere(row.path);
      const { code, output } = await run(['purge', ...row.flags(origin.url), '--wait', '3000']);
      assert.equal(code, 0, output);
      for (const [i, edge] of edges.entries()) {
        assert.match(output, new RegExp(`confirmed\\s+sys-edge-${i}`));
        assert.equal((await fetchFrom(edge.url, 'GET', row.path)).cacheStatus.fwd, 'uri-miss');
      }
    });
  }

  test('mini-cdn edges lists every live edge', async () => {
    const { code, output } = await run(['edges']);
    assert.equal(code, 0, output);
    for (const [i, edge] of edges.entries()) assert.match(output, new RegExp(`sys-edge-${i}\\t${edge.url}`));
  });

  test('a change at the origin process is pushed to every edge', async () => {
    await primeEverywhere('/lang');
    await fetchFrom(origin.url, 'PUT', '/lang', { body: 'changed', headers: { 'content-type': 'text/plain' } });
    for (const edge of edges) assert.equal((await fetchUntil(edge.url, '/lang', (r) => r.text === 'changed')).text, 'changed');
  });

  test('a forged or garbled message on the channel is ignored', async () => {
    await primeEverywhere('/expires');
    const raw = new Redis(redis.url);
    const body = JSON.stringify({ v: 1, epoch: 'x', seq: 999999, id: 'evil', issuedAtMs: 0, urls: [], prefixes: [], tags: [], all: true, soft: false });
    await raw.publish(`${DEFAULT_BUS_OPTIONS.namespace}:inv`, JSON.stringify({ v: 1, kind: 'inv', kid: 'k1', sig: '0'.repeat(64), body }));
    await raw.publish(`${DEFAULT_BUS_OPTIONS.namespace}:inv`, 'garbage {');
    raw.disconnect();
    await sleep(200); // nothing observable should happen; give it the time to happen if it would
    for (const edge of edges) assert.equal((await fetchFrom(edge.url, 'GET', '/expires')).cacheStatus.hit, true, 'the forged purge-all was not applied');
  });
});

test('a Redis restart in the middle of a stream of purges loses none of them', async () => {
  const paths = Array.from({ length: 30 }, (_, i) => `/stream-${i}`);
  for (const path of paths) await primeEverywhere(path); // 404 with max-age=10 at the demo origin: cacheable
  const bus = createBus({ ...DEFAULT_BUS_OPTIONS, signing, redisUrl: redis.url });
  try {
    for (const [i, path] of paths.entries()) {
      if (i === 10) await redis.restart(); // state lost: counter and stream start again
      await publishInvalidation(bus, { urls: [`${origin.url}${path}`] }, { retryForMs: 10_000 });
    }
  } finally {
    await bus.close();
  }
  // Every purge arrived, or the edge resynced and marked every copy stale: no plain hit remains.
  for (const edge of edges) {
    for (const path of paths) {
      const res = await fetchUntil(edge.url, path, (r) => r.cacheStatus.hit !== true);
      assert.notEqual(res.cacheStatus.hit, true, `${edge.url}${path} still served from cache: ${JSON.stringify(res.cacheStatus)}`);
    }
  }
});

test('a receipt names a killed edge as unknown while its lease may still run (exit 3)', async () => {
  // The killed edge's lease is long (bus.leaseMs 60 s from its config file): it still runs when
  // the purge is published, however long the CLI takes to start on a loaded machine (with the
  // default 3 s lease, a start slower than the lease's rest made the killed edge no holder at all).
  const dir = await mkdtemp(path.join(tmpdir(), 'mini-cdn-edges-redis-'));
  try {
    const file = path.join(dir, 'edge.yaml');
    await writeFile(file, `listen:\n  port: 0\norigins:\n  - url: ${origin.url}\nlogging:\n  accessLog: false\nbus:\n  leaseMs: 60000\n`);
    const doomed = await start(['edge', '--config', file, '--id', 'sys-edge-doomed']);
    // The restart above emptied the registry: wait until every edge has heartbeated again.
    for (let tries = 0; (await liveEdgeCount()) < 4 && tries < 100; tries++) await sleep(100);
    assert.equal(await liveEdgeCount(), 4);
    await stop(doomed.child, 'SIGKILL'); // no deregistration: it stays listed until it expires
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { code, output } = await run(['purge', '--url', `${origin.url}/news`, '--wait', '5000']);
  assert.equal(code, 3, output);
  assert.match(output, /UNKNOWN\s+sys-edge-doomed/);
  for (let i = 0; i < 3; i++) assert.match(output, new RegExp(`confirmed\\s+sys-edge-${i}`));
});

test('callback mode trusts copies past freshness only while the bus is in sync', async () => {
  const edge = await start(['edge', '--origin', origin.url, '--port', '0', '--id', 'sys-callback', '--mode', 'callback']);
  // Stale as soon as it is stored (max-age=0): only callback mode keeps serving it.
  const path = '/status/200?cc=max-age%3D0';
  await fetchFrom(edge.url, 'GET', path);
  const kept = await fetchUntil(edge.url, path, (r) => r.cacheStatus.detail === 'callback');
  assert.equal(kept.cacheStatus.detail, 'callback');
  await redis.stop();
  try {
    const res = await fetchUntil(edge.url, path, (r) => r.cacheStatus.detail !== 'callback');
    assert.equal(res.cacheStatus.detail, 'callbacks-not-in-sync');
    assert.equal(res.cacheStatus.fwd, 'stale');
  } finally {
    await redis.start();
  }
});
