// An edge that lost callbacks beyond the bus's replay log resyncs; the reason reaches
// EdgeNodeOptions.onResync (the CLI logs it as a warning) instead of being dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../../edge/bus/memory-bus.js';
import { publishInvalidation } from '../../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import { customOrigin, fetchFrom, waitFor } from '../helpers/harness.js';

const signing = { current: 'k1', keys: { k1: 'edge-resync-test-secret' } };

test('callbacks lost past the replay log: the edge resyncs, onResync gets the reason, copies are revalidated', async () => {
  const origin = await customOrigin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', etag: '"v1"' });
    res.end('page');
  });
  // A replay log of one message: three missed callbacks cannot be replayed.
  const options: BusOptions = { ...DEFAULT_BUS_OPTIONS, namespace: `edge-resync-${process.pid}`, streamMaxLength: 1, signing };
  const bus = createMemoryBus(options);
  const reasons: string[] = [];
  const edge = createEdgeNode({ id: 'resync-edge', proxy: { origin: origin.url }, bus, signing , onResync: (reason) => reasons.push(reason) });
  const url = await edge.start(0);
  const publisher = createMemoryBus(options);
  try {
    await fetchFrom(url, 'GET', '/page');
    assert.equal((await fetchFrom(url, 'GET', '/page')).cacheStatus.hit, true);
    bus.simulateDisconnect(Infinity);
    for (let i = 0; i < 3; i++) await publishInvalidation(publisher, { urls: [`${origin.url}/other-${i}`] });
    bus.simulateDisconnect(0);
    await waitFor(() => reasons.length > 0, 10_000);
    assert.equal(reasons.length, 1, `one resync: ${JSON.stringify(reasons)}`);
    assert.match(reasons[0] as string, /\S/, 'the reason says something');
    assert.equal(edge.stats().resyncs, 1);
    const after = await fetchFrom(url, 'GET', '/page');
    assert.notEqual(after.cacheStatus.hit, true, 'the copy is revalidated after the resync');
    assert.equal(after.status, 200);
  } finally {
    await publisher.close();
    await edge.close();
    await origin.close();
  }
});
