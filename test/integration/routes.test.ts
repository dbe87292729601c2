// Routes through real sockets: bypass, a mode per route, a freshness override, and cache keys
// that ignore or sort query parameters or include a header or a cookie.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/harness.js';
import type { Stack } from '../helpers/harness.js';
import type { RouteRule } from '../../proxy/server/routes.js';

const key = (cacheKey: Partial<RouteRule['cacheKey']> = {}): RouteRule['cacheKey'] => ({ ignoreQuery: [], sortQuery: false, headers: [], cookies: [], ...cacheKey });
const base = { mode: 'ttl' as const, edgeTtlMs: 0, ttlOverrideMs: null, bypass: false };

let stack: Stack;
before(async () => {
  stack = await startStack({
    routes: [
      { ...base, match: '/bypass/', bypass: true, cacheKey: key() },
      { ...base, match: '/validate/', mode: 'validate', cacheKey: key() },
      { ...base, match: '/override/', ttlOverrideMs: 600_000, cacheKey: key() },
      { ...base, match: '/q/', cacheKey: key({ ignoreQuery: ['utm_source'], sortQuery: true }) },
      { ...base, match: '/device/', cacheKey: key({ headers: ['x-device'], cookies: ['ab'] }) },
    ],
  });
});
after(() => stack.close());

function resource(path: string, cacheControl = 'max-age=600'): void {
  stack.origin.setResource(path, { body: `body of ${path}`, headers: { 'cache-control': cacheControl } });
}

test('a bypass route never caches', async () => {
  resource('/bypass/x');
  await stack.get('/bypass/x');
  const second = await stack.get('/bypass/x');
  assert.equal(second.cacheStatus.fwd, 'bypass');
  assert.equal(stack.origin.count('/bypass/x'), 2);
});

test('a validate route revalidates every request; other paths keep the default', async () => {
  resource('/validate/x');
  await stack.get('/validate/x');
  assert.equal((await stack.get('/validate/x')).cacheStatus['fwd-status'], 304);
  resource('/other');
  await stack.get('/other');
  assert.equal((await stack.get('/other')).cacheStatus.hit, true);
});

test('a ttl override keeps a response the origin marks stale at once', async () => {
  resource('/override/x', 'max-age=0');
  await stack.get('/override/x');
  const hit = await stack.get('/override/x');
  assert.equal(hit.cacheStatus.hit, true);
  assert.equal(hit.cacheStatus.detail, 'ttl-override');
  assert.equal(stack.origin.count('/override/x'), 1);
});

test('ignored and sorted query parameters share one entry; a purge of the plain URL finds it', async () => {
  for (const path of ['/q/a?id=1&x=2', '/q/a?x=2&id=1', '/q/a?utm_source=mail&x=2&id=1']) resource(path);
  await stack.get('/q/a?id=1&x=2');
  assert.equal((await stack.get('/q/a?x=2&id=1')).cacheStatus.hit, true);
  assert.equal((await stack.get('/q/a?utm_source=mail&x=2&id=1')).cacheStatus.hit, true);
  assert.equal(stack.proxy.engine.purge({ urls: ['http://any.host/q/a?x=2&utm_source=z&id=1'] }), 1);
  assert.equal((await stack.get('/q/a?id=1&x=2')).cacheStatus.fwd, 'uri-miss');
});

test('a header and a cookie in the key make separate entries; other cookies do not', async () => {
  resource('/device/page');
  await stack.get('/device/page', { 'x-device': 'mobile', cookie: 'ab=A; session=1' });
  assert.equal((await stack.get('/device/page', { 'x-device': 'mobile', cookie: 'session=2; ab=A' })).cacheStatus.hit, true);
  assert.equal((await stack.get('/device/page', { 'x-device': 'desktop', cookie: 'ab=A' })).cacheStatus.fwd, 'uri-miss');
  assert.equal((await stack.get('/device/page', { 'x-device': 'mobile', cookie: 'ab=B' })).cacheStatus.fwd, 'uri-miss');
  assert.equal(stack.proxy.engine.purge({ urls: ['http://h/device/page'] }), 3);
});
