// Routes: matching (prefix, glob), and the cache key they make (query rules, headers, cookies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, keyExtras, keyPath, routeFor } from '../../proxy/server/routes.js';
import type { RouteRule } from '../../proxy/server/routes.js';

const rule = (match: string, cacheKey: Partial<RouteRule['cacheKey']> = {}): RouteRule => ({
  match,
  mode: 'ttl',
  edgeTtlMs: 0,
  ttlOverrideMs: null,
  bypass: false,
  cacheKey: { ignoreQuery: [], sortQuery: false, headers: [], cookies: [], ...cacheKey },
});

const routes = compileRoutes([rule('/static/'), rule('/api/*/items'), rule('/')]);

const matching: Array<{ path: string; expected: string }> = [
  { path: '/static/app.js', expected: '/static/' },
  { path: '/static/app.js?v=1', expected: '/static/' },
  { path: '/api/v2/items', expected: '/api/*/items' },
  { path: '/api/v2/items/7', expected: '/api/*/items' },
  { path: '/api/v2/extra/items', expected: '/' },
  { path: '/staticx', expected: '/' },
];
for (const row of matching) {
  test(`route for ${row.path} is ${row.expected} (first match wins)`, () => {
    assert.equal(routeFor(routes, row.path)?.match, row.expected);
  });
}

test('no routes: no route', () => {
  assert.equal(routeFor([], '/x'), undefined);
});

const keys: Array<{ name: string; path: string; cacheKey: Partial<RouteRule['cacheKey']>; expected: string }> = [
  { name: 'no rules keep the path', path: '/a?b=2&a=1', cacheKey: {}, expected: '/a?b=2&a=1' },
  { name: 'ignored parameters go', path: '/a?utm_source=x&id=1&utm_medium=y', cacheKey: { ignoreQuery: ['utm_source', 'utm_medium'] }, expected: '/a?id=1' },
  { name: 'only ignored parameters: no query at all', path: '/a?utm_source=x', cacheKey: { ignoreQuery: ['utm_source'] }, expected: '/a' },
  { name: 'sorted parameters', path: '/a?b=2&a=1', cacheKey: { sortQuery: true }, expected: '/a?a=1&b=2' },
  { name: 'encoded names are compared decoded', path: '/a?utm%5Fsource=x&id=1', cacheKey: { ignoreQuery: ['utm_source'] }, expected: '/a?id=1' },
  { name: 'empty pairs dropped', path: '/a?&id=1&', cacheKey: { sortQuery: true }, expected: '/a?id=1' },
];
for (const row of keys) {
  test(`cache key: ${row.name}`, () => {
    const [route] = compileRoutes([rule('/', row.cacheKey)]);
    assert.equal(keyPath(row.path, route), row.expected);
  });
}

test('cache key extras: named headers and cookies only, encoded without "/"', () => {
  const [route] = compileRoutes([rule('/', { headers: ['X-Device'], cookies: ['ab'] })]);
  const a = keyExtras({ 'x-device': 'mobile/ios', cookie: 'session=1; ab=B' }, route);
  const b = keyExtras({ 'x-device': 'mobile/ios', cookie: 'ab=B; session=2' }, route);
  assert.equal(a, b, 'other cookies do not split the key');
  assert.ok(!a.includes('/'));
  assert.notEqual(keyExtras({ 'x-device': 'desktop', cookie: 'ab=B' }, route), a);
  assert.equal(keyExtras({}, undefined), '');
});
