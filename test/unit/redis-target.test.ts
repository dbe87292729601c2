// Where the Redis bus connects (common/redis-target.ts): one server by redis:// or rediss://, or a
// Sentinel setup as redis-sentinel://host:port[,host:port...]/NAME, as --redis, MINI_CDN_REDIS_URL
// and bus.redisUrl take it. Valid forms as a table, invalid ones with the message they get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRedisTarget, parseRedisTarget, sentinelUrl } from '../../common/redis-target.js';
import type { RedisTarget } from '../../common/redis-target.js';

const VALID: Array<{ text: string; expected: RedisTarget }> = [
  { text: 'redis://127.0.0.1:6379', expected: { kind: 'server', url: 'redis://127.0.0.1:6379' } },
  { text: 'rediss://:pw@cache.example:6380/2', expected: { kind: 'server', url: 'rediss://:pw@cache.example:6380/2' } },
  { text: 'redis-sentinel://10.0.0.1:26379/mymaster', expected: { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster' } },
  { text: 'redis-sentinel://s1.example:26379,s2.example:26380,[::1]:26381/m-1.a_b', expected: { kind: 'sentinel', sentinels: [{ host: 's1.example', port: 26379 }, { host: 's2.example', port: 26380 }, { host: '::1', port: 26381 }], name: 'm-1.a_b' } },
  { text: 'redis-sentinel://:p%40ss@10.0.0.1:26379/m', expected: { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'm', password: 'p@ss' } },
];

for (const row of VALID) {
  test(`parseRedisTarget accepts ${row.text}`, () => {
    assert.deepEqual(parseRedisTarget(row.text), row.expected);
  });
}

const INVALID: Array<{ text: string; message: RegExp }> = [
  { text: 'http://127.0.0.1:6379', message: /redis-sentinel:\/\// },
  { text: 'not a url', message: /redis:\/\// },
  { text: 'redis-sentinel://10.0.0.1:26379', message: /names its master/ },
  { text: 'redis-sentinel://10.0.0.1:26379/', message: /master name/ },
  { text: 'redis-sentinel://10.0.0.1/m', message: /host:port/ },
  { text: 'redis-sentinel://10.0.0.1:0/m', message: /host:port/ },
  { text: 'redis-sentinel://10.0.0.1:26379,,10.0.0.2:26379/m', message: /host:port/ },
  { text: 'redis-sentinel://10.0.0.1:26379/m/x', message: /master name/ },
];

for (const row of INVALID) {
  test(`parseRedisTarget refuses ${row.text}`, () => {
    assert.throws(() => parseRedisTarget(row.text), row.message);
  });
}

test('sentinelUrl is parsed back to the same setup; describeRedisTarget shows no password', () => {
  const sentinels = [{ host: '10.0.0.1', port: 26379 }, { host: '::1', port: 26380 }];
  assert.deepEqual(parseRedisTarget(sentinelUrl(sentinels, 'm')), { kind: 'sentinel', sentinels, name: 'm' });
  assert.equal(describeRedisTarget(parseRedisTarget('redis-sentinel://:secret@10.0.0.1:26379/m')), 'redis-sentinel://10.0.0.1:26379/m (Sentinel)');
  assert.equal(describeRedisTarget(parseRedisTarget('redis://user:secret@r.example:6379')), 'redis://r.example:6379');
});
