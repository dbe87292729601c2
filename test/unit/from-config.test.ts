// What a config file gives the factories (cli/from-config.ts): the keys that used to be validated
// but never read (cache.tagFields), and the bus keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyOptionsFrom, signingFrom } from '../../cli/from-config.js';
import { parseConfigText } from '../../config/load.js';
import { DEVELOPMENT_SECRET } from '../../config/schema.js';
import { DEFAULT_PROXY_OPTIONS } from '../../proxy/server/options.js';

const yaml = (text: string) => parseConfigText(text, 'yaml', 'test.yaml', {});

test('cache.tagFields reaches the proxy options; the default is the proxy default', () => {
  assert.deepEqual(proxyOptionsFrom(yaml('cache:\n  tagFields: [x-tags, Edge-Tag]\n')).tagFields, ['x-tags', 'Edge-Tag']);
  assert.deepEqual(proxyOptionsFrom(yaml('{}\n')).tagFields, DEFAULT_PROXY_OPTIONS.tagFields);
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
