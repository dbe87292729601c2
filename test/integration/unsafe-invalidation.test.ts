// Unsafe methods through one edge invalidate the URL on every edge, over the in-process bus; and
// when the bus cannot take the invalidation, the client's write still succeeds (counted, logged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '../../edge/bus/memory-bus.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import { customOrigin, fetchFrom, waitFor } from '../helpers/harness.js';
import { unsafeBusOptions, unsafeInvalidationSuite } from '../helpers/bus-forgery.js';

unsafeInvalidationSuite('memory bus', (options) => createMemoryBus(options));

test('a successful PUT whose invalidation cannot be published (bus closed) still answers the client; the failure is counted and reported', async () => {
  const origin = await customOrigin((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  const failures: string[][] = [];
  const options = unsafeBusOptions();
  const edge = createEdgeNode({
    proxy: { origin: origin.url },
    bus: createMemoryBus(options),
    signing: options.signing,
    onUnsafePublishFailure: (_err, urls) => void failures.push(urls),
  });
  try {
    const url = await edge.start(0);
    await edge.bus.close(); // the proxy still listens; its bus is gone
    const res = await fetchFrom(url, 'PUT', '/doc', { body: 'x' });
    assert.equal(res.status, 204, 'the write is answered as the origin answered it');
    await waitFor(() => edge.stats().unsafePublishFailures > 0);
    assert.equal(edge.stats().unsafePublishFailures, 1);
    assert.equal(edge.stats().unsafePublished, 0);
    assert.deepEqual(failures, [[`${url}/doc`]]);
  } finally {
    await edge.close();
    await origin.close();
  }
});
