// Graceful shutdown: stop accepting, let requests in flight finish within the grace period, then
// cut whatever is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { fetchFrom } from '../helpers/harness.js';

test('close(grace) lets a request in flight finish, and refuses new ones', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const node = createProxyNode({ origin: originUrl });
  const url = await node.listen(0);
  try {
    const inFlight = fetchFrom(url, 'GET', '/slow?ms=400');
    while (origin.count('/slow?ms=400') === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = node.close(10_000);
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(answer.text.startsWith('slow'), true);
    await closed;
    await assert.rejects(fetchFrom(url, 'GET', '/news'), 'no new connections after close');
  } finally {
    await origin.close();
  }
});

test('close(grace) cuts a request that outlives the grace period', async () => {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const node = createProxyNode({ origin: originUrl });
  const url = await node.listen(0);
  try {
    // The outcome is captured at once: the rejection arrives while close() is awaited.
    const hanging = fetchFrom(url, 'GET', '/hang').then(() => 'answered', (err: unknown) => err);
    while (origin.count('/hang') === 0) await new Promise((r) => setTimeout(r, 5));
    await node.close(200);
    assert.ok((await hanging) instanceof Error, 'the client saw its connection cut');
  } finally {
    await origin.close();
  }
});
