// Bodies stream: an uncacheable or oversized response follows the client's pace (backpressure)
// instead of being read whole into the proxy's memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, waitFor } from '../helpers/harness.js';

const TOTAL_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 120);

for (const [name, cacheControl] of [['uncacheable', 'no-store'], ['oversized', 'max-age=60']] as const) {
  test(`an ${name} body is streamed with backpressure, never held whole`, async () => {
    let originSocket: Socket | undefined;
    const origin = await customOrigin((_req, res) => {
      originSocket = res.socket ?? undefined;
      res.writeHead(200, { 'cache-control': cacheControl, 'content-length': String(TOTAL_BYTES) });
      let sent = 0;
      const pump = (): void => {
        while (sent < TOTAL_BYTES) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const node = createProxyNode({ origin: origin.url, maxObjectBytes: 1024 * 1024 });
    const url = new URL(await node.listen(0));
    try {
      const received = await new Promise<{ paused: number; total: number }>((resolve, reject) => {
        const req = http.get({ host: url.hostname, port: url.port, path: '/huge' }, (res) => {
          res.pause(); // a client that does not read
          void waitFor(() => false, 500).then(() => {
            const paused = originSocket?.bytesWritten ?? 0;
            let total = 0;
            res.on('data', (d: Buffer) => (total += d.length));
            res.on('end', () => resolve({ paused, total }));
            res.resume();
          });
        });
        req.on('error', reject);
      });
      // Socket buffers on both hops hold a few MiB at most; the rest waits at the origin.
      assert.ok(received.paused < 24 * 1024 * 1024, `origin sent ${received.paused} bytes to a paused client`);
      assert.equal(received.total, TOTAL_BYTES);
      assert.equal(node.store.stats().entries, 0);
    } finally {
      await node.close();
      await origin.close();
    }
  });
}
