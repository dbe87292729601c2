// The bench baselines' pure parts: the nginx config (directives that make it a fair, one-process
// cache; every path inside its temp dir) and how a response is told to be a cache hit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCacheHit, nginxConfig, skippedReason } from '../../bench/baselines.js';

const dir = '/tmp/mini-cdn-nginx-abc123';
const conf = nginxConfig({ dir, port: 18080, origin: '127.0.0.1:18081' });

const required: Array<{ why: string; directive: RegExp }> = [
  { why: 'foreground', directive: /^daemon off;$/m },
  { why: 'one process: its PID serves requests', directive: /^master_process off;$/m },
  { why: 'one worker', directive: /^worker_processes 1;$/m },
  { why: 'no per-request log cost', directive: /^\s*access_log off;$/m },
  { why: 'listens on the given loopback port', directive: /^\s*listen 127\.0\.0\.1:18080;$/m },
  { why: 'upstream is the origin', directive: /^\s*server 127\.0\.0\.1:18081;$/m },
  { why: 'upstream keepalive pool', directive: /^\s*keepalive 64;$/m },
  { why: 'HTTP/1.1 upstream', directive: /^\s*proxy_http_version 1\.1;$/m },
  { why: 'keepalive to upstream', directive: /^\s*proxy_set_header Connection "";$/m },
  { why: 'cache zone with the default size', directive: new RegExp(`^\\s*proxy_cache_path ${dir}/cache .*keys_zone=bench:10m .*max_size=268435456\\b`, 'm') },
  { why: 'caches through the zone', directive: /^\s*proxy_cache bench;$/m },
  { why: 'collapsed misses', directive: /^\s*proxy_cache_lock on;$/m },
  { why: 'conditional revalidation', directive: /^\s*proxy_cache_revalidate on;$/m },
  { why: 'stale on error and while updating', directive: /^\s*proxy_cache_use_stale error timeout updating;$/m },
  { why: 'hit or miss is visible', directive: /^\s*add_header X-Cache-Status \$upstream_cache_status always;$/m },
  { why: 'pid file in the dir', directive: new RegExp(`^pid ${dir}/nginx\\.pid;$`, 'm') },
  { why: 'error log in the dir', directive: new RegExp(`^error_log ${dir}/error\\.log`, 'm') },
];
for (const row of required) {
  test(`nginx config: ${row.why}`, () => {
    assert.match(conf, row.directive);
  });
}

for (const temp of ['client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path']) {
  test(`nginx config: ${temp} is inside the dir (no root-owned default path)`, () => {
    assert.match(conf, new RegExp(`^\\s*${temp} ${dir}/\\w+;$`, 'm'));
  });
}

test('nginx config: every absolute path is inside the dir', () => {
  const paths = conf
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.match(/(?<![\w:/])\/[\w./-]+/g) ?? []);
  assert.ok(paths.length >= 8, `found only ${paths.join(', ')}`);
  for (const p of paths) assert.ok(p.startsWith(`${dir}/`), `${p} is outside ${dir}`);
});

test('nginx config as shipped: an unbuffered combined access log in the dir, and no "access_log off"', () => {
  const logging = nginxConfig({ dir, port: 18080, origin: '127.0.0.1:18081', accessLog: true });
  assert.match(logging, new RegExp(`^\\s*access_log ${dir}/access\\.log combined;$`, 'm'));
  assert.doesNotMatch(logging, /access_log off/);
  assert.doesNotMatch(logging, /buffer=|flush=/, 'unbuffered, as Debian ships it');
  assert.equal(logging.replace(/^.*access_log.*$/m, ''), conf.replace(/^.*access_log.*$/m, ''), 'the rest of the config is the same');
});

test('nginx config: cacheBytes sets max_size', () => {
  assert.match(nginxConfig({ dir, port: 1, origin: 'h:2', cacheBytes: 1_048_576 }), /max_size=1048576\b/);
});

const hits: Array<{ name: 'nginx' | 'varnish'; headers: Record<string, string>; hit: boolean }> = [
  { name: 'nginx', headers: { 'x-cache-status': 'HIT' }, hit: true },
  { name: 'nginx', headers: { 'x-cache-status': 'MISS' }, hit: false },
  { name: 'nginx', headers: { 'x-cache-status': 'REVALIDATED' }, hit: false },
  { name: 'nginx', headers: {}, hit: false },
  { name: 'varnish', headers: { 'x-varnish': '32770 3', age: '0' }, hit: true },
  { name: 'varnish', headers: { 'x-varnish': '2', age: '0' }, hit: false },
  { name: 'varnish', headers: {}, hit: false },
];
for (const row of hits) {
  test(`isCacheHit(${row.name}, ${JSON.stringify(row.headers)}) is ${row.hit}`, () => {
    assert.equal(isCacheHit(row.name, new Headers(row.headers)), row.hit);
  });
}

test('the skip reason names the binary and the install script', () => {
  assert.equal(skippedReason('nginx'), 'nginx is not installed: skipped (scripts/install-baselines.sh installs it from Debian)');
});
