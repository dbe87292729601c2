// The config schema and its problems: defaults, the examples, every kind of invalid value reported
// at its path (and line, in YAML), several at once, syntax errors, frozen results, JSON Schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, defaultConfig, parseConfigText, type Config, type ConfigProblem } from '../../config/load.js';
import { jsonSchema } from '../../config/schema-export.js';
import { STATIC_CONTENT_TYPES } from '../../config/schema.js';
import { schemaFileText } from '../../config/write-schema.js';
import { proxyOptionsFrom } from '../../cli/from-config.js';

const repoFile = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const NO_ENV = {};

function yaml(text: string): Config {
  return parseConfigText(text, 'yaml', 'test.yaml', NO_ENV);
}

/** The ConfigError that parsing throws. */
function problemsOf(text: string, format: 'yaml' | 'json' = 'yaml'): ConfigError {
  try {
    parseConfigText(text, format, `test.${format}`, NO_ENV);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be rejected');
}

function find(problems: ConfigProblem[], path: string): ConfigProblem {
  const found = problems.find((p) => p.path === path);
  assert.ok(found, `no problem at ${path}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
  return found;
}

test('defaults: no file and no environment give the documented values', () => {
  const c = defaultConfig(NO_ENV);
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(c.origins, [{ url: 'http://127.0.0.1:8080', weight: 1, timeouts: { connectMs: 5000, headersMs: 30000, bodyMs: 30000 }, maxConnections: 128, hostHeader: null }]);
  assert.equal(c.balancing, 'weighted-round-robin');
  assert.deepEqual(c.healthCheck, { path: '/healthz', intervalMs: 5000, timeoutMs: 2000, healthyAfter: 2, unhealthyAfter: 3 });
  assert.deepEqual(c.passiveEjection, { failures: 5, windowMs: 10000, ejectMs: 30000 });
  assert.deepEqual(c.retries, { attempts: 2, backoffMs: 50 });
  assert.deepEqual(c.cache, {
    maxBytes: 268435456, maxObjectBytes: 16777216, maxVariantsPerUrl: 32, heuristicFraction: 0.1, heuristicMaxMs: 86400000, forwardCdnCacheControl: false, tagFields: ['surrogate-key', 'cache-tag'],
    maxInflightBytes: null, requestsWithCookies: 'explicit-or-static', staticContentTypes: [...STATIC_CONTENT_TYPES],
  });
  assert.deepEqual(c.stale, { whileRevalidateMs: 0, ifErrorMs: 0 });
  assert.deepEqual(c.routes, []);
  assert.deepEqual(c.defaults, { mode: 'ttl', edgeTtlMs: 3600000 });
  assert.deepEqual(c.bus, { redisUrl: null, sentinels: [], sentinelMaster: null, namespace: 'mini-cdn', streamMaxLength: 10000, secret: null, keyId: 'k1', previousSecret: null, previousKeyId: 'k0', leaseRenewMs: 1000, leaseMs: 3000, leaseMarginMs: 1000, commandTimeoutMs: 2000 });
  assert.deepEqual(c.admin, { port: null, host: '127.0.0.1', token: null });
  assert.deepEqual(c.logging, { level: 'info', accessLog: true, accessLogFormat: 'json' });
  assert.equal(c.workers, 1);
  assert.deepEqual(c.limits, { maxRequestHeaderBytes: 16384, maxUrlBytes: 8192, requestTimeoutMs: 60000, headersTimeoutMs: 15000, keepAliveTimeoutMs: 5000, sendTimeoutMs: 30000 });
  assert.deepEqual(c.forwarding, { trustedProxies: [] });
  assert.deepEqual(c.shutdown, { graceMs: 10000 });
});

test('a cache smaller than the default object limit takes objects up to its own size unless maxObjectBytes is given', () => {
  const cases: Array<[string, number, number]> = [
    ['cache:\n  maxBytes: 4194304\n', 4194304, 4194304],
    ['cache:\n  maxBytes: 4194304\n  maxObjectBytes: 1024\n', 4194304, 1024],
    ['cache:\n  maxBytes: 67108864\n', 67108864, 16777216],
  ];
  for (const [text, maxBytes, maxObjectBytes] of cases) {
    const c = parseConfigText(text, 'yaml', 'x.yaml', NO_ENV);
    assert.deepEqual([c.cache.maxBytes, c.cache.maxObjectBytes], [maxBytes, maxObjectBytes], text);
  }
});

test('origins[].hostHeader and forwarding.trustedProxies reach the proxy options; addresses, CIDR blocks and host:port are accepted', () => {
  const c = yaml('origins:\n  - url: http://a\n    hostHeader: www.example.test:8080\n  - url: http://b\n    hostHeader: "[::1]:80"\n  - url: http://c\nforwarding:\n  trustedProxies: [127.0.0.1, 10.0.0.0/8, "::1", "fd00::/8"]\n');
  const options = proxyOptionsFrom(c);
  assert.deepEqual(options.origins?.map((o) => o.hostHeader), ['www.example.test:8080', '[::1]:80', null]);
  assert.deepEqual(options.trustedProxies, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
  assert.deepEqual(proxyOptionsFrom(defaultConfig(NO_ENV)).trustedProxies, []);
});

test('an empty YAML file, and one of comments only, is the defaults', () => {
  assert.deepEqual(yaml(''), defaultConfig(NO_ENV));
  assert.deepEqual(yaml('# nothing here\n'), defaultConfig(NO_ENV));
});

test('a route takes mode and edgeTtlMs from defaults unless it names its own; nested defaults fill in', () => {
  const c = yaml('defaults: { mode: callback, edgeTtlMs: 5 }\nroutes:\n  - match: /a/\n  - match: /b/*\n    mode: validate\n    edgeTtlMs: 7\n');
  assert.deepEqual(c.routes.map((r) => [r.match, r.mode, r.edgeTtlMs, r.ttlOverrideMs, r.bypass]), [['/a/', 'callback', 5, null, false], ['/b/*', 'validate', 7, null, false]]);
  assert.deepEqual(c.routes[0]?.cacheKey, { ignoreQuery: [], sortQuery: false, headers: [], cookies: [] });
  assert.equal(yaml('healthCheck: false').healthCheck, false);
  assert.equal(yaml('workers: auto').workers, 'auto');
  assert.deepEqual(yaml('origins: [{ url: "https://example.com/" }]').origins[0]?.timeouts, { connectMs: 5000, headersMs: 30000, bodyMs: 30000 });
});

for (const example of ['minimal.yaml', 'full.yaml']) {
  test(`config/examples/${example} loads without problems`, () => {
    const c = parseConfigText(repoFile(`config/examples/${example}`), 'yaml', example, NO_ENV);
    assert.ok(c.origins.length >= 1);
  });
}

test('full.yaml names every key of the schema', () => {
  const text = repoFile('config/examples/full.yaml');
  const keys = new Set<string>();
  const walk = (schema: unknown): void => {
    if (!schema || typeof schema !== 'object') return;
    const s = schema as { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] };
    for (const [key, inner] of Object.entries(s.properties ?? {})) {
      keys.add(key);
      walk(inner);
    }
    walk(s.items);
    for (const option of s.anyOf ?? []) walk(option);
  };
  walk(jsonSchema());
  keys.delete('$schema');
  for (const key of keys) assert.match(text, new RegExp(`^\\s*(- )?${key}:`, 'm'), `full.yaml does not show ${key}`);
});

// Each row: a YAML config, the path of the problem it must report, and the line it is on.
const INVALID: { name: string; text: string; path: string; line: number; message?: RegExp }[] = [
  { name: 'unknown top-level key', text: 'listen: { port: 1 }\ncahce: {}\n', path: 'cahce', line: 2, message: /did you mean "cache"/ },
  { name: 'unknown nested key', text: 'cache:\n  maxBytes: 100\n  maxbytes: 100\n', path: 'cache.maxbytes', line: 3, message: /unknown key/ },
  { name: 'unknown key in an origin', text: 'origins:\n  - url: http://a\n    timeout: 5\n', path: 'origins[0].timeout', line: 3 },
  { name: 'wrong type', text: 'listen:\n  port: "8000"\n', path: 'listen.port', line: 2, message: /expected number/ },
  { name: 'not a whole number', text: 'cache:\n  maxBytes: 1.5\n', path: 'cache.maxBytes', line: 2, message: /whole number/ },
  { name: 'negative number', text: 'retries:\n  attempts: -1\n', path: 'retries.attempts', line: 2, message: /≥ 0/ },
  { name: 'zero where positive is needed', text: 'origins:\n  - url: http://a\n    weight: 0\n', path: 'origins[0].weight', line: 3 },
  { name: 'port out of range', text: 'listen: { port: 70000 }\n', path: 'listen.port', line: 1 },
  { name: 'maxObjectBytes > maxBytes', text: 'cache:\n  maxBytes: 1000\n  maxObjectBytes: 2000\n', path: 'cache.maxObjectBytes', line: 3, message: /cache\.maxBytes/ },
  { name: 'admin port without token', text: 'admin:\n  port: 9000\n', path: 'admin.token', line: 2, message: /16 characters/ },
  { name: 'admin port with a short token', text: 'admin:\n  port: 9000\n  token: short\n', path: 'admin.token', line: 3 },
  { name: 'origin URL not http', text: 'origins:\n  - url: ftp://a.example\n', path: 'origins[0].url', line: 2, message: /http/ },
  { name: 'origin URL with a path', text: 'origins:\n  - url: http://a.example/app\n', path: 'origins[0].url', line: 2, message: /no path/ },
  { name: 'origin URL not absolute', text: 'origins:\n  - url: a.example\n', path: 'origins[0].url', line: 2 },
  { name: 'second origin bad', text: 'origins:\n  - url: http://a\n  - url: 12\n', path: 'origins[1].url', line: 3 },
  { name: 'empty origins', text: 'origins: []\n', path: 'origins', line: 1, message: /at least 1/ },
  { name: 'route match without /', text: 'routes:\n  - match: static/\n', path: 'routes[0].match', line: 2, message: /start with \// },
  { name: 'route without match', text: 'routes:\n  - mode: ttl\n', path: 'routes[0].match', line: 2, message: /required/ },
  { name: 'bad route mode', text: 'routes:\n  - match: /a\n    mode: sometimes\n', path: 'routes[0].mode', line: 3, message: /ttl/ },
  { name: 'bad default mode', text: 'defaults:\n  mode: never\n', path: 'defaults.mode', line: 2 },
  { name: 'bad balancing', text: 'balancing: random\n', path: 'balancing', line: 1 },
  { name: 'bad workers text', text: 'workers: many\n', path: 'workers', line: 1, message: /auto/ },
  { name: 'bad workers zero', text: 'workers: 0\n', path: 'workers', line: 1 },
  { name: 'bad log level', text: 'logging:\n  level: loud\n', path: 'logging.level', line: 2 },
  { name: 'short secret with redis', text: 'bus:\n  redisUrl: redis://127.0.0.1:6379\n  secret: tooshort\n', path: 'bus.secret', line: 3, message: /16/ },
  { name: 'no secret with redis', text: 'bus:\n  redisUrl: rediss://cache.example:6380\n', path: 'bus.secret', line: 2 },
  { name: 'the public development secret with redis', text: 'bus:\n  redisUrl: redis://127.0.0.1:6379\n  secret: mini-cdn-development-secret\n', path: 'bus.secret', line: 3, message: /public development secret/ },
  { name: 'the public development secret without redis', text: 'bus:\n  secret: mini-cdn-development-secret\n', path: 'bus.secret', line: 2, message: /public development secret/ },
  { name: 'the public development secret as the previous one', text: 'bus:\n  secret: 0123456789abcdef\n  previousSecret: mini-cdn-development-secret\n', path: 'bus.previousSecret', line: 3, message: /public development secret/ },
  { name: 'redis URL not redis', text: 'bus:\n  redisUrl: http://127.0.0.1:6379\n  secret: 0123456789abcdef\n', path: 'bus.redisUrl', line: 2, message: /redis:\/\// },
  { name: 'Sentinel URL without a master name', text: 'bus:\n  redisUrl: redis-sentinel://10.0.0.1:26379\n  secret: 0123456789abcdef\n', path: 'bus.redisUrl', line: 2, message: /master/ },
  { name: 'Sentinel URL with a bad address', text: 'bus:\n  redisUrl: redis-sentinel://10.0.0.1/m\n  secret: 0123456789abcdef\n', path: 'bus.redisUrl', line: 2, message: /host:port/ },
  { name: 'sentinels without sentinelMaster', text: 'bus:\n  sentinels: [{ host: 10.0.0.1, port: 26379 }]\n  secret: 0123456789abcdef\n', path: 'bus.sentinelMaster', line: 2, message: /master/ },
  { name: 'sentinelMaster without sentinels', text: 'bus:\n  sentinelMaster: mymaster\n  secret: 0123456789abcdef\n', path: 'bus.sentinels', line: 2, message: /at least one sentinel/ },
  { name: 'redisUrl and sentinels together', text: 'bus:\n  redisUrl: redis://127.0.0.1:6379\n  sentinels: [{ host: 10.0.0.1, port: 26379 }]\n  sentinelMaster: mymaster\n  secret: 0123456789abcdef\n', path: 'bus.redisUrl', line: 2, message: /not both/ },
  { name: 'sentinel port out of range', text: 'bus:\n  sentinels:\n    - { host: 10.0.0.1, port: 70000 }\n  sentinelMaster: mymaster\n  secret: 0123456789abcdef\n', path: 'bus.sentinels[0].port', line: 3 },
  { name: 'sentinel host with a space', text: 'bus:\n  sentinels:\n    - { host: "a b", port: 26379 }\n  sentinelMaster: mymaster\n  secret: 0123456789abcdef\n', path: 'bus.sentinels[0].host', line: 3, message: /host name/ },
  { name: 'sentinels without a secret', text: 'bus:\n  sentinels: [{ host: 10.0.0.1, port: 26379 }]\n  sentinelMaster: mymaster\n', path: 'bus.secret', line: 2, message: /16/ },
  { name: 'health timeout not below interval', text: 'healthCheck:\n  intervalMs: 1000\n  timeoutMs: 1000\n', path: 'healthCheck.timeoutMs', line: 3 },
  { name: 'health check neither false nor object', text: 'healthCheck: true\n', path: 'healthCheck', line: 1, message: /false/ },
  { name: 'unknown key inside health check', text: 'healthCheck:\n  every: 5\n', path: 'healthCheck.every', line: 2 },
  { name: 'headers timeout above request timeout', text: 'limits:\n  requestTimeoutMs: 1000\n  headersTimeoutMs: 2000\n', path: 'limits.headersTimeoutMs', line: 3 },
  { name: 'heuristic fraction above 1', text: 'cache: { heuristicFraction: 2 }\n', path: 'cache.heuristicFraction', line: 1 },
  { name: 'origin hostHeader with a space', text: 'origins:\n  - url: http://a\n    hostHeader: "a b"\n', path: 'origins[0].hostHeader', line: 3, message: /host name/ },
  { name: 'trusted proxy not an address', text: 'forwarding:\n  trustedProxies: [10.0.0.1, edge.internal]\n', path: 'forwarding.trustedProxies[1]', line: 2, message: /IP address or a CIDR/ },
  { name: 'trusted proxy prefix too long', text: 'forwarding:\n  trustedProxies:\n    - 10.0.0.0/33\n', path: 'forwarding.trustedProxies[0]', line: 3, message: /CIDR/ },
  { name: 'document is a list', text: '- a\n- b\n', path: '', line: 1, message: /expected object/ },
];

for (const row of INVALID) {
  test(`invalid: ${row.name} → ${row.path || '(document)'} line ${row.line}`, () => {
    const err = problemsOf(row.text);
    assert.equal(err.code, 'MCDN_CONFIG_INVALID');
    const problem = find(err.problems, row.path);
    assert.equal(problem.line, row.line);
    assert.equal(typeof problem.column, 'number');
    if (row.message) assert.match(problem.message, row.message);
    assert.ok(err.message.includes(`test.yaml:${row.line}:${problem.column} ${row.path || '(document)'}: `), err.message);
  });
}

test('several problems in one file are all reported together, one line each, in file order', () => {
  const text = [
    'listen:', //                          1
    '  port: -5', //                       2
    'origins:', //                         3
    '  - url: ftp://x', //                 4
    'cache:', //                           5
    '  maxBytes: 10', //                   6
    '  maxObjectBytes: 20', //             7
    'workers: lots', //                    8
    'admin: { port: 9000 }', //            9
    'surprise: 1', //                      10
    'routes: [{ match: nope }]', //        11
  ].join('\n');
  const err = problemsOf(text);
  const got = err.problems.map((p) => [p.path, p.line]);
  assert.deepEqual(got, [['listen.port', 2], ['origins[0].url', 4], ['cache.maxObjectBytes', 7], ['workers', 8], ['admin.token', 9], ['surprise', 10], ['routes[0].match', 11]]);
  assert.equal(err.message.split('\n').length, 7);
  assert.match(err.message.split('\n')[0] ?? '', /^test\.yaml:2:9 listen\.port: /);
});

test('YAML syntax errors are unreadable, with line and column', () => {
  const err = problemsOf('listen:\n  port: 8000\norigins: [ { url: http://a }\ncache: {}\n');
  assert.equal(err.code, 'MCDN_CONFIG_UNREADABLE');
  assert.ok(err.problems.length >= 1);
  assert.ok(err.problems.every((p) => typeof p.line === 'number' && p.line >= 3), JSON.stringify(err.problems));
  assert.match(err.message, /^test\.yaml:\d+:\d+ \(document\): YAML syntax error/);
});

test('a duplicate YAML key is an error at its line', () => {
  const err = problemsOf('cache:\n  maxBytes: 10\nlisten: {}\ncache:\n  maxBytes: 20\n');
  assert.equal(err.code, 'MCDN_CONFIG_UNREADABLE');
  assert.deepEqual(err.problems.map((p) => [p.line, p.message]), [[4, 'duplicate key "cache"']]);
});

const JSON_SYNTAX: { name: string; text: string; line: number; column: number }[] = [
  { name: 'missing value', text: '{\n  "listen": {\n    "port": }\n}', line: 3, column: 13 },
  { name: 'trailing comma', text: '{\n  "workers": 1,\n}', line: 3, column: 1 },
  { name: 'unquoted key', text: '{\n  listen: {}\n}', line: 2, column: 3 },
  { name: 'cut short', text: '{\n  "listen": {', line: 2, column: 14 },
  { name: 'garbage after', text: '{}\n}', line: 2, column: 1 },
];

for (const row of JSON_SYNTAX) {
  test(`JSON syntax error (${row.name}) is reported at line ${row.line}, column ${row.column}`, () => {
    const err = problemsOf(row.text, 'json');
    assert.equal(err.code, 'MCDN_CONFIG_UNREADABLE');
    assert.deepEqual(err.problems.map((p) => [p.line, p.column]), [[row.line, row.column]]);
    assert.match(err.message, new RegExp(`^test\\.json:${row.line}:${row.column} \\(document\\): JSON syntax error`));
  });
}

test('JSON: values are validated with lines too, duplicate keys are errors, $schema is allowed', () => {
  const err = problemsOf('{\n  "listen": { "port": "x" },\n  "extra": true\n}', 'json');
  assert.deepEqual(err.problems.map((p) => [p.path, p.line]), [['listen.port', 2], ['extra', 3]]);
  const dup = problemsOf('{ "workers": 1,\n  "workers": 2 }', 'json');
  assert.deepEqual(dup.problems.map((p) => [p.line, p.message]), [[2, 'duplicate key "workers"']]);
  const c = parseConfigText('{ "$schema": "./schema.json", "workers": 3 }', 'json', 'x.json', NO_ENV);
  assert.equal(c.workers, 3);
  assert.ok(!('$schema' in c));
});

test('the result is deep-frozen: assignments throw', () => {
  const c = yaml('routes: [{ match: /a }]\n');
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { workers: unknown }).workers = 2;
  }, TypeError);
  assert.throws(() => {
    (c.cache as { maxBytes: number }).maxBytes = 1;
  }, TypeError);
  assert.throws(() => {
    (c.origins as unknown[]).push({});
  }, TypeError);
  assert.throws(() => {
    (c.routes[0]?.cacheKey.ignoreQuery as string[]).push('x');
  }, TypeError);
  assert.throws(() => {
    (c.origins[0]?.timeouts as { connectMs: number }).connectMs = 1;
  }, TypeError);
});

test('jsonSchema() describes every top-level key, and config/schema.json is current', () => {
  const schema = jsonSchema() as { type: string; properties: Record<string, unknown>; additionalProperties: unknown };
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  for (const key of ['listen', 'origins', 'balancing', 'healthCheck', 'passiveEjection', 'retries', 'cache', 'stale', 'routes', 'defaults', 'bus', 'admin', 'logging', 'workers', 'limits', 'shutdown']) {
    assert.ok(key in schema.properties, `schema lacks ${key}`);
  }
  assert.equal(repoFile('config/schema.json'), schemaFileText(), 'config/schema.json is out of date: run node dist/config/write-schema.js');
});
