// One spelling of a URL: every spelling of a target (an empty '?', dot segments, percent-encoded
// unreserved characters) hits one entry, and every purge and invalidation reaches that entry.
// Through real sockets: an origin counting what it receives, an edge on the in-process bus with
// its admin API, and a client that sends the target bytes as written (undici would normalize them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../../edge/admin-api.js';
import type { AdminServer } from '../../edge/admin-api.js';
import { createMemoryBus } from '../../edge/bus/memory-bus.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import { createPublisher, publishChanges } from '../../origin/publisher.js';
import { parseCacheStatus } from '../../proxy/policy/index.js';
import { rawExchange, waitFor } from '../helpers/harness.js';

interface Reply {
  status: number;
  text: string;
  cacheStatus: Record<string, string | number | boolean>;
}

/** An origin that counts every request by method and target as it arrived, and answers GETs with max-age=600. */
async function countingOrigin(): Promise<{ url: string; count(method: string, target?: string): number; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = `${req.method ?? ''} ${req.url ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain' });
        res.end(`body of ${req.url ?? ''}`);
      } else if (req.headers['x-content-location'] !== undefined) {
        // A POST response that says it is the representation of the URL it names (RFC 9111 §4).
        res.writeHead(200, { 'cache-control': 'max-age=600', 'content-location': String(req.headers['x-content-location']), 'content-type': 'text/plain' });
        res.end(`posted to ${req.url ?? ''}`);
      } else {
        res.writeHead(204, req.headers['x-location'] === undefined ? {} : { location: String(req.headers['x-location']) });
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count(method, target) {
      let total = 0;
      for (const [key, n] of counts) if (target === undefined ? key.startsWith(`${method} `) : key === `${method} ${target}`) total += n;
      return total;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends the target exactly as written (node:http does not touch the path). */
function send(base: string, method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = res.headers['cache-status'];
        const members = raw === undefined ? [] : parseCacheStatus(Array.isArray(raw) ? raw.join(', ') : raw);
        const mine = members[members.length - 1];
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), cacheStatus: mine ? { cache: mine.cache, ...mine.params } : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const signing = { current: 'k1', keys: { k1: 'url-spelling-secret' } };
const auth = { authorization: 'Bearer sesame' };

let origin: Awaited<ReturnType<typeof countingOrigin>>;
let busOptions: BusOptions;
let edge: EdgeNode;
let edgeUrl: string;
let admin: AdminServer;
let adminUrl: string;

before(async () => {
  origin = await countingOrigin();
  busOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `url-spelling-${process.pid}`, signing };
  edge = createEdgeNode({ id: 'edge-spelling', proxy: { origin: origin.url }, bus: createMemoryBus(busOptions), signing });
  edgeUrl = await edge.start(0);
  admin = createAdminServer(edge, { token: 'sesame' });
  adminUrl = await admin.listen(0);
});
after(async () => {
  await admin.close();
  await edge.close();
  await origin.close();
});

let n = 0;
/** A fresh path, and its spellings that name the same resource (RFC 3986 §6.2.2, §5.2.4). */
function spellingsOf(): { path: string; spellings: string[] } {
  const name = `p${++n}`;
  return { path: `/${name}`, spellings: [`/${name}?`, `/./${name}`, `/x/../${name}`, `/%${name.charCodeAt(0).toString(16)}${name.slice(1)}`] };
}

async function busPurge(request: object): Promise<void> {
  const bus = createMemoryBus(busOptions);
  try {
    const { receipt } = await publishInvalidation(bus, request, { waitMs: 2_000 });
    assert.ok(receipt?.complete, JSON.stringify(receipt));
  } finally {
    await bus.close();
  }
}

async function adminPurge(target: string, headers: Record<string, string> = {}): Promise<void> {
  const reply = await send(adminUrl, 'PURGE', target.includes('?') ? `${target}&wait=2000` : `${target}?wait=2000`, { ...auth, ...headers });
  assert.equal(reply.status, 202, reply.text);
}

async function primed(target: string): Promise<void> {
  await send(edgeUrl, 'GET', target);
  assert.equal((await send(edgeUrl, 'GET', target)).cacheStatus.hit, true, `${target} is stored`);
}

describe('every spelling of a URL is one entry', () => {
  test("'/p?', '/./p', '/x/../p' and '/%70' hit the entry of '/p': the origin is asked once, for '/p'", async () => {
    const { path, spellings } = spellingsOf();
    const gets = origin.count('GET');
    assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss');
    for (const spelling of spellings) {
      const reply = await send(edgeUrl, 'GET', spelling);
      assert.equal(reply.cacheStatus.hit, true, `${spelling} hits the entry of ${path}`);
      assert.equal(reply.text, `body of ${path}`);
    }
    assert.equal(origin.count('GET', path), 1);
    assert.equal(origin.count('GET'), gets + 1, 'no other spelling reached the origin');
    for (const spelling of spellings) assert.equal(origin.count('GET', spelling), 0, `${spelling} never reached the origin as written`);
  });

  test('a spelling asked first is forwarded in its canonical form, and then /p hits it', async () => {
    const { path, spellings } = spellingsOf();
    const first = spellings[2] as string;
    assert.equal((await send(edgeUrl, 'GET', first)).cacheStatus.fwd, 'uri-miss');
    assert.equal(origin.count('GET', path), 1, 'the origin was asked for the canonical target');
    assert.equal(origin.count('GET', first), 0);
    assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.hit, true);
  });

  const purges: Array<{ name: string; purge: (path: string) => Promise<void> }> = [
    { name: 'a bus purge by URL', purge: (path) => busPurge({ urls: [`${origin.url}${path}`] }) },
    { name: 'a bus purge by prefix', purge: (path) => busPurge({ prefixes: [`${origin.url}${path}`] }) },
    { name: 'an admin PURGE', purge: (path) => adminPurge(path) },
    { name: 'an admin POST /purge', purge: (path) => postPurge({ urls: [`http://site.example${path}`], waitMs: 2_000 }) },
  ];
  for (const { name, purge } of purges) {
    test(`${name} of '/p' removes the entry every spelling hits`, async () => {
      const { path, spellings } = spellingsOf();
      for (const spelling of spellings) {
        await primed(spelling);
        await purge(path);
        const fetched = origin.count('GET', path);
        assert.equal((await send(edgeUrl, 'GET', spelling)).cacheStatus.fwd, 'uri-miss', `${spelling} is gone after ${name} of ${path}`);
        assert.equal(origin.count('GET', path), fetched + 1);
      }
    });
  }

  test("a purge that names a spelling ('/x/../p', '/%70') removes the entry of '/p'", async () => {
    const { path, spellings } = spellingsOf();
    for (const spelling of spellings) {
      await primed(path);
      await busPurge({ urls: [`${origin.url}${spelling}`] });
      assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss', `a purge of ${spelling} removes ${path}`);
    }
  });
});

describe('invalidation by unsafe methods (RFC 9111 §4.4)', () => {
  for (const method of ['POST', 'DELETE']) {
    for (const spelling of ['/x/../', '/%', '/./']) {
      test(`${method} to a spelling of '/p' (${spelling}…) invalidates '/p'`, async () => {
        const { path } = spellingsOf();
        const target = spelling === '/%' ? `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}` : `${spelling}${path.slice(1)}`;
        await primed(path);
        const reply = method === 'POST' ? await send(edgeUrl, method, target, { 'content-type': 'text/plain' }, 'x') : await send(edgeUrl, method, target);
        assert.equal(reply.status, 204);
        assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss', `${method} ${target} invalidated ${path}`);
        assert.equal(origin.count(method, path), 1, `the origin got ${method} ${path}`);
      });
    }
  }
});

describe('invalidation of the URLs a response names, and a POST answer stored for GET', () => {
  for (const field of ['location', 'content-location'] as const) {
    test(`a ${field === 'location' ? 'Location' : 'Content-Location'} spelled '/x/../%70' invalidates '/p' (RFC 9111 §4.4)`, async () => {
      const { path } = spellingsOf();
      const other = spellingsOf().path;
      await primed(path);
      const spelled = `/x/../%${path.charCodeAt(1).toString(16)}${path.slice(2)}`;
      if (field === 'location') await send(edgeUrl, 'POST', other, { 'x-location': spelled }, 'x');
      else await send(edgeUrl, 'DELETE', other, { 'x-content-location': `http://${new URL(edgeUrl).host}${spelled}` });
      assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss', `${field}: ${spelled} invalidated ${path}`);
    });
  }

  test("a POST answer whose Content-Location spells the request's URL another way is stored for GET (RFC 9111 §4)", async () => {
    const { path } = spellingsOf();
    const reply = await send(edgeUrl, 'POST', path, { 'x-content-location': `/./${path.slice(1)}?` }, 'x');
    assert.equal(reply.status, 200);
    const gets = origin.count('GET', path);
    const hit = await send(edgeUrl, 'GET', path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.text, `posted to ${path}`);
    assert.equal(origin.count('GET', path), gets, 'the GET did not reach the origin');
  });
});

async function postPurge(body: object): Promise<void> {
  const reply = await send(adminUrl, 'POST', '/purge', { ...auth, 'content-type': 'application/json' }, JSON.stringify(body));
  assert.equal(reply.status, 202, reply.text);
}

describe('admin purges name a path, never a host', () => {
  test("PURGE //a//b removes the entry of '/a//b', not '//b' (no protocol-relative host 'a')", async () => {
    n++;
    const path = `//a${n}//b`;
    const decoy = '//b';
    await primed(path);
    await primed(decoy);
    await send(edgeUrl, 'GET', `/b`, { host: `a${n}` });
    await adminPurge(path);
    assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss', `${path} is purged`);
    assert.equal((await send(edgeUrl, 'GET', decoy)).cacheStatus.hit, true, `${decoy} is not purged`);
    assert.equal((await send(edgeUrl, 'GET', '/b', { host: `a${n}` })).cacheStatus.hit, true, `/b on host a${n} is not purged`);
  });

  for (const host of ['evil.test', 'evil.test/x', 'evil.test?']) {
    test(`an admin request with Host: ${host} still purges the entry of the site's host`, async () => {
      const { path } = spellingsOf();
      await primed(path);
      await adminPurge(path, { host });
      assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.fwd, 'uri-miss');
    });
  }

  test('PURGE /p?cc=max-age=600 removes exactly that query, and /p?cc=other stays', async () => {
    const { path } = spellingsOf();
    const purged = `${path}?cc=max-age=600`;
    const kept = `${path}?cc=other`;
    await primed(purged);
    await primed(kept);
    await primed(path);
    await adminPurge(purged);
    assert.equal((await send(edgeUrl, 'GET', purged)).cacheStatus.fwd, 'uri-miss');
    assert.equal((await send(edgeUrl, 'GET', kept)).cacheStatus.hit, true);
    assert.equal((await send(edgeUrl, 'GET', path)).cacheStatus.hit, true);
  });

  test("PURGE /a\\b removes the entry of '/a\\b' (stored as '/a%5Cb'), not '/a/b'", async () => {
    const { path } = spellingsOf();
    const slashed = `${path}/b`;
    const backslashed = `${path}\\b`;
    await primed(backslashed);
    await primed(slashed);
    await adminPurge(backslashed);
    assert.equal((await send(edgeUrl, 'GET', `${path}%5cb`)).cacheStatus.fwd, 'uri-miss', `${backslashed} is purged`);
    assert.equal((await send(edgeUrl, 'GET', slashed)).cacheStatus.hit, true, `${slashed} is not purged`);
  });

  test('PURGE keeps a query spelled with encodings and plus signs as it is (soft and wait are removed)', async () => {
    const { path } = spellingsOf();
    const purged = `${path}?q=a+b&r=%2F&soft=1`;
    await primed(`${path}?q=a+b&r=%2f`);
    await adminPurge(purged);
    const reply = await send(edgeUrl, 'GET', `${path}?q=a+b&r=%2F`);
    assert.equal(reply.cacheStatus.fwd, 'stale', 'the soft purge marked that very entry stale');
  });

  test('a POST /purge body over the limit gets 413 MCDN_BODY_TOO_LARGE, read by the client, not a reset', async () => {
    const body = JSON.stringify({ urls: ['http://site.example/a'], pad: 'x'.repeat(100 * 1024) });
    const raw = `POST /purge HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer sesame\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    const reply = await rawExchange(adminUrl, raw, 5_000);
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.match(reply, /MCDN_BODY_TOO_LARGE/);
    const chunked = await send(adminUrl, 'POST', '/purge', { ...auth, 'transfer-encoding': 'chunked' }, body);
    assert.equal(chunked.status, 413);
    assert.equal((JSON.parse(chunked.text) as { error: string }).error, 'MCDN_BODY_TOO_LARGE');
    assert.equal((await send(adminUrl, 'GET', '/healthz')).status, 200, 'the admin API still answers');
  });
});

describe("the publisher: a changed path becomes the origin's URL with that path", () => {
  test("a change of '//a//b' at the origin purges '/a//b' on the edge", async () => {
    const demo = createDemoOrigin({ seed: false });
    const demoUrl = await demo.listen(0);
    const demoEdge = createEdgeNode({ id: 'edge-publisher', proxy: { origin: demoUrl }, bus: createMemoryBus(busOptions), signing });
    const bus = createMemoryBus(busOptions);
    const stop = publishChanges(demo, createPublisher({ bus }), demoUrl);
    try {
      const base = await demoEdge.start(0);
      demo.setResource('//a//b', { body: 'before', headers: { 'cache-control': 'max-age=600' } });
      await send(base, 'GET', '//a//b');
      assert.equal((await send(base, 'GET', '//a//b')).cacheStatus.hit, true);
      demo.setResource('//a//b', { body: 'after', headers: { 'cache-control': 'max-age=600' } });
      await waitFor(() => demoEdge.proxy.store.stats().entries === 0, 5_000);
      const reply = await send(base, 'GET', '//a//b');
      assert.equal(reply.text, 'after');
      assert.equal(reply.cacheStatus.fwd, 'uri-miss');
    } finally {
      stop();
      await bus.close();
      await demoEdge.close();
      await demo.close();
    }
  });
});
