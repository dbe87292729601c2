// Shared by the origin pool's integration tests: a pool with test-sized settings, a request
// through it, origins that answer their own name, and the MiniCdnError a request fails with.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { MiniCdnError } from '../../common/errors.js';
import { DEFAULT_ORIGIN_CLIENT } from '../../proxy/upstream/origin-client.js';
import { OriginPool } from '../../proxy/upstream/origin-pool.js';
import type { OriginPoolOptions, PoolOrigin } from '../../proxy/upstream/origin-pool.js';
import { customOrigin } from './harness.js';

export type Custom = Awaited<ReturnType<typeof customOrigin>>;

export function makePool(origins: PoolOrigin[], overrides: Partial<OriginPoolOptions> = {}): OriginPool {
  return new OriginPool({
    origins,
    balancing: 'weighted-round-robin',
    healthCheck: false,
    passiveEjection: { failures: 3, windowMs: 60_000, ejectMs: 60_000 },
    retries: { attempts: 2, backoffMs: 0 },
    client: { ...DEFAULT_ORIGIN_CLIENT, connectTimeoutMs: 2_000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, connections: 16 },
    ...overrides,
  });
}

/** A GET (or another method) through the pool, body read to the end. */
export async function send(pool: OriginPool, path: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  const res = await pool.request({ method, path, headers: {}, body: body === undefined ? null : Readable.from([Buffer.from(body)]) });
  return { status: res.status, text: await res.body.text() };
}

/** An origin that answers its own name. */
export function named(name: string): Promise<Custom> {
  return customOrigin((_req, res) => res.end(name));
}

export async function rejection(promise: Promise<unknown>): Promise<MiniCdnError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MiniCdnError, `a MiniCdnError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request should have failed');
}
