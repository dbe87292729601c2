// What a config file gives the factories (cli/from-config.ts): the keys that used to be validated
// but never read (cache.tagFields), and the bus keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyOptionsFrom, redisUrlFrom, signingFrom } from '../../cli/from-config.js';
import { parseRedisTarget } from '../../common/redis-target.js';
import { parseConfigText } from '../../config/load.js';
import { DEVELOPMENT_SECRET } from '../../config/schema.js';
import { DEFAULT_PROXY_OPTIONS } from '../../proxy/server/options.js';

const yaml = (text: string) => parseConfigText(text, 'yaml', 'test.yaml', {});

test('cache.tagFields reaches the proxy options; the default is the proxy default', () => {
  assert.deepEqual(proxyOptionsFrom(yaml('cache:\n  tagFields: [x-tags, Edge-Tag]\n')).tagFields, ['x-tags', 'Edge-Tag']);
  assert.deepEqual(proxyOptionsFrom(yaml('{}\n')).tagFields, DEFAULT_PROXY_OPTIONS.tagFields);
});

test('redisUrlFrom: bus.redisUrl as given; bus.sentinels + bus.sentinelMaster as one redis-sentinel:// URL; neither: the in-process bus', () => {
  const secret = '0123456789abcdef-secret';
  assert.equal(redisUrlFrom(yaml(`bus:\n  redisUrl: redis://r.example:6380\n  secret: ${secret}\n`)), 'redis://r.example:6380');
  const url = redisUrlFrom(yaml(`bus:\n  sentinels:\n    - { host: 10.0.0.1, port: 26379 }\n    - { host: "::1", port: 26380 }\n  sentinelMaster: mymaster\n  secret: ${secret}\n`));
  assert.equal(url, 'redis-sentinel://10.0.0.1:26379,[::1]:26380/mymaster');
  assert.deepEqual(parseRedisTarget(url ?? ''), { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '::1', port: 26380 }], name: 'mymaster' });
  assert.equal(redisUrlFrom(yaml(`bus:\n  redisUrl: redis-sentinel://s1:26379,s2:26379/m\n  secret: ${secret}\n`)), 'redis-sentinel://s1:26379,s2:26379/m');
  assert.equal(redisUrlFrom(yaml('{}\n')), undefined);
});

test('signingFrom: the configured keys; without a secret (no Redis), a random one per call, never the development one', () => {
  const secret = '0123456789abcdef-secret';
  assert.deepEqual(signingFrom(yaml(`bus:\n  secret: ${secret}\n  keyId: k2\n  previousSecret: ${secret}-old\n  previousKeyId: k1\n`)), { current: 'k2', keys: { k2: secret, k1: `${secret}-old` } });
  const one = signingFrom(yaml('{}\n'));
  const two = signingFrom(yaml('{}\n'));
  assert.notEqual(one.keys['k1'], DEVELOPMENT_SECRET);
  assert.ok((one.keys['k1'] ?? '').length >= 32);
  assert.notEqual(one.keys['k1'], two.keys['k1']);
});
