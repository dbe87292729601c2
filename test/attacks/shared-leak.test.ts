// Attacks on the sharing rule (issue 10, "No user's response reaches another user"): a per-user
// page fetched with alice's Cookie must never reach an anonymous user, through a heuristic hit,
// max-stale, only-if-cached or a collapsed request; a response nothing can reuse is not stored;
// and a field the client names in Connection (so the origin never sees it) cannot pick the
// variant a response is stored as. A real origin (node:http) reflects Cookie and X-V into the
// body and counts requests per path; a real proxy node listens on port 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyOptionsFrom } from '../../cli/from-config.js';
import { defaultConfig, parseConfigText } from '../../config/load.js';
import { DEFAULT_FRESHNESS } from '../../proxy/policy/index.js';
import type { FreshnessOptions } from '../../proxy/policy/index.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyNode } from '../../proxy/server/proxy-node.js';
import type { RouteRule } from '../../proxy/server/routes.js';
import { fetchFrom, rawExchange, waitFor } from '../helpers/harness.js';
import type { Fetched } from '../helpers/harness.js';

const ALICE = { cookie: 'session=alice' };
const DAY_AGO = new Date(Date.now() - 86_400_000).toUTCString();

interface LeakOrigin {
  url: string;
  /** Requests seen per path (query included). */
  count(path: string): number;
  /** Holds alice's responses (headers and all) until release() is called. */
  gate(): void;
  release(): void;
  close(): Promise<void>;
}

/**
 * Answers by path: `/<kind>/...` picks the caching headers and Content-Type; the body names the
 * user (from Cookie) and the X-V value the origin itself received.
 */
async function leakOrigin(): Promise<LeakOrigin> {
  const counts = new Map<string, number>();
  let gated = false;
  const held: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const user = /session=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'anonymous';
    const kind = path.split('/')[1] ?? '';
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' };
    if (kind === 'lm-html') headers['last-modified'] = DAY_AGO;
    if (kind === 'lm-json') Object.assign(headers, { 'last-modified': DAY_AGO, 'content-type': 'Application/JSON; charset=utf-8' });
    if (kind === 'lm-png') Object.assign(headers, { 'last-modified': DAY_AGO, 'content-type': 'image/png' });
    if (kind === 'lm-css') Object.assign(headers, { 'last-modified': DAY_AGO, 'content-type': 'text/css; charset=utf-8' });
    if (kind === 'max-age') headers['cache-control'] = 'max-age=60';
    if (kind === 'vary') Object.assign(headers, { 'cache-control': 'max-age=60', vary: 'X-V' });
    const body = kind === 'vary' ? `variant:${String(req.headers['x-v'] ?? 'none')}` : `page for ${user}`;
    const answer = (): void => {
      res.writeHead(200, headers);
      res.end(body);
    };
    if (gated && user === 'alice') held.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: (path) => counts.get(path) ?? 0,
    gate: () => {
      gated = true;
    },
    release: () => {
      gated = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Setup {
  origin: LeakOrigin;
  proxy: ProxyNode;
  get(path: string, headers?: Record<string, string>): Promise<Fetched>;
}

async function setUp(freshness: Partial<FreshnessOptions> = {}, routes: RouteRule[] = []): Promise<Setup> {
  const origin = await leakOrigin();
  const proxy = createProxyNode({ origin: origin.url, freshness: { ...DEFAULT_FRESHNESS, ...freshness }, routes });
  const base = await proxy.listen(0);
  return { origin, proxy, get: (path, headers) => fetchFrom(base, 'GET', path, { headers }) };
}

async function tearDown(s: Setup): Promise<void> {
  await s.proxy.close();
  await s.origin.close();
}

describe('per-user pages fetched with a Cookie are never shared (default explicit-or-static)', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(() => tearDown(s));

  const pages = [
    { name: 'no caching headers', kind: 'none' },
    { name: 'only Last-Modified, text/html', kind: 'lm-html' },
    { name: 'only Last-Modified, application/json', kind: 'lm-json' },
  ];
  for (const page of pages) {
    test(`${page.name}: a plain GET by another user goes to the origin`, async () => {
      const path = `/${page.kind}/plain`;
      const a = await s.get(path, ALICE);
      assert.equal(a.text, 'page for alice');
      assert.equal(a.cacheStatus['stored'], undefined);
      assert.equal(a.cacheStatus['detail'], page.kind === 'none' ? 'no-validator' : 'cookie');
      const b = await s.get(path);
      assert.equal(b.text, 'page for anonymous');
      assert.equal(b.cacheStatus['hit'], undefined);
      assert.equal(s.origin.count(path), 2);
    });

    test(`${page.name}: max-stale does not hand alice's page to another user`, async () => {
      const path = `/${page.kind}/max-stale`;
      await s.get(path, ALICE);
      const b = await s.get(path, { 'cache-control': 'max-stale=99999' });
      assert.equal(b.text, 'page for anonymous');
      assert.equal(b.cacheStatus['hit'], undefined);
      assert.equal(s.origin.count(path), 2);
    });

    test(`${page.name}: only-if-cached gets a 504, not alice's page`, async () => {
      const path = `/${page.kind}/only-if-cached`;
      await s.get(path, ALICE);
      const b = await s.get(path, { 'cache-control': 'only-if-cached' });
      assert.equal(b.status, 504);
      assert.doesNotMatch(b.text, /alice/);
      const both = await s.get(path, { 'cache-control': 'only-if-cached, max-stale' });
      assert.equal(both.status, 504);
      assert.doesNotMatch(both.text, /alice/);
      assert.equal(s.origin.count(path), 1);
    });

    test(`${page.name}: a request that arrives during alice's fetch gets its own page`, async () => {
      const path = `/${page.kind}/collapsed`;
      const collapsedBefore = s.proxy.engine.stats().collapsed;
      s.origin.gate();
      const aliceFetch = s.get(path, ALICE);
      await waitFor(() => s.origin.count(path) === 1, 10_000);
      const anonymousFetch = s.get(path);
      // Bob's request has joined alice's fetch under way before the origin answers her.
      await waitFor(() => s.proxy.engine.stats().collapsed > collapsedBefore, 10_000);
      assert.equal(s.proxy.engine.stats().collapsed, collapsedBefore + 1);
      s.origin.release();
      const [a, b] = await Promise.all([aliceFetch, anonymousFetch]);
      assert.equal(a.text, 'page for alice');
      assert.equal(b.text, 'page for anonymous');
      assert.equal(s.origin.count(path), 2);
    });
  }

  for (const kind of ['lm-png', 'lm-css']) {
    test(`${kind}: a static type with only Last-Modified is shared by heuristics`, async () => {
      const path = `/${kind}/shared`;
      const a = await s.get(path, ALICE);
      assert.equal(a.cacheStatus['stored'], true);
      const b = await s.get(path);
      assert.equal(b.cacheStatus['hit'], true);
      assert.equal(b.text, 'page for alice'); // the same asset for everyone: the origin's file
      assert.equal(s.origin.count(path), 1);
    });
  }

  test('an anonymous heuristic copy of a page is not served to a request with a Cookie', async () => {
    const path = '/lm-html/anonymous-first';
    const anonymous = await s.get(path);
    assert.equal(anonymous.cacheStatus['stored'], true);
    const a = await s.get(path, ALICE);
    assert.equal(a.text, 'page for alice');
    assert.equal(a.cacheStatus['hit'], undefined);
    assert.equal(a.cacheStatus['fwd'], 'request');
    assert.equal(a.cacheStatus['detail'], 'cookie');
    const again = await s.get(path);
    assert.equal(again.cacheStatus['hit'], true);
    assert.equal(again.text, 'page for anonymous');
    assert.equal(s.origin.count(path), 2);
  });

  test('a static asset stored for anyone is served to a request with a Cookie', async () => {
    const path = '/lm-png/anonymous-first';
    await s.get(path);
    const a = await s.get(path, ALICE);
    assert.equal(a.cacheStatus['hit'], true);
    assert.equal(s.origin.count(path), 1);
  });

  test('an explicitly cacheable response (max-age=60) to a Cookie request is shared', async () => {
    const path = '/max-age/shared';
    const a = await s.get(path, ALICE);
    assert.equal(a.cacheStatus['stored'], true);
    const b = await s.get(path);
    assert.equal(b.cacheStatus['hit'], true);
    assert.equal(b.text, 'page for alice');
    assert.equal(s.origin.count(path), 1);
  });

  test('a 200 with neither freshness nor a validator is not stored, even without a Cookie', async () => {
    const path = '/none/no-validator';
    const first = await s.get(path);
    assert.equal(first.cacheStatus['stored'], undefined);
    assert.equal(first.cacheStatus['detail'], 'no-validator');
    const second = await s.get(path);
    assert.equal(second.cacheStatus['hit'], undefined);
    assert.equal(second.cacheStatus['fwd'], 'uri-miss');
    assert.equal(second.cacheStatus['detail'], 'no-validator');
    assert.equal(s.origin.count(path), 2);
  });
});

describe('requestsWithCookies: explicit', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ requestsWithCookies: 'explicit' });
  });
  after(() => tearDown(s));

  for (const kind of ['lm-png', 'lm-css']) {
    test(`${kind}: a static type is not shared by heuristics`, async () => {
      const path = `/${kind}/explicit`;
      const a = await s.get(path, ALICE);
      assert.equal(a.cacheStatus['stored'], undefined);
      assert.equal(a.cacheStatus['detail'], 'cookie');
      const b = await s.get(path);
      assert.equal(b.cacheStatus['hit'], undefined);
      assert.equal(b.text, 'page for anonymous');
      assert.equal(s.origin.count(path), 2);
    });
  }

  test('max-age=60 is still shared', async () => {
    const path = '/max-age/explicit';
    await s.get(path, ALICE);
    const b = await s.get(path);
    assert.equal(b.cacheStatus['hit'], true);
    assert.equal(s.origin.count(path), 1);
  });
});

describe('requestsWithCookies: never', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ requestsWithCookies: 'never' });
  });
  after(() => tearDown(s));

  for (const kind of ['max-age', 'lm-png']) {
    test(`${kind}: nothing fetched with a Cookie is stored`, async () => {
      const path = `/${kind}/never`;
      const a = await s.get(path, ALICE);
      assert.equal(a.cacheStatus['stored'], undefined);
      assert.equal(a.cacheStatus['detail'], 'cookie');
      const b = await s.get(path);
      assert.equal(b.text, 'page for anonymous');
      assert.equal(b.cacheStatus['hit'], undefined);
      assert.equal(b.cacheStatus['stored'], true); // no Cookie: stored as usual
      const c = await s.get(path);
      assert.equal(c.cacheStatus['hit'], true);
      assert.equal(c.text, 'page for anonymous');
      assert.equal(s.origin.count(path), 2);
    });
  }
});

describe('a route that keys on the session cookie: responses are per-cookie already', () => {
  let s: Setup;
  before(async () => {
    const route: RouteRule = {
      match: '/lm-html/keyed',
      mode: 'ttl',
      edgeTtlMs: 0,
      ttlOverrideMs: null,
      bypass: false,
      cacheKey: { ignoreQuery: [], sortQuery: false, headers: [], cookies: ['session'] },
    };
    s = await setUp({}, [route]);
  });
  after(() => tearDown(s));

  test('each session gets its own stored page; another cookie outside the key is not shared', async () => {
    const path = '/lm-html/keyed';
    const a = await s.get(path, ALICE);
    assert.equal(a.cacheStatus['stored'], true);
    assert.equal((await s.get(path, ALICE)).cacheStatus['hit'], true);
    const bob = await s.get(path, { cookie: 'session=bob' });
    assert.equal(bob.text, 'page for bob');
    const anonymous = await s.get(path);
    assert.equal(anonymous.text, 'page for anonymous');
    assert.equal(s.origin.count(path), 3);
    // A cookie the key does not hold could personalise the page: the rule applies again.
    const tracked = await s.get(path, { cookie: 'session=carol; theme=dark' });
    assert.equal(tracked.text, 'page for carol');
    assert.equal(tracked.cacheStatus['detail'], 'cookie');
    assert.equal(s.origin.count(path), 4);
  });
});

describe('a route that gives a lifetime (ttlOverrideMs) keeps a response with no freshness and no validator', () => {
  let s: Setup;
  before(async () => {
    const route: RouteRule = {
      match: '/none/override',
      mode: 'ttl',
      edgeTtlMs: 0,
      ttlOverrideMs: 60_000,
      bypass: false,
      cacheKey: { ignoreQuery: [], sortQuery: false, headers: [], cookies: [] },
    };
    s = await setUp({}, [route]);
  });
  after(() => tearDown(s));

  test('stored and served for the operator\'s lifetime; a Cookie request still is not shared', async () => {
    const path = '/none/override';
    const first = await s.get(path);
    assert.equal(first.cacheStatus['stored'], true);
    const second = await s.get(path);
    assert.equal(second.cacheStatus['hit'], true);
    assert.equal(second.cacheStatus['detail'], 'ttl-override');
    const a = await s.get(path, ALICE);
    assert.equal(a.text, 'page for alice');
    assert.equal(a.cacheStatus['detail'], 'cookie');
    assert.equal((await s.get(path)).text, 'page for anonymous');
    assert.equal(s.origin.count(path), 2);
  });
});

describe('a field named in Connection does not pick the stored variant (RFC 9110 §7.6.1, RFC 9111 §4.1)', () => {
  let s: Setup;
  let base: string;
  before(async () => {
    s = await setUp();
    base = `http://127.0.0.1:${(s.proxy.server.address() as AddressInfo).port}`;
  });
  after(() => tearDown(s));

  test('Connection: x-v with X-V: premium is stored as the no-X-V variant it is', async () => {
    const path = '/vary/poison';
    // The proxy drops X-V before forwarding, so the origin answers for "no X-V".
    const poison = await rawExchange(base, `GET ${path} HTTP/1.1\r\nHost: shop\r\nConnection: close, x-v\r\nX-V: premium\r\n\r\n`, 5_000);
    assert.match(poison, /^HTTP\/1\.1 200 /);
    assert.match(poison, /variant:none\r\n/);
    assert.equal(s.origin.count(path), 1);

    const premium = await fetchFrom(base, 'GET', path, { headers: { host: 'shop', 'x-v': 'premium' } });
    assert.equal(premium.text, 'variant:premium');
    assert.equal(premium.cacheStatus['hit'], undefined);
    assert.equal(premium.cacheStatus['fwd'], 'vary-miss');
    assert.equal(s.origin.count(path), 2);

    // The answer for "no X-V" serves those who send none.
    const plain = await fetchFrom(base, 'GET', path, { headers: { host: 'shop' } });
    assert.equal(plain.text, 'variant:none');
    assert.equal(plain.cacheStatus['hit'], true);
    const premiumAgain = await fetchFrom(base, 'GET', path, { headers: { host: 'shop', 'x-v': 'premium' } });
    assert.equal(premiumAgain.text, 'variant:premium');
    assert.equal(premiumAgain.cacheStatus['hit'], true);
    assert.equal(s.origin.count(path), 2);
  });
});

describe('config: cache.requestsWithCookies and cache.staticContentTypes reach the proxy', () => {
  test('the defaults are the policy defaults', () => {
    const freshness = proxyOptionsFrom(defaultConfig({})).freshness;
    assert.equal(freshness?.requestsWithCookies, 'explicit-or-static');
    assert.deepEqual(freshness?.staticContentTypes, DEFAULT_FRESHNESS.staticContentTypes);
  });

  test('an operator who lists text/html as static shares heuristic pages; never stores nothing', async () => {
    const origin = await leakOrigin();
    const build = (cache: string): ProxyNode =>
      createProxyNode(proxyOptionsFrom(parseConfigText(`origins:\n  - url: ${origin.url}\ncache:\n${cache}`, 'yaml', 'test.yaml', {})));
    const listed = build('  staticContentTypes: [Text/HTML]\n');
    const never = build('  requestsWithCookies: never\n');
    try {
      const listedBase = await listed.listen(0);
      const neverBase = await never.listen(0);
      await fetchFrom(listedBase, 'GET', '/lm-html/config-listed', { headers: ALICE });
      assert.equal((await fetchFrom(listedBase, 'GET', '/lm-html/config-listed')).cacheStatus['hit'], true);
      assert.equal(origin.count('/lm-html/config-listed'), 1);
      const a = await fetchFrom(neverBase, 'GET', '/max-age/config-never', { headers: ALICE });
      assert.equal(a.cacheStatus['detail'], 'cookie');
      assert.equal((await fetchFrom(neverBase, 'GET', '/max-age/config-never')).text, 'page for anonymous');
      assert.equal(origin.count('/max-age/config-never'), 2);
    } finally {
      await listed.close();
      await never.close();
      await origin.close();
    }
  });
});
