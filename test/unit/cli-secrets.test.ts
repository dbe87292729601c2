// The secrets and tokens the command line takes from flags and the environment (cli/args.ts):
// refused when public, short or missing where the bus leaves the process; random where only
// this process signs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminTokenFlag, signingFromEnv } from '../../cli/args.js';
import { MiniCdnError } from '../../common/errors.js';
import { DEVELOPMENT_SECRET, MIN_SECRET_CHARS } from '../../config/schema.js';

const GOOD = 'a-secret-of-24-characters';

const REFUSED: Array<{ name: string; env: NodeJS.ProcessEnv; sharedBus: boolean; says: RegExp }> = [
  { name: 'no secret with a Redis bus', env: {}, sharedBus: true, says: /MINI_CDN_BUS_SECRET must be set/ },
  { name: 'an empty secret with a Redis bus', env: { MINI_CDN_BUS_SECRET: '' }, sharedBus: true, says: /MINI_CDN_BUS_SECRET must be set/ },
  { name: 'the development secret with a Redis bus', env: { MINI_CDN_BUS_SECRET: DEVELOPMENT_SECRET }, sharedBus: true, says: /MINI_CDN_BUS_SECRET is the public development secret/ },
  { name: 'the development secret without Redis', env: { MINI_CDN_BUS_SECRET: DEVELOPMENT_SECRET }, sharedBus: false, says: /MINI_CDN_BUS_SECRET is the public development secret/ },
  { name: 'a 15-character secret', env: { MINI_CDN_BUS_SECRET: 'x'.repeat(MIN_SECRET_CHARS - 1) }, sharedBus: true, says: /MINI_CDN_BUS_SECRET must be at least 16 characters/ },
  { name: 'the development secret as the previous one', env: { MINI_CDN_BUS_SECRET: GOOD, MINI_CDN_BUS_PREVIOUS_SECRET: DEVELOPMENT_SECRET }, sharedBus: true, says: /MINI_CDN_BUS_PREVIOUS_SECRET is the public development secret/ },
  { name: 'a short previous secret', env: { MINI_CDN_BUS_SECRET: GOOD, MINI_CDN_BUS_PREVIOUS_SECRET: 'old' }, sharedBus: true, says: /MINI_CDN_BUS_PREVIOUS_SECRET must be at least 16/ },
];
for (const row of REFUSED) {
  test(`signingFromEnv refuses ${row.name} with MCDN_USAGE`, () => {
    assert.throws(() => signingFromEnv(row.env, row.sharedBus), (err: unknown) => err instanceof MiniCdnError && err.code === 'MCDN_USAGE' && row.says.test(err.message));
  });
}

test('signingFromEnv: the given secrets and key ids, the previous one still verifying', () => {
  const keys = signingFromEnv({ MINI_CDN_BUS_SECRET: GOOD, MINI_CDN_BUS_KEY_ID: 'k7', MINI_CDN_BUS_PREVIOUS_SECRET: `${GOOD}-old`, MINI_CDN_BUS_PREVIOUS_KEY_ID: 'k6' }, true);
  assert.deepEqual(keys, { current: 'k7', keys: { k7: GOOD, k6: `${GOOD}-old` } });
});

test('signingFromEnv without a secret and without Redis: a random secret of this process, never the development one', () => {
  const one = signingFromEnv({}, false);
  const two = signingFromEnv({}, false);
  const secret = one.keys[one.current] ?? '';
  assert.equal(one.current, 'k1');
  assert.ok(secret.length >= 32);
  assert.notEqual(secret, DEVELOPMENT_SECRET);
  assert.notEqual(secret, two.keys[two.current]);
});

test('adminTokenFlag: 16+ characters, or refused naming where it came from', () => {
  assert.equal(adminTokenFlag(undefined, '--admin-token'), undefined);
  assert.equal(adminTokenFlag('', 'MINI_CDN_ADMIN_TOKEN'), undefined);
  assert.equal(adminTokenFlag('x'.repeat(16), '--admin-token'), 'x'.repeat(16));
  for (const source of ['--admin-token', 'MINI_CDN_ADMIN_TOKEN']) {
    assert.throws(() => adminTokenFlag('demo', source), (err: unknown) => err instanceof MiniCdnError && err.code === 'MCDN_USAGE' && err.message.startsWith(`${source} must be at least 16`));
  }
});
