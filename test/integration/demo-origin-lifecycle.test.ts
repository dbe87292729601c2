// The demo origin's life: listening, closing with requests pending, and running without the
// seeded resources. (demo-origin.test.ts covers what it serves.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { createDemoOrigin } from '../../origin/demo-origin.js';

async function call(agent: Dispatcher, base: string, path: string): Promise<{ status: number; body: Buffer }> {
  const res = await request(base + path, { dispatcher: agent });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

void describe('demo origin lifecycle', () => {
  void test('close() ends a pending /hang request and resolves', async () => {
    const origin = createDemoOrigin();
    const agent = new Agent();
    try {
      const base = await origin.listen();
      const pending = request(base + '/hang', { dispatcher: agent });
      const settled = pending.then(
        () => 'answered',
        () => 'closed',
      );
      while (origin.count('/hang') === 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(origin.log[0]?.status, 0);
      // Bounded: without closeAllConnections the server would wait on the open request forever.
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        origin.close().then(() => settled),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still open after 3 s'), 3_000))),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, 'closed');
      await origin.close(); // idempotent
    } finally {
      // Cleanup must not hang even when close() is what failed above.
      origin.server.closeAllConnections();
      await origin.close();
      await agent.destroy();
    }
  });

  void test('seed: false serves only what is set', async () => {
    const origin = createDemoOrigin({ seed: false });
    const agent = new Agent();
    try {
      const base = await origin.listen();
      assert.equal((await call(agent, base, '/news')).status, 404);
      assert.equal((await call(agent, base, '/echo')).status, 404);
      origin.setResource('/only', { body: 'yes' });
      assert.equal((await call(agent, base, '/only')).body.toString(), 'yes');
    } finally {
      await origin.close();
      await agent.close();
    }
  });

  void test('listen rejects with MCDN_LISTEN_FAILED on a taken port', async () => {
    const first = createDemoOrigin({ seed: false });
    const second = createDemoOrigin({ seed: false });
    try {
      const port = Number(new URL(await first.listen()).port);
      await assert.rejects(second.listen(port), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'MCDN_LISTEN_FAILED');
        return true;
      });
    } finally {
      await first.close();
      await second.close();
    }
  });
});
