// Memory attacks through Range requests (issue 10): many clients ask for several ranges of one
// large cached object and never read. The edge must answer from its one stored copy of the body
// (views of it), not build a new multipart body per client, so its memory stays near the
// cache's, whatever the number of stalled clients. Measured on an edge started through the CLI,
// in a process of its own, from /proc.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFrom, customOrigin } from '../helpers/harness.js';
import { MIB, parseByteranges, patternBody, procMemory, stalledClients, startCliEdge } from '../helpers/memory-range.js';
import type { MemoryEdge } from '../helpers/memory-range.js';

const OBJECT_BYTES = 8 * MIB;
const CLIENTS = 40;
/** Two ranges, 5 MB together: before the fix, every client cost a 5 MB multipart copy. */
const RANGES: Array<[number, number]> = [
  [0, 1_000_000],
  [4_000_000, 7_999_999],
];
const RANGE_FIELD = `bytes=${RANGES.map(([a, b]) => `${a}-${b}`).join(',')}`;
/** Far below 40 copies (200 MB): the stored copy a few times over plus fixed slack for sockets and the heap. */
const GROWTH_BOUND = OBJECT_BYTES * 4 + 64 * MIB;

const BODY = patternBody(OBJECT_BYTES);
let origin: Awaited<ReturnType<typeof customOrigin>>;
let edge: MemoryEdge;

before(async () => {
  origin = await customOrigin((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length, 'cache-control': 'public, max-age=600', etag: '"big-1"' });
    res.end(BODY);
  });
  edge = await startCliEdge(origin.url);
});
after(async () => {
  await edge?.stop();
  await origin?.close();
});

describe('multipart ranges of one large cached object, to clients that never read', () => {
  test(`${CLIENTS} stalled two-range clients: RSS growth stays bounded, a reading client gets the right parts, one origin fetch`, async (t) => {
    const fill = await fetchFrom(edge.url, 'GET', '/big');
    assert.equal(fill.status, 200);
    assert.ok(fill.body.equals(BODY), 'the fill answered the whole body');
    const warm = await fetchFrom(edge.url, 'GET', '/big', { headers: { range: RANGE_FIELD } });
    assert.equal(warm.status, 206);
    assert.equal(warm.cacheStatus.hit, true);
    await new Promise((r) => setTimeout(r, 500));
    const baseRss = procMemory(edge.pid, 'VmRSS');

    const request = `GET /big HTTP/1.1\r\nHost: ${new URL(edge.url).host}\r\nRange: ${RANGE_FIELD}\r\n\r\n`;
    const stalled = await stalledClients(edge.url, CLIENTS, request);
    try {
      for (const head of stalled.heads) assert.match(head, /^HTTP\/1\.1 206 /);
      // The answers are under way and stuck in full socket buffers; give the edge time to have
      // built whatever it builds for them, then read the peak the kernel recorded.
      await new Promise((r) => setTimeout(r, 1_500));
      const peak = Math.max(procMemory(edge.pid, 'VmHWM'), procMemory(edge.pid, 'VmRSS'));
      const growth = peak - baseRss;
      t.diagnostic(`RSS base ${(baseRss / MIB).toFixed(1)} MiB, peak ${(peak / MIB).toFixed(1)} MiB, growth ${(growth / MIB).toFixed(1)} MiB`);
      assert.ok(growth <= GROWTH_BOUND, `RSS grew ${(growth / MIB).toFixed(1)} MiB with ${CLIENTS} stalled clients (bound ${(GROWTH_BOUND / MIB).toFixed(0)} MiB; base ${(baseRss / MIB).toFixed(1)}, peak ${(peak / MIB).toFixed(1)})`);

      // Meanwhile a client that reads gets a correct multipart/byteranges body.
      const reader = await fetchFrom(edge.url, 'GET', '/big', { headers: { range: RANGE_FIELD } });
      assert.equal(reader.status, 206);
      assert.equal(reader.cacheStatus.hit, true);
      const contentType = String(reader.headers['content-type']);
      assert.match(contentType, /^multipart\/byteranges; boundary=/);
      assert.equal(Number(reader.headers['content-length']), reader.body.length);
      const parts = parseByteranges(reader.body, contentType);
      assert.equal(parts.length, RANGES.length);
      RANGES.forEach(([start, end], i) => {
        const part = parts[i] as (typeof parts)[number];
        assert.equal(part.fields['content-range'], `bytes ${start}-${end}/${OBJECT_BYTES}`);
        assert.equal(part.fields['content-type'], 'application/octet-stream');
        assert.ok(part.bytes.equals(BODY.subarray(start, end + 1)), `part ${i} holds bytes ${start}-${end}`);
      });
    } finally {
      stalled.close();
    }
    assert.equal(origin.stats.requests, 1, 'one origin fetch for everything');
  });

  test('a single range of the same object, to clients that never read: bounded too, and correct', async (t) => {
    const baseRss = procMemory(edge.pid, 'VmRSS');
    const request = `GET /big HTTP/1.1\r\nHost: ${new URL(edge.url).host}\r\nRange: bytes=1000-7000000\r\n\r\n`;
    const stalled = await stalledClients(edge.url, CLIENTS, request);
    try {
      for (const head of stalled.heads) assert.match(head, /^HTTP\/1\.1 206 /);
      await new Promise((r) => setTimeout(r, 1_500));
      const growth = procMemory(edge.pid, 'VmRSS') - baseRss;
      t.diagnostic(`RSS growth ${(growth / MIB).toFixed(1)} MiB`);
      assert.ok(growth <= GROWTH_BOUND, `RSS grew ${(growth / MIB).toFixed(1)} MiB (bound ${(GROWTH_BOUND / MIB).toFixed(0)} MiB)`);
      const reader = await fetchFrom(edge.url, 'GET', '/big', { headers: { range: 'bytes=1000-7000000' } });
      assert.equal(reader.status, 206);
      assert.equal(reader.headers['content-range'], `bytes 1000-7000000/${OBJECT_BYTES}`);
      assert.ok(reader.body.equals(BODY.subarray(1000, 7_000_001)));
    } finally {
      stalled.close();
    }
    assert.equal(origin.stats.requests, 1);
  });
});
