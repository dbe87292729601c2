// The flag → config table of `mini-cdn edge` and the one load order: defaults ← file ←
// environment ← flags. Every flag sets a key that exists and has an environment name; a flag
// against the file is refused; the environment applies without a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_FLAGS, edgeParseOptions, flagOf, overridesFromFlags, PROCESS_FLAGS } from '../../cli/edge-flags.js';
import { MiniCdnError } from '../../common/errors.js';
import { envNameOf } from '../../config/env.js';
import { ConfigError, parseConfigText, resolveConfig, type Config } from '../../config/load.js';
import { formatPath, schemaAt } from '../../config/shape.js';

const NO_ENV: NodeJS.ProcessEnv = {};
const ORIGIN = 'http://127.0.0.1:9';

/** A value of each flag as a user types it, and the key's value it must give. */
const EXAMPLES: Record<string, { flag: string | boolean | string[]; key: unknown }> = {
  origin: { flag: [ORIGIN, 'https://127.0.0.1:1'], key: [{ url: ORIGIN }, { url: 'https://127.0.0.1:1' }] },
  port: { flag: '9000', key: 9000 },
  host: { flag: '0.0.0.0', key: '0.0.0.0' },
  redis: { flag: 'redis://127.0.0.1:6379', key: 'redis://127.0.0.1:6379' },
  'admin-port': { flag: '9001', key: 9001 },
  'admin-token': { flag: 'a'.repeat(20), key: 'a'.repeat(20) },
  mode: { flag: 'callback', key: 'callback' },
  'edge-ttl-ms': { flag: '60000', key: 60000 },
  'max-bytes': { flag: '1000000', key: 1000000 },
  'max-object-bytes': { flag: '1000', key: 1000 },
  'no-access-log': { flag: true, key: false },
  'access-log-format': { flag: 'combined', key: 'combined' },
  workers: { flag: 'auto', key: 'auto' },
};

function read(config: Config, path: (string | number)[]): unknown {
  let at: unknown = config;
  for (const segment of path) at = (at as Record<string | number, unknown>)[segment];
  return at;
}

for (const row of EDGE_FLAGS) {
  test(`--${row.name} sets ${formatPath(row.path)}: a key of the schema, with an environment name`, () => {
    assert.ok(schemaAt(row.path), `${formatPath(row.path)} is a config key`);
    assert.match(envNameOf(row.path), /^MINI_CDN_[A-Z0-9_]+$/);
    assert.equal(flagOf(row.path), `--${row.name}`);
    const example = EXAMPLES[row.name];
    assert.ok(example, `the test has an example for --${row.name}`);
    const [override] = overridesFromFlags({ [row.name]: example.flag });
    assert.deepEqual(override?.path, row.path);
    assert.deepEqual(override?.value, example.key);
  });
}

test('every flag of edge is in the table or a process flag, and parseArgs knows each', () => {
  const options = edgeParseOptions();
  const names = [...EDGE_FLAGS.map((r) => r.name), ...Object.keys(PROCESS_FLAGS)];
  assert.deepEqual(Object.keys(options).sort(), [...names].sort());
  assert.equal(new Set(names).size, names.length, 'no flag twice');
  assert.deepEqual(Object.keys(PROCESS_FLAGS).sort(), ['config', 'id', 'print-config', 'watch']);
});

test('each key of the table read back from its environment name (every key has one)', async () => {
  for (const row of EDGE_FLAGS) {
    if (row.name === 'origin' || row.name === 'redis' || row.name === 'admin-port') continue; // need other keys; covered below
    const example = EXAMPLES[row.name] as { key: unknown };
    const value = typeof example.key === 'string' ? example.key : JSON.stringify(example.key);
    const config = await resolveConfig({ env: { [envNameOf(row.path)]: value } });
    assert.deepEqual(read(config, row.path), example.key, envNameOf(row.path));
  }
});

test('flags alone get the file defaults: retries 2 / 50 ms, health checks on', async () => {
  const fromFlags = await resolveConfig({ env: NO_ENV, overrides: overridesFromFlags({ origin: [ORIGIN] }) });
  const fromFile = parseConfigText(`origins:\n  - url: ${ORIGIN}\n`, 'yaml', 'edge.yaml', NO_ENV);
  assert.deepEqual(fromFlags, fromFile);
  assert.deepEqual(fromFlags.retries, { attempts: 2, backoffMs: 50 });
  assert.notEqual(fromFlags.healthCheck, false);
});

test('the environment applies without a file, and a flag wins over it', async () => {
  const env = { MINI_CDN_CACHE__MAX_BYTES: '123456', MINI_CDN_DEFAULTS__MODE: 'validate' };
  const config = await resolveConfig({ env, overrides: overridesFromFlags({ origin: [ORIGIN], mode: 'callback' }) });
  assert.equal(config.cache.maxBytes, 123456);
  assert.equal(config.defaults.mode, 'callback');
});

test('a bad flag value is MCDN_USAGE at the flag, naming the key', async () => {
  await assert.rejects(resolveConfig({ env: NO_ENV, overrides: overridesFromFlags({ origin: ['ftp://x'] }) }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'MCDN_USAGE');
    assert.match(err.message, /^--origin: origins\[0\]\.url must be http:\/\/ or https:\/\//);
    return true;
  });
  assert.throws(() => overridesFromFlags({ port: 'abc' }), (err: unknown) => err instanceof MiniCdnError && err.code === 'MCDN_USAGE' && /--port takes a whole number/.test(err.message));
});

test('without a file, a problem nothing set says which flag or variable sets its key', async () => {
  await assert.rejects(resolveConfig({ env: NO_ENV, overrides: overridesFromFlags({ origin: [ORIGIN], 'admin-port': '0' }), flagOf }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'MCDN_USAGE');
    assert.match(err.message, /admin\.token: must be at least 16 characters when admin\.port is set \(set it with --admin-token or MINI_CDN_ADMIN_TOKEN\)/);
    return true;
  });
});

test('beside a file: a flag giving another value for a key the file sets is MCDN_USAGE naming both; the same value, a key the file leaves out, --port and --host are fine', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mini-cdn-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, `listen: { host: 127.0.0.1, port: 8000 }\norigins:\n  - url: ${ORIGIN}\ncache:\n  maxBytes: 5000\nadmin:\n  token: ${'f'.repeat(20)}\n`);
  await assert.rejects(resolveConfig({ file, env: NO_ENV, overrides: overridesFromFlags({ 'max-bytes': '6000', 'admin-token': 'g'.repeat(20) }) }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'MCDN_USAGE');
    assert.match(err.message, /--max-bytes: conflicts with cache\.maxBytes in .*edge\.yaml \(the file sets 5000, the flag 6000\)/);
    assert.match(err.message, /--admin-token: conflicts with admin\.token/);
    assert.doesNotMatch(err.message, /fffff|ggggg/, 'tokens are not echoed');
    return true;
  });
  const config = await resolveConfig({ file, env: NO_ENV, overrides: overridesFromFlags({ 'max-bytes': '5000', 'max-object-bytes': '100', port: '9000', host: '0.0.0.0', origin: [ORIGIN] }) });
  assert.equal(config.cache.maxBytes, 5000);
  assert.equal(config.cache.maxObjectBytes, 100);
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 9000 });
  // A file problem stays the file's: MCDN_CONFIG_INVALID with its line.
  writeFileSync(file, 'cache:\n  maxBytes: -1\n');
  await assert.rejects(resolveConfig({ file, env: NO_ENV, overrides: overridesFromFlags({ port: '0' }) }), (err: unknown) => err instanceof ConfigError && err.code === 'MCDN_CONFIG_INVALID' && /:2:\d+ cache\.maxBytes/.test(err.message));
});
