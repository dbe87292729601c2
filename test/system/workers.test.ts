// `mini-cdn edge --workers 2`: a cluster primary and two worker processes on one port, each its
// own edge on a Redis bus (a redis-server of this test's own). Both workers are live in the
// registry, a purge is confirmed by both and leaves no hit on either, workers without Redis are
// refused, and SIGTERM to the primary stops every worker. Processes are stopped by PID only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sleep } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { registryTrusted } from '../helpers/registry-trust.js';
import type { OwnRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
// This file's own bus secret, given to every process it starts.
const SECRET = randomBytes(24).toString('hex');

let redis: OwnRedis;
const started: ChildProcess[] = [];

function env(): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: 'k1' };
  delete base['MINI_CDN_REDIS_URL'];
  delete base['MINI_CDN_BUS_NAMESPACE'];
  return base;
}

interface Proc {
  child: ChildProcess;
  url: string;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
}

/** Starts `mini-cdn ...args` and resolves once it prints its first line (with its URL); 15 s at most. */
function start(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mini-cdn ${args[0]} did not start: ${output}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] && output.includes('\n')) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mini-cdn ${args[0]} exited ${code}: ${output}`));
    });
  });
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

/** Resolves the exit code (or signal) once the child has exited; sends `signal` first unless it already has. */
function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode);
    child.once('exit', (code, sig) => resolve(code ?? sig));
    child.kill(signal);
  });
}

/** One GET on a connection of its own (Connection: close), so that the cluster spreads them; the Cache-Status value. */
function getFresh(base: string, path: string): Promise<{ status: number; cacheStatus: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + path, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cacheStatus: String(res.headers['cache-status'] ?? '') }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let origin: Proc;
let edge: Proc;
let workerPids: number[] = [];

before(async () => {
  redis = await startRedisServer();
  origin = await start(['origin', '--port', '0']);
  edge = await start(['edge', '--origin', origin.url, '--port', '0', '--workers', '2', '--redis', redis.url, '--id', 'wtest']);
  // The primary logs its workers' PIDs right after the listening line.
  for (let tries = 0; workerPids.length === 0 && tries < 50; tries++) {
    const line = edge.output().split('\n').find((l) => l.includes('"workers started"'));
    if (line) workerPids = (JSON.parse(line) as { workers: Array<{ pid: number }> }).workers.map((w) => w.pid);
    else await sleep(100);
  }
  assert.equal(workerPids.length, 2, edge.output());
  await registryTrusted(redis.url);
});

after(async () => {
  for (const child of started) await stop(child);
  for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL'); // only when a test failed midway
  await redis.stop();
});

test('the primary prints one listening line; requests succeed; both workers are live edges', async () => {
  assert.equal(edge.output().match(/listening on/g)?.length, 1, edge.output());
  assert.match(edge.output(), /^mini-cdn edge wtest listening on http:\/\/127\.0\.0\.1:\d+, origin /);
  for (let i = 0; i < 20; i++) assert.equal((await getFresh(edge.url, '/')).status, 200);
  const { code, output } = await run(['edges', '--redis', redis.url]);
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`wtest-w1\\t${edge.url}`));
  assert.match(output, new RegExp(`wtest-w2\\t${edge.url}`));
});

/** The edge's access lines for `path` since `from` (an offset in its output): worker pid and cache outcome, in order. */
function accessLines(from: number, path: string): Array<{ pid: number; cache: string }> {
  return edge
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as { pid: number; path: string; cache: string })
    .filter((r) => r.path === path)
    .map(({ pid, cache }) => ({ pid, cache }));
}

/** Waits (5 s at most) until `count` access lines for `path` have been written since `from`. */
async function waitForAccessLines(from: number, path: string, count: number): Promise<Array<{ pid: number; cache: string }>> {
  for (let tries = 0; accessLines(from, path).length < count && tries < 50; tries++) await sleep(100);
  return accessLines(from, path);
}

test('a purge is confirmed by both workers and leaves no hit on either', async () => {
  // Prime: on fresh connections the cluster hands requests to both workers; each caches /news.
  const primeFrom = edge.output().length;
  for (let i = 0; i < 12; i++) assert.equal((await getFresh(edge.url, '/news')).status, 200);
  const primed = await waitForAccessLines(primeFrom, '/news', 12);
  for (const pid of workerPids) assert.ok(primed.some((r) => r.pid === pid && r.cache === 'hit'), `worker ${pid} has /news cached: ${JSON.stringify(primed)}`);

  const { code, output } = await run(['purge', '--redis', redis.url, '--url', `${origin.url}/news`, '--wait', '3000']);
  assert.equal(code, 0, output);
  assert.match(output, /confirmed\s+wtest-w1/);
  assert.match(output, /confirmed\s+wtest-w2/);

  // Confirmed means applied: each worker's first /news after the purge is a miss, never a hit.
  const purgedFrom = edge.output().length;
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) seen.push((await getFresh(edge.url, '/news')).cacheStatus);
  assert.match(seen[0] ?? '', /fwd=uri-miss/, seen.join(' | '));
  const lines = await waitForAccessLines(purgedFrom, '/news', 10);
  for (const pid of workerPids) {
    const first = lines.find((r) => r.pid === pid);
    assert.equal(first?.cache, 'fwd=uri-miss', `worker ${pid} after the purge: ${JSON.stringify(lines)}`);
  }
});

test('--workers 2 without Redis is refused with MCDN_USAGE (exit 2)', async () => {
  const { code, output } = await run(['edge', '--origin', origin.url, '--port', '0', '--workers', '2']);
  assert.equal(code, 2, output);
  assert.match(output, /MCDN_USAGE: --workers > 1 needs a Redis bus/);
});

test('--workers 2 on a port already taken: exit 1, MCDN_LISTEN_FAILED naming the port', async () => {
  const taken = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const { code, output } = await run(['edge', '--origin', origin.url, '--port', String(port), '--workers', '2', '--redis', redis.url, '--no-access-log']);
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`MCDN_LISTEN_FAILED: .*127\\.0\\.0\\.1:${port}`));
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

test('SIGHUP to a primary started with flags: "nothing to reload", the primary and every worker keep running', async () => {
  edge.child.kill('SIGHUP');
  for (let tries = 0; !edge.output().includes('nothing to reload') && tries < 100; tries++) await sleep(100);
  assert.match(edge.output(), /SIGHUP: nothing to reload/);
  await sleep(300);
  assert.equal(edge.child.exitCode, null, 'the primary runs');
  assert.ok(workerPids.every(alive), 'every worker runs');
  assert.equal((await getFresh(edge.url, '/news')).status, 200);
});

test('SIGTERM to the primary: it exits 0 and no worker remains', async () => {
  assert.ok(workerPids.every(alive), 'both workers run before');
  assert.equal(await stop(edge.child), 0, edge.output());
  for (let tries = 0; workerPids.some(alive) && tries < 50; tries++) await sleep(100);
  assert.deepEqual(workerPids.filter(alive), [], 'no worker process remains');
  assert.equal(await accepts(edge.url), false, 'the port no longer accepts connections');
});
