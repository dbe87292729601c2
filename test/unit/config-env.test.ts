// Environment over file over defaults: MINI_CDN_<PATH> names (UPPER_SNAKE, `__` between levels),
// JSON-or-text values, unknown names reported, and the short names the CLI has always read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, defaultConfig, parseConfigText, type Config } from '../../config/load.js';

const SECRET = '0123456789abcdef0123';

function withEnv(env: NodeJS.ProcessEnv, text = ''): Config {
  return parseConfigText(text, 'yaml', 'test.yaml', env);
}

function rejected(env: NodeJS.ProcessEnv, text = ''): ConfigError {
  try {
    withEnv(env, text);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected the config to be rejected');
}

const OVERRIDES: { name: string; env: NodeJS.ProcessEnv; read: (c: Config) => unknown; expected: unknown; text?: string }[] = [
  { name: 'number', env: { MINI_CDN_CACHE__MAX_BYTES: '1000', MINI_CDN_CACHE__MAX_OBJECT_BYTES: '10' }, read: (c) => c.cache.maxBytes, expected: 1000 },
  { name: 'nested number', env: { MINI_CDN_LISTEN__PORT: '9000' }, read: (c) => c.listen.port, expected: 9000 },
  { name: 'boolean', env: { MINI_CDN_CACHE__FORWARD_CDN_CACHE_CONTROL: 'true' }, read: (c) => c.cache.forwardCdnCacheControl, expected: true },
  { name: 'string', env: { MINI_CDN_LISTEN__HOST: '0.0.0.0' }, read: (c) => c.listen.host, expected: '0.0.0.0' },
  { name: 'enum text', env: { MINI_CDN_DEFAULTS__MODE: 'callback' }, read: (c) => c.defaults.mode, expected: 'callback' },
  { name: 'auto', env: { MINI_CDN_WORKERS: 'auto' }, read: (c) => c.workers, expected: 'auto' },
  { name: 'workers number', env: { MINI_CDN_WORKERS: '4' }, read: (c) => c.workers, expected: 4 },
  { name: 'array', env: { MINI_CDN_CACHE__TAG_FIELDS: '["x-tags"]' }, read: (c) => c.cache.tagFields, expected: ['x-tags'] },
  { name: 'false for a group', env: { MINI_CDN_HEALTH_CHECK: 'false' }, read: (c) => c.healthCheck, expected: false },
  { name: 'deep, under a union', env: { MINI_CDN_HEALTH_CHECK__INTERVAL_MS: '60000' }, read: (c) => c.healthCheck !== false && c.healthCheck.intervalMs, expected: 60000 },
  { name: 'array index', env: { MINI_CDN_ORIGINS__1__WEIGHT: '3' }, text: 'origins: [{ url: "http://a:1" }, { url: "http://b:2" }]', read: (c) => c.origins.map((o) => [o.url, o.weight]), expected: [['http://a:1', 1], ['http://b:2', 3]] },
  { name: 'whole array as JSON', env: { MINI_CDN_ORIGINS: '[{"url":"http://a:1"},{"url":"http://b:2"}]' }, read: (c) => c.origins.map((o) => o.url), expected: ['http://a:1', 'http://b:2'] },
  { name: 'text that looks like a number stays text', env: { MINI_CDN_ADMIN__PORT: '9000', MINI_CDN_ADMIN__TOKEN: '12345678901234567890' }, read: (c) => c.admin.token, expected: '12345678901234567890' },
  { name: 'null', env: { MINI_CDN_ADMIN__PORT: 'null' }, read: (c) => c.admin.port, expected: null },
  { name: 'long redis name with secret', env: { MINI_CDN_BUS__REDIS_URL: 'redis://127.0.0.1:6379', MINI_CDN_BUS__SECRET: SECRET }, read: (c) => [c.bus.redisUrl, c.bus.secret], expected: ['redis://127.0.0.1:6379', SECRET] },
  { name: 'short names', env: {
    MINI_CDN_REDIS_URL: 'rediss://r.example:6380', MINI_CDN_BUS_SECRET: SECRET, MINI_CDN_BUS_KEY_ID: 'k7', MINI_CDN_BUS_PREVIOUS_SECRET: `${SECRET}-old`,
    MINI_CDN_BUS_PREVIOUS_KEY_ID: 'k6', MINI_CDN_BUS_NAMESPACE: 'site-a', MINI_CDN_ADMIN_TOKEN: 'admin-token-of-16+', MINI_CDN_ADMIN__PORT: '9100',
  }, read: (c) => [c.bus.redisUrl, c.bus.secret, c.bus.keyId, c.bus.previousSecret, c.bus.previousKeyId, c.bus.namespace, c.admin.token, c.admin.port],
  expected: ['rediss://r.example:6380', SECRET, 'k7', `${SECRET}-old`, 'k6', 'site-a', 'admin-token-of-16+', 9100] },
  { name: 'a long name wins over its short name', env: { MINI_CDN_BUS_NAMESPACE: 'short', MINI_CDN_BUS__NAMESPACE: 'long' }, read: (c) => c.bus.namespace, expected: 'long' },
  { name: 'other variables are ignored', env: { PATH: '/bin', MINI_CDNX: '1', HOME: '/root' }, read: (c) => c.listen.port, expected: 8000 },
];

for (const row of OVERRIDES) {
  test(`env override: ${row.name}`, () => {
    assert.deepEqual(row.read(withEnv(row.env, row.text)), row.expected);
    if (row.text === undefined) assert.deepEqual(row.read(defaultConfig(row.env)), row.expected);
  });
}

test('the environment overrides the file, key by key', () => {
  const c = withEnv({ MINI_CDN_CACHE__MAX_BYTES: '5000' }, 'cache:\n  maxBytes: 1000\n  maxObjectBytes: 100\nlisten: { port: 7000 }\n');
  assert.deepEqual([c.cache.maxBytes, c.cache.maxObjectBytes, c.listen.port], [5000, 100, 7000]);
  const off = withEnv({ MINI_CDN_HEALTH_CHECK__TIMEOUT_MS: '10' }, 'healthCheck: false\n');
  assert.equal(off.healthCheck !== false && off.healthCheck.timeoutMs, 10);
});

const UNKNOWN: { env: string; hint?: RegExp }[] = [
  { env: 'MINI_CDN_FROB', hint: /known here: LISTEN, ORIGINS/ },
  { env: 'MINI_CDN_CACHE__MAXBYTES', hint: /did you mean MINI_CDN_CACHE__MAX_BYTES\?/ },
  { env: 'MINI_CDN_LISTEN__PORT__X', hint: /no sub-keys/ },
  { env: 'MINI_CDN_CACHE_MAX_BYTES' },
  { env: 'MINI_CDN_ORIGINS__0__URLS', hint: /MINI_CDN_ORIGINS__0__URL\?/ },
];

for (const row of UNKNOWN) {
  test(`unknown env name ${row.env} is a problem at env:${row.env}`, () => {
    const err = rejected({ [row.env]: '1', MINI_CDN_LISTEN__PORT: '9000' });
    assert.equal(err.code, 'MCDN_CONFIG_INVALID');
    assert.deepEqual(err.problems.map((p) => p.path), [`env:${row.env}`]);
    if (row.hint) assert.match(err.problems[0]?.message ?? '', row.hint);
    assert.match(err.message, new RegExp(`^env:${row.env}: unknown setting`));
  });
}

test('a bad value from the environment names its variable, and has no file line', () => {
  const err = rejected({ MINI_CDN_LISTEN__PORT: 'eighty', MINI_CDN_WORKERS: '-1', MINI_CDN_REDIS_URL: 'redis://r:6379' }, 'listen:\n  port: 8000\n');
  const byPath = new Map(err.problems.map((p) => [p.path, p]));
  assert.match(byPath.get('listen.port')?.message ?? '', /\(from MINI_CDN_LISTEN__PORT\)$/);
  assert.equal(byPath.get('listen.port')?.line, undefined);
  assert.match(byPath.get('workers')?.message ?? '', /from MINI_CDN_WORKERS/);
  assert.ok(byPath.has('bus.secret'), 'a Redis URL from the environment still needs a secret');
  assert.match(err.message, /^test\.yaml listen\.port: /m);
});
