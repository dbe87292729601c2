// Attacks on the fill path's memory: clients that never read their response. The edge runs as its
// own process (from a config file, as an operator would run it) so that its memory is its own;
// the clients are raw TCP sockets that send a GET and never read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFrom, waitFor } from '../helpers/harness.js';
import { digest, expectedDigest, largeBodyOrigin, nonReader, slowReader, startEdgeProcess, startGet, waitEdgeClosed } from '../helpers/memory-fill.js';
import type { LargeBodyOrigin, NonReader } from '../helpers/memory-fill.js';

const MiB = 1024 * 1024;
const BODY = 8 * MiB;
/** The store counts an entry's fields and key with its body: room for them. */
const OBJECT_LIMIT = BODY + 64 * 1024;
/** Generous bound on every wait: these tests assert what happens, never how fast. */
const WAIT_MS = 30_000;

let origin: LargeBodyOrigin;
before(async () => {
  origin = await largeBodyOrigin(BODY);
});
after(async () => {
  await origin.close();
});

function closeAll(clients: NonReader[]): void {
  for (const c of clients) c.socket.destroy();
}

test('20 clients that never read, on distinct 8 MiB fills, leave the edge within its configured bounds (store + in-flight budget); a reader in parallel gets its whole body, stored', async (t) => {
  // Room in the store for the warm-up, the reader and the two fills the in-flight budget lets
  // the never-reading clients hold (they hold it: their send timeout is out of the way).
  const maxBytes = 32 * MiB;
  const maxInflightBytes = 16 * MiB;
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${maxBytes}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, `  maxInflightBytes: ${maxInflightBytes}`, 'limits:', '  sendTimeoutMs: 600000']);
  const clients: NonReader[] = [];
  try {
    // Warm the edge's code paths so that the baseline is the steady process, not a cold one.
    assert.equal((await fetchFrom(edge.url, 'GET', '/mem/warm')).body.length, BODY);
    const baseline = edge.memory().rssBytes;
    const reader = await startGet(edge.url, '/mem/reader');
    for (let i = 0; i < 20; i++) clients.push(await nonReader(edge.url, `/mem/slow-${i}`));
    const body = await reader.body;
    await waitFor(() => origin.total() >= 22, WAIT_MS);
    assert.equal(origin.total() >= 22, true, 'every request reached the origin');
    // Let the edge take in whatever it is going to take in: wait until its peak stops moving (bounded).
    let peak = edge.memory().peakBytes;
    for (let stable = 0, rounds = 0; stable < 10 && rounds < 200; rounds++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = edge.memory().peakBytes;
      stable = now === peak ? stable + 1 : 0;
      peak = now;
    }
    const growth = peak - baseline;
    // The bound: what the store may hold, what fills in flight may hold, and a margin for
    // buffers, sockets and the garbage of concatenations.
    const bound = maxBytes + maxInflightBytes + 48 * MiB;
    t.diagnostic(`edge RSS ${(baseline / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB after 20 non-reading fills`);
    assert.ok(growth <= bound, `edge grew by ${(growth / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)} MiB)`);

    assert.equal(reader.status, 200);
    assert.equal(reader.cacheStatus.stored, true);
    assert.equal(digest(body), expectedDigest('/mem/reader', BODY));
    const again = await fetchFrom(edge.url, 'GET', '/mem/reader');
    assert.equal(again.cacheStatus.hit, true);
    assert.equal(digest(again.body), expectedDigest('/mem/reader', BODY));
    assert.equal(origin.count('/mem/reader'), 1);
  } finally {
    closeAll(clients);
    await edge.stop();
  }
});

test('limits.sendTimeoutMs: clients that never read are cut (truncated, never a wrong body); a collapsed reader of the same fill gets it whole; the fills are stored', async () => {
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${128 * MiB}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, 'limits:', '  sendTimeoutMs: 500']);
  const clients: NonReader[] = [];
  try {
    for (let i = 0; i < 6; i++) clients.push(await nonReader(edge.url, `/cut/${i}`));
    // One fill shared by a client that never reads and one that reads: the origin holds the
    // second half of the body back until both are attached.
    const shared = '/cut/gated';
    clients.push(await nonReader(edge.url, shared));
    await waitFor(() => origin.count(shared) === 1, WAIT_MS);
    const reader = await startGet(edge.url, shared);
    assert.equal(reader.cacheStatus.collapsed, true);
    origin.release(shared);
    assert.equal(digest(await reader.body), expectedDigest(shared, BODY));

    assert.equal(await waitEdgeClosed(edge.port, clients, WAIT_MS), clients.length, 'the edge closed every non-reading connection');
    for (const c of clients) {
      const got = await c.drain(WAIT_MS);
      assert.match(got.head, /^HTTP\/1\.1 200 /);
      assert.ok(got.bodyBytes < BODY, `a cut client got ${got.bodyBytes} of ${BODY} bytes`);
      assert.equal(got.ended, true);
    }
    assert.equal(await edge.metric('minicdn_send_timeouts_total'), clients.length);
    // The fills were stored although their clients were cut.
    for (const path of [...Array.from({ length: 6 }, (_, i) => `/cut/${i}`), shared]) {
      const hit = await fetchFrom(edge.url, 'GET', path);
      assert.equal(hit.cacheStatus.hit, true, path);
      assert.equal(digest(hit.body), expectedDigest(path, BODY), path);
      assert.equal(origin.count(path), 1, path);
    }
  } finally {
    closeAll(clients);
    await edge.stop();
  }
});

test('limits.sendTimeoutMs applies to hits: clients that never read a stored body are cut; a reader gets it whole', async () => {
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${64 * MiB}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, 'limits:', '  sendTimeoutMs: 500']);
  const clients: NonReader[] = [];
  try {
    const path = '/hit/one';
    assert.equal((await fetchFrom(edge.url, 'GET', path)).cacheStatus.stored, true);
    for (let i = 0; i < 4; i++) clients.push(await nonReader(edge.url, path));
    assert.equal(await waitEdgeClosed(edge.port, clients, WAIT_MS), clients.length, 'the edge closed every non-reading connection');
    for (const c of clients) {
      const got = await c.drain(WAIT_MS);
      assert.match(got.head, /^HTTP\/1\.1 200 /);
      assert.match(got.head, /cache-status: [^\r]*hit/i);
      assert.ok(got.bodyBytes < BODY, `a cut client got ${got.bodyBytes} of ${BODY} bytes`);
      assert.equal(got.ended, true);
    }
    assert.equal(await edge.metric('minicdn_send_timeouts_total'), clients.length);
    const hit = await fetchFrom(edge.url, 'GET', path);
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(digest(hit.body), expectedDigest(path, BODY));
    assert.equal(origin.count(path), 1);
  } finally {
    closeAll(clients);
    await edge.stop();
  }
});

test('limits.sendTimeoutMs applies to bodies that are not stored: clients that never read a no-store body are cut', async () => {
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${64 * MiB}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, 'limits:', '  sendTimeoutMs: 500']);
  const clients: NonReader[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await nonReader(edge.url, `/nostore/${i}`));
    assert.equal(await waitEdgeClosed(edge.port, clients, WAIT_MS), clients.length, 'the edge closed every non-reading connection');
    for (const c of clients) {
      const got = await c.drain(WAIT_MS);
      assert.match(got.head, /^HTTP\/1\.1 200 /);
      assert.ok(got.bodyBytes < BODY, `a cut client got ${got.bodyBytes} of ${BODY} bytes`);
      assert.equal(got.ended, true);
    }
    assert.equal(await edge.metric('minicdn_send_timeouts_total'), clients.length);
    const whole = await fetchFrom(edge.url, 'GET', '/nostore/0');
    assert.equal(digest(whole.body), expectedDigest('/nostore/0', BODY));
    assert.equal(origin.count('/nostore/0'), 2);
  } finally {
    closeAll(clients);
    await edge.stop();
  }
});

test('limits.sendTimeoutMs cuts clients that read nothing, not clients that read slowly: a slow reader gets the whole body, on a fill and on a hit', async () => {
  // Each step of the reader is far shorter than the send timeout; the whole body takes longer than it.
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${64 * MiB}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, 'limits:', '  sendTimeoutMs: 3000']);
  try {
    const path = '/slow/one';
    for (const expected of ['fwd=uri-miss', 'hit']) {
      const got = await slowReader(edge.url, path, 32 * 1024, 20, 120_000);
      assert.match(got.head, /^HTTP\/1\.1 200 /);
      assert.match(got.head, new RegExp(`cache-status: [^\r]*${expected}`, 'i'));
      assert.equal(got.body.length, BODY, expected);
      assert.equal(digest(got.body), expectedDigest(path, BODY), expected);
      assert.equal(got.ended, true);
    }
    assert.equal(origin.count(path), 1);
  } finally {
    await edge.stop();
  }
});

test('cache.maxInflightBytes: while fills in flight hold the budget, later fills stream through unstored (detail=inflight-budget); once released, fills are stored again', async () => {
  const edge = await startEdgeProcess(origin.url, ['cache:', `  maxBytes: ${64 * MiB}`, `  maxObjectBytes: ${OBJECT_LIMIT}`, `  maxInflightBytes: ${BODY}`, 'limits:', '  sendTimeoutMs: 600000']);
  const clients: NonReader[] = [];
  try {
    // A client that never reads keeps its fill's bytes in flight: the whole budget.
    clients.push(await nonReader(edge.url, '/budget/held'));
    let heldStored = false;
    for (let i = 0; i < 300 && !heldStored; i++) heldStored = (await fetchFrom(edge.url, 'HEAD', '/budget/held')).cacheStatus.hit === true;
    assert.equal(heldStored, true, 'the held fill completed and was stored');
    for (const path of ['/budget/declared', '/budget/chunked']) {
      const first = await fetchFrom(edge.url, 'GET', path);
      assert.equal(first.status, 200, path);
      assert.equal(first.cacheStatus.detail, 'inflight-budget', path);
      assert.equal(first.cacheStatus.stored, undefined, path);
      assert.equal(digest(first.body), expectedDigest(path, BODY), path);
      const second = await fetchFrom(edge.url, 'GET', path);
      assert.equal(second.cacheStatus.hit, undefined, path);
      assert.equal(digest(second.body), expectedDigest(path, BODY), path);
      assert.equal(origin.count(path), 2, path);
    }
    assert.equal(await edge.metric('minicdn_inflight_refused_total'), 4);
    assert.equal(await edge.metric('minicdn_inflight_bytes'), BODY);
    // The client goes away: its fill's bytes leave the budget, and fills are stored again.
    closeAll(clients);
    let stored = false;
    for (let i = 0; i < 100 && !stored; i++) {
      const path = `/budget/after-${i}`;
      const got = await fetchFrom(edge.url, 'GET', path);
      assert.equal(digest(got.body), expectedDigest(path, BODY), path);
      stored = got.cacheStatus.stored === true;
      if (stored) assert.equal((await fetchFrom(edge.url, 'GET', path)).cacheStatus.hit, true);
    }
    assert.equal(stored, true, 'fills are stored again once the budget is released');
    // Nothing stays counted once every client has its body.
    let held = NaN;
    for (let i = 0; i < 100 && held !== 0; i++) {
      held = await edge.metric('minicdn_inflight_bytes');
      if (held !== 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(held, 0);
  } finally {
    closeAll(clients);
    await edge.stop();
  }
});
