// Attacks on the secrets and on response framing (issue 10):
// - a client forging X-Mini-Cdn-Applied with the public development secret to turn hits into
//   origin requests, and a shield whose edges follow another bus (another epoch);
// - processes started with no bus secret, the development secret, short secrets or short admin
//   tokens (refused at start), and the demo's admin token;
// - a stored 204 served with Content-Length, a malformed request pipelined behind a streaming
//   response, and the config keys cache.tagFields and bus.streamMaxLength reaching the code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createMemoryBus } from '../../edge/bus/index.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { NO_CALLBACKS } from '../../proxy/server/options.js';
import { closedPort, customOrigin, fetchFrom, rawOrigin, waitFor } from '../helpers/harness.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { cleanEnv, parseResponse, runCli, startCli, stopCli } from '../helpers/secrets-and-framing.js';

/** The secret every copy of mini-cdn used to fall back to: public, so anyone can sign with it. */
const PUBLIC_DEV_SECRET = 'mini-cdn-development-secret';
/** This file's own bus secret, passed to child processes through the environment. */
const SECRET = randomBytes(24).toString('hex');
const ADMIN_TOKEN = randomBytes(16).toString('hex');
const APPLIED = 'x-mini-cdn-applied';

function forgeApplied(epoch: string, seq: number, key: string, kid = 'k1'): string {
  const mac = createHmac('sha256', key).update(`${epoch}.${seq}`).digest('hex').slice(0, 32);
  return `${epoch}.${seq}.${kid}.${mac}`;
}

/** An origin of cacheable pages that records the Applied field of every request it gets. */
async function recordingOrigin(): Promise<Awaited<ReturnType<typeof customOrigin>> & { appliedSeen: Array<string | undefined> }> {
  const appliedSeen: Array<string | undefined> = [];
  const origin = await customOrigin((req, res) => {
    const field = req.headers[APPLIED];
    appliedSeen.push(Array.isArray(field) ? field.join(',') : field);
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain', etag: '"v1"' });
    res.end(`page ${req.url}`);
  });
  return Object.assign(origin, { appliedSeen });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mini-cdn-secrets-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

describe('X-Mini-Cdn-Applied from clients', () => {
  test('a field forged with the public development secret turns no hit of a CLI edge into an origin request, and never reaches the origin', async () => {
    const origin = await recordingOrigin();
    // No MINI_CDN_BUS_SECRET and no Redis: the single edge's in-process bus. No active health
    // checks: this test counts every request the origin receives.
    const edge = await startCli(['edge', '--origin', origin.url, '--port', '0', '--no-access-log'], cleanEnv({ MINI_CDN_HEALTH_CHECK: 'false' }), /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    try {
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.output())?.[1] ?? '';
      const forged = forgeApplied('any-epoch', 999_999, PUBLIC_DEV_SECRET);
      const first = await fetchFrom(url, 'GET', '/page', { headers: { [APPLIED]: forged } });
      assert.equal(first.status, 200);
      assert.equal(origin.stats.requests, 1);
      for (let i = 0; i < 5; i++) {
        const again = await fetchFrom(url, 'GET', '/page', { headers: { [APPLIED]: forged } });
        assert.equal(again.cacheStatus.hit, true, `request ${i + 2}: ${JSON.stringify(again.cacheStatus)}`);
        assert.equal(again.cacheStatus.detail, undefined);
      }
      assert.equal(origin.stats.requests, 1, 'every forged request stayed a hit');
      assert.ok(!origin.appliedSeen.includes(forged), 'the forged field never reached the origin');
    } finally {
      assert.equal(await stopCli(edge.child), 0);
      await origin.close();
    }
  });

  test('a node whose tier has no point yet still never forwards the client\'s field as sent', async () => {
    const origin = await recordingOrigin();
    // A tier that owns the field but has nothing to say yet (its bus follows no epoch so far).
    const node = createProxyNode({ origin: origin.url }, { ...NO_CALLBACKS, ownFields: [APPLIED] });
    const url = await node.listen(0);
    try {
      const forged = forgeApplied('any-epoch', 1, PUBLIC_DEV_SECRET);
      await fetchFrom(url, 'GET', '/a', { headers: { [APPLIED]: forged } });
      await fetchFrom(url, 'POST', '/b', { headers: { [APPLIED]: forged }, body: 'x' });
      assert.equal(origin.stats.requests, 2);
      assert.deepEqual(origin.appliedSeen, [undefined, undefined]);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('a shield whose edges follow another bus (another epoch) keeps serving its copies: no tier-behind, no origin request', async () => {
    const origin = await recordingOrigin();
    const signing = { current: 'k1', keys: { k1: SECRET } };
    const bus = (namespace: string) => createMemoryBus({ ...DEFAULT_BUS_OPTIONS, namespace, signing });
    const shield = createEdgeNode({ id: 'shield', proxy: { origin: origin.url, cacheName: 'test-shield' }, bus: bus(`shield-${randomBytes(4).toString('hex')}`), signing });
    const shieldUrl = await shield.start(0);
    // The edge revalidates every request with the shield (validate mode), carrying its own point.
    const edge = createEdgeNode({ id: 'edge', proxy: { origin: shieldUrl, cacheName: 'test-edge', consistency: { mode: 'validate', edgeTtlMs: 0 } }, bus: bus(`edge-${randomBytes(4).toString('hex')}`), signing });
    const edgeUrl = await edge.start(0);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await fetchFrom(edgeUrl, 'GET', '/page');
        assert.equal(res.status, 200);
        const members = String(res.headers['cache-status']);
        assert.doesNotMatch(members, /tier-behind/, `request ${i + 1}: ${members}`);
      }
      assert.equal(origin.stats.requests, 1, 'the shield answered every revalidation from its copy');
    } finally {
      await edge.close();
      await shield.close();
      await origin.close();
    }
  });
});

describe('secrets refused at start', () => {
  // A port nothing listens on (filled in per test): a command that wrongly starts never talks to a real Redis.
  const REDIS = '<redis-url>';
  const redisFlag = ['--redis', REDIS];
  const edgeArgs = ['edge', '--origin', 'http://127.0.0.1:1', '--port', '0', ...redisFlag];
  const rows: Array<{ name: string; args: string[]; env: NodeJS.ProcessEnv; says: RegExp[] }> = [
    { name: 'an edge on Redis without a secret', args: edgeArgs, env: {}, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: 'an edge on Redis with the development secret', args: edgeArgs, env: { MINI_CDN_BUS_SECRET: PUBLIC_DEV_SECRET }, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: 'an edge on Redis with a 15-character secret', args: edgeArgs, env: { MINI_CDN_BUS_SECRET: 'a'.repeat(15) }, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/, /16/] },
    { name: 'an edge with the development secret, even without Redis', args: ['edge', '--origin', 'http://127.0.0.1:1', '--port', '0'], env: { MINI_CDN_BUS_SECRET: PUBLIC_DEV_SECRET }, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: 'an edge with the development secret as the previous secret', args: edgeArgs, env: { MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_PREVIOUS_SECRET: PUBLIC_DEV_SECRET }, says: [/MCDN_USAGE/, /MINI_CDN_BUS_PREVIOUS_SECRET/] },
    { name: 'the publishing origin without a secret', args: ['origin', '--port', '0', ...redisFlag], env: {}, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: 'mini-cdn purge without a secret', args: ['purge', '--all', ...redisFlag], env: {}, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: 'mini-cdn edges with the development secret', args: ['edges', ...redisFlag], env: { MINI_CDN_BUS_SECRET: PUBLIC_DEV_SECRET }, says: [/MCDN_USAGE/, /MINI_CDN_BUS_SECRET/] },
    { name: '--admin-token shorter than 16 characters', args: ['edge', '--origin', 'http://127.0.0.1:1', '--port', '0', '--admin-port', '0', '--admin-token', 'short'], env: {}, says: [/MCDN_USAGE/, /--admin-token/, /16/] },
    { name: 'MINI_CDN_ADMIN_TOKEN shorter than 16 characters', args: ['edge', '--origin', 'http://127.0.0.1:1', '--port', '0', '--admin-port', '0'], env: { MINI_CDN_ADMIN_TOKEN: 'demo' }, says: [/MCDN_USAGE/, /MINI_CDN_ADMIN_TOKEN/, /16/] },
  ];
  for (const row of rows) {
    test(`${row.name}: exit 2, MCDN_USAGE naming the setting`, async () => {
      const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
      const { code, output } = await runCli(row.args.map((arg) => (arg === REDIS ? redisUrl : arg)), cleanEnv(row.env));
      assert.equal(code, 2, output);
      for (const says of row.says) assert.match(output, says);
    });
  }

  const configRows: Array<{ name: string; bus: string }> = [
    { name: 'bus.secret = the development secret with bus.redisUrl', bus: `redisUrl: redis://127.0.0.1:1\n  secret: ${PUBLIC_DEV_SECRET}` },
    { name: 'bus.secret = the development secret without Redis', bus: `secret: ${PUBLIC_DEV_SECRET}` },
    { name: 'bus.previousSecret = the development secret', bus: `redisUrl: redis://127.0.0.1:1\n  secret: ${SECRET}\n  previousSecret: ${PUBLIC_DEV_SECRET}` },
  ];
  for (const row of configRows) {
    test(`a config file with ${row.name}: MCDN_CONFIG_INVALID naming the key`, async () => {
      const file = configFile(`dev-secret-${configRows.indexOf(row)}.yaml`, `origins:\n  - url: http://127.0.0.1:1\nlisten:\n  port: 0\nbus:\n  ${row.bus}\n`);
      const { code, output } = await runCli(['edge', '--config', file], cleanEnv());
      assert.equal(code, 1, output);
      assert.match(output, /MCDN_CONFIG_INVALID/);
      assert.match(output, /bus\.(previousS|s)ecret/);
      assert.match(output, /development secret/);
    });
  }

  test('an edge with the in-process bus and no secret starts (no Redis: nothing to sign for others)', async () => {
    const edge = await startCli(['edge', '--origin', 'http://127.0.0.1:1', '--port', '0'], cleanEnv(), /listening on/);
    assert.doesNotMatch(edge.output(), /development secret/);
    assert.equal(await stopCli(edge.child), 0);
  });

  test('the demo prints a generated admin token of 16+ characters; "demo" is not it', async () => {
    const demo = await startCli(['demo', '--port', '0', '--no-redis'], cleanEnv(), /Ctrl-C/);
    try {
      const adminUrl = /admin\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.output())?.[1];
      const token = /token: (\S+)\)/.exec(demo.output())?.[1];
      assert.ok(adminUrl && token, demo.output());
      assert.ok(token.length >= 16, `token ${token}`);
      assert.match(demo.output(), new RegExp(`Authorization: Bearer ${token}`));
      const refused = await fetch(`${adminUrl}/stats`, { headers: { authorization: 'Bearer demo' } });
      assert.equal(refused.status, 401);
      const allowed = await fetch(`${adminUrl}/stats`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(allowed.status, 200);
    } finally {
      assert.equal(await stopCli(demo.child), 0);
    }
  });
});

/** Sends `bytes` on one connection; resolves everything received once the server closes (or after deadlineMs). */
function exchangeRaw(url: string, bytes: string, deadlineMs = 10_000): Promise<{ received: Buffer; closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), deadlineMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => (closedByServer = true));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closedByServer });
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

describe('framing', () => {
  test('a stored 204 is served without Content-Length (RFC 9110 §8.6), to GET and HEAD, miss and hit', async () => {
    const origin = await customOrigin((_req, res) => {
      res.writeHead(204, { 'cache-control': 'max-age=600', 'x-kind': 'empty' });
      res.end();
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      const statuses: string[] = [];
      for (const method of ['GET', 'GET', 'HEAD']) {
        const { received } = await exchangeRaw(url, `${method} /empty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
        const res = parseResponse(received, method === 'HEAD');
        assert.ok(res, received.toString('latin1'));
        assert.equal(res.status, 204);
        assert.equal(res.fields.find(([name]) => name === 'content-length'), undefined, `${method}: ${received.toString('latin1')}`);
        assert.equal(res.rest.length, 0);
        statuses.push(res.fields.find(([name]) => name === 'cache-status')?.[1] ?? '');
      }
      assert.match(statuses[1] ?? '', /hit/, 'the second GET was served from the store');
      assert.match(statuses[2] ?? '', /hit/, 'the HEAD was served from the store');
      assert.equal(origin.stats.requests, 1);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('an origin that sends Content-Length with its 204: the cache does not pass it on, miss or hit', async () => {
    const origin = await rawOrigin((socket) => socket.write('HTTP/1.1 204 No Content\r\nCache-Control: max-age=600\r\nContent-Length: 0\r\n\r\n'));
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    try {
      for (const expected of ['fwd=uri-miss', 'hit']) {
        const { received } = await exchangeRaw(url, 'GET /empty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
        const res = parseResponse(received);
        assert.ok(res, received.toString('latin1'));
        assert.equal(res.status, 204);
        assert.match(res.fields.find(([name]) => name === 'cache-status')?.[1] ?? '', new RegExp(expected));
        assert.equal(res.fields.find(([name]) => name === 'content-length'), undefined, received.toString('latin1'));
      }
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('a malformed request pipelined behind a streaming response: that response arrives whole, no 400 in its body, then the connection closes', async () => {
    const half = Buffer.alloc(32 * 1024, 'a');
    const rest = Buffer.alloc(32 * 1024, 'b');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const origin = await customOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(half.length + rest.length), 'cache-control': 'max-age=600' });
      res.write(half);
      void gate.then(() => res.end(rest));
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    let clientErrors = 0;
    node.server.on('clientError', () => clientErrors++);
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    try {
      const chunks: Buffer[] = [];
      let closedByServer = false;
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('end', () => (closedByServer = true));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      // The response is streaming (headers and half the body are here) when the bad request comes.
      await waitFor(() => Buffer.concat(chunks).length >= half.length, 10_000);
      socket.write('GET /next HTTP/1.1\nHost: a\n\n');
      await waitFor(() => clientErrors > 0, 10_000);
      assert.equal(clientErrors, 1, 'node rejected the pipelined request');
      release();
      const timer = setTimeout(() => socket.destroy(), 10_000);
      await closed;
      clearTimeout(timer);
      const received = Buffer.concat(chunks);
      const res = parseResponse(received);
      assert.ok(res, `incomplete response: ${received.subarray(0, 300).toString('latin1')}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(Buffer.concat([half, rest])), `the body is exactly the origin's (${res.body.length} bytes)`);
      assert.doesNotMatch(received.toString('latin1'), /MCDN_REQUEST_INVALID|HTTP\/1\.1 400/);
      assert.equal(res.rest.length, 0, `after the response: ${res.rest.toString('latin1')}`);
      assert.ok(closedByServer, 'the connection was closed by the proxy');
      assert.equal(origin.stats.requests, 1);
    } finally {
      release();
      socket.destroy();
      await node.close();
      await origin.close();
    }
  });

  test('a malformed request pipelined behind one still waiting for its origin: no 400 taken for the first answer', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const origin = await customOrigin((_req, res) => {
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
        res.end('first');
      });
    });
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0);
    let clientErrors = 0;
    node.server.on('clientError', () => clientErrors++);
    try {
      const exchange = exchangeRaw(url, 'GET /wait HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost : a\r\n\r\n');
      await waitFor(() => clientErrors > 0 && origin.stats.requests > 0, 10_000);
      release();
      const { received, closedByServer } = await exchange;
      const res = parseResponse(received);
      assert.ok(res, received.toString('latin1'));
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'first');
      assert.equal(res.rest.length, 0, `after the response: ${res.rest.toString('latin1')}`);
      assert.ok(closedByServer);
    } finally {
      release();
      await node.close();
      await origin.close();
    }
  });
});

describe('config keys that reach the code', () => {
  test('cache.tagFields: with [x-tags], a purge by tag finds entries tagged by X-Tags, not by Surrogate-Key', async () => {
    const origin = await customOrigin((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', 'x-tags': `t-${req.url?.slice(1)}`, 'surrogate-key': `s-${req.url?.slice(1)}` });
      res.end(`page ${req.url}`);
    });
    const node = createProxyNode({ origin: origin.url, tagFields: ['X-Tags'] });
    const url = await node.listen(0);
    try {
      await fetchFrom(url, 'GET', '/one');
      await fetchFrom(url, 'GET', '/two');
      assert.equal(node.engine.purge({ tags: ['s-one'] }), 0, 'Surrogate-Key tags nothing here');
      assert.equal((await fetchFrom(url, 'GET', '/one')).cacheStatus.hit, true);
      assert.equal(node.engine.purge({ tags: ['t-one'] }), 1);
      assert.equal((await fetchFrom(url, 'GET', '/one')).cacheStatus.fwd, 'uri-miss');
      assert.equal((await fetchFrom(url, 'GET', '/two')).cacheStatus.hit, true);
      assert.equal(origin.stats.requests, 3);
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('bus.streamMaxLength: an edge from a config file keeps its Redis replay stream near that length', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    const namespace = `stream-${randomBytes(4).toString('hex')}`;
    let edge: Awaited<ReturnType<typeof startCli>> | undefined;
    try {
      await client.connect();
      // Small stream nodes, so that MAXLEN ~ trims close to the bound (it trims whole nodes).
      await client.config('SET', 'stream-node-max-entries', '10');
      const file = configFile('stream.yaml', [
        'origins:\n  - url: http://127.0.0.1:1',
        'listen:\n  port: 0',
        `bus:\n  redisUrl: ${redis.url}\n  namespace: ${namespace}\n  secret: ${SECRET}\n  streamMaxLength: 20`,
        `admin:\n  port: 0\n  token: ${ADMIN_TOKEN}`,
        'logging:\n  accessLog: false',
      ].join('\n') + '\n');
      edge = await startCli(['edge', '--config', file], cleanEnv(), /admin (http:\/\/127\.0\.0\.1:\d+)/);
      const adminUrl = /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.output())?.[1] ?? '';
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${adminUrl}/purge`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ urls: [`http://a/${i}`] }) });
        assert.equal(res.status, 202, await res.text());
      }
      const length = await client.xlen(`${namespace}:stream`);
      assert.ok(length >= 20 && length <= 30, `XLEN ${length} after 100 invalidations with streamMaxLength 20`);
    } finally {
      if (edge) await stopCli(edge.child);
      client.disconnect();
      await redis.stop();
    }
  });
});
