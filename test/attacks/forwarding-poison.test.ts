// Cache poisoning through the forwarding family: fields a client sends that an origin may build
// links from but that are not part of the cache key. The edge owns Forwarded and X-Forwarded-*
// (set from the connection, extended only for a trusted downstream proxy) and drops the others,
// the origin sees the client's Host (or the origin's hostHeader), and a victim's later request
// never gets what an attacker's request made the origin write.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyOptions } from '../../proxy/server/options.js';
import { fetchFrom, rawExchange } from '../helpers/harness.js';
import type { Fetched } from '../helpers/harness.js';

interface NaiveOrigin {
  url: string;
  /** The fields of every request, in order. */
  seen: http.IncomingHttpHeaders[];
  /** The fields of the health checks (User-Agent mini-cdn-health-check), in order. */
  checks: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The host and proto a naive framework reads from the first element of Forwarded. */
function fromForwarded(value: string | undefined, name: 'host' | 'proto'): string | undefined {
  const element = value?.split(',')[0] ?? '';
  for (const pair of element.split(';')) {
    const [key, raw] = pair.trim().split('=');
    if (key?.toLowerCase() === name && raw) return raw.replace(/^"|"$/g, '');
  }
  return undefined;
}

/**
 * An origin written the way many frameworks behave: the page's absolute script URL comes from
 * Forwarded, then X-Forwarded-Scheme / -Proto / -Host / -Prefix, X-Host, then Host; the visitor
 * line from X-Real-IP, the method from the override fields. Cached for 5 minutes. Name-based
 * virtual hosts: Host site-a.test and site-b.test get pages of their own.
 */
async function naiveOrigin(): Promise<NaiveOrigin> {
  const seen: http.IncomingHttpHeaders[] = [];
  const checks: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    const h = req.headers;
    if (h['user-agent'] === 'mini-cdn-health-check') {
      checks.push(h);
      res.end('ok');
      return;
    }
    seen.push(h);
    const proto = fromForwarded(first(h['forwarded']), 'proto') ?? first(h['x-forwarded-scheme']) ?? first(h['x-forwarded-proto']) ?? 'http';
    const host = fromForwarded(first(h['forwarded']), 'host') ?? first(h['x-forwarded-host']) ?? first(h['x-host']) ?? h.host ?? '';
    const prefix = first(h['x-forwarded-prefix']) ?? '';
    const visitor = first(h['x-real-ip']) ?? first(h['x-forwarded-for'])?.split(',')[0] ?? '';
    const method = first(h['x-http-method']) ?? first(h['x-http-method-override']) ?? first(h['x-method-override']) ?? req.method;
    const server = first(h['x-forwarded-server']) ?? '';
    const site = h.host === 'site-a.test' ? 'site A' : h.host === 'site-b.test' ? 'site B' : 'default site';
    res.writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/html' });
    res.end(`<script src="${proto}://${host}${prefix}/script.js"></script> ${site}; visitor ${visitor}; method ${String(method)}; server ${server}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    checks,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function withEdge(options: Partial<ProxyOptions>, run: (edge: { url: string; port: number; origin: NaiveOrigin; node: ProxyNode }) => Promise<void>): Promise<void> {
  const origin = await naiveOrigin();
  const node = createProxyNode({ ...options, origin: origin.url, ...(options.origins ? { origins: options.origins.map((o) => ({ ...o, url: origin.url })) } : {}) });
  const url = await node.listen(0);
  try {
    await run({ url, port: Number(new URL(url).port), origin, node });
  } finally {
    await node.close();
    await origin.close();
  }
}

/** A GET with a Host of the test's choice (undici takes a host field as the request's authority). */
async function getWithHost(base: string, path: string, host: string, headers: Record<string, string> = {}): Promise<Fetched> {
  return fetchFrom(base, 'GET', path, { headers: { ...headers, host } });
}

const ATTACK: Record<string, string> = {
  forwarded: 'for=6.6.6.6;host=evil.test;proto=https',
  'x-forwarded-for': '1.2.3.4',
  'x-forwarded-scheme': 'https',
  'x-forwarded-host': 'evil.test',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '8443',
  'x-host': 'evil.test',
  'x-forwarded-prefix': '/evil',
  'x-forwarded-server': 'evil.test',
  'x-real-ip': '1.2.3.4',
  'x-http-method': 'DELETE',
  'x-http-method-override': 'DELETE',
  'x-method-override': 'DELETE',
  'x-original-url': '/evil',
  'x-rewrite-url': '/evil',
  'x-forwarded-ssl': 'on',
  'x-url-scheme': 'https',
  'front-end-https': 'on',
};
const DROPPED = ['x-forwarded-scheme', 'x-host', 'x-forwarded-prefix', 'x-forwarded-server', 'x-real-ip', 'x-http-method', 'x-http-method-override', 'x-method-override', 'x-original-url', 'x-rewrite-url', 'x-forwarded-ssl', 'x-url-scheme', 'front-end-https'];

describe('the forwarding family is the edge\'s own', () => {
  test('an attacker\'s Forwarded, X-Forwarded-*, X-Host, X-Real-IP and method overrides never reach the origin; the victim gets a clean page', async () => {
    await withEdge({}, async ({ url, port, origin }) => {
      const attacked = await getWithHost(url, '/page', 'www.example.test', ATTACK);
      assert.equal(attacked.status, 200);
      assert.equal(origin.seen.length, 1);
      const got = origin.seen[0] as http.IncomingHttpHeaders;
      assert.equal(got['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
      assert.equal(got['x-forwarded-for'], '127.0.0.1');
      assert.equal(got['x-forwarded-host'], 'www.example.test');
      assert.equal(got['x-forwarded-proto'], 'http');
      assert.equal(got['x-forwarded-port'], String(port));
      assert.equal(got.host, 'www.example.test');
      for (const name of DROPPED) assert.equal(got[name], undefined, `${name} must not reach the origin`);

      const victim = await getWithHost(url, '/page', 'www.example.test');
      assert.equal(victim.cacheStatus.hit, true, 'the victim is served the copy the attacker\'s request filled');
      assert.doesNotMatch(victim.text, /evil|https|DELETE|1\.2\.3\.4|6\.6\.6\.6/);
      assert.equal(victim.text, '<script src="http://www.example.test/script.js"></script> default site; visitor 127.0.0.1; method GET; server ');
      assert.equal(origin.seen.length, 1);
    });
  });

  test('a Host with a port goes into Forwarded as a quoted string', async () => {
    await withEdge({}, async ({ url, origin }) => {
      await fetchFrom(url, 'GET', '/quoted');
      const host = new URL(url).host;
      assert.equal(origin.seen[0]?.['forwarded'], `for=127.0.0.1;host="${host}";proto=http`);
      assert.equal(origin.seen[0]?.host, host);
    });
  });

  test('an IPv6 client is for="[::1]" in Forwarded and ::1 in X-Forwarded-For', async () => {
    const origin = await naiveOrigin();
    const node = createProxyNode({ origin: origin.url });
    const url = await node.listen(0, '::1');
    try {
      await getWithHost(url, '/v6', 'www.example.test');
      assert.equal(origin.seen[0]?.['forwarded'], 'for="[::1]";host=www.example.test;proto=http');
      assert.equal(origin.seen[0]?.['x-forwarded-for'], '::1');
    } finally {
      await node.close();
      await origin.close();
    }
  });

  test('methods that pass through get the same fields (POST)', async () => {
    await withEdge({}, async ({ url, origin }) => {
      await fetchFrom(url, 'POST', '/form', { headers: { ...ATTACK, host: 'www.example.test' }, body: 'a=1' });
      const got = origin.seen[0] as http.IncomingHttpHeaders;
      assert.equal(got['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
      assert.equal(got['x-forwarded-for'], '127.0.0.1');
      for (const name of DROPPED) assert.equal(got[name], undefined, `${name} must not reach the origin`);
    });
  });

  test('an Upgrade tunnel gets the same fields: the client\'s forwarding fields are replaced, not appended to', async () => {
    let got: http.IncomingHttpHeaders | undefined;
    const origin = http.createServer();
    origin.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      got = req.headers;
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const node = createProxyNode({ origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` });
    const url = new URL(await node.listen(0));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, path: '/ws', headers: { ...ATTACK, host: 'www.example.test', connection: 'Upgrade', upgrade: 'echo' } });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 101);
      assert.equal(got?.host, 'www.example.test');
      assert.equal(got?.['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
      assert.equal(got?.['x-forwarded-for'], '127.0.0.1');
      assert.equal(got?.['x-forwarded-host'], 'www.example.test');
      assert.equal(got?.['x-forwarded-proto'], 'http');
      for (const name of DROPPED) assert.equal(got?.[name], undefined, `${name} must not reach the origin`);
    } finally {
      await node.close();
      origin.closeAllConnections();
      await new Promise<void>((resolve) => origin.close(() => resolve()));
    }
  });
});

describe('trusted downstream proxies', () => {
  const CLIENT = { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7;host=evil.test;proto=https' };

  test('without trustedProxies, a client\'s X-Forwarded-For and Forwarded are replaced', async () => {
    await withEdge({}, async ({ url, origin }) => {
      await getWithHost(url, '/untrusted', 'www.example.test', CLIENT);
      assert.equal(origin.seen[0]?.['x-forwarded-for'], '127.0.0.1');
      assert.equal(origin.seen[0]?.['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
    });
  });

  for (const trusted of [['127.0.0.1'], ['10.0.0.0/8', '127.0.0.0/8'], ['::ffff:127.0.0.1']]) {
    test(`with trustedProxies ${JSON.stringify(trusted)}, the chain is extended and earlier hosts and protos are not kept`, async () => {
      await withEdge({ trustedProxies: trusted }, async ({ url, origin }) => {
        const page = await getWithHost(url, '/trusted', 'www.example.test', CLIENT);
        assert.equal(origin.seen[0]?.['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
        assert.equal(origin.seen[0]?.['forwarded'], 'for=203.0.113.7, for=127.0.0.1;host=www.example.test;proto=http');
        assert.doesNotMatch(page.text, /evil|https/);
      });
    });
  }

  test('a trusted list that names other addresses does not trust this peer', async () => {
    await withEdge({ trustedProxies: ['10.0.0.0/8', '::1'] }, async ({ url, origin }) => {
      await getWithHost(url, '/other', 'www.example.test', CLIENT);
      assert.equal(origin.seen[0]?.['x-forwarded-for'], '127.0.0.1');
    });
  });

  test('an invalid trustedProxies entry is refused when the node is built', () => {
    assert.throws(() => createProxyNode({ origin: 'http://127.0.0.1:1', trustedProxies: ['not-an-address'] }), /trustedProxies/);
    assert.throws(() => createProxyNode({ origin: 'http://127.0.0.1:1', trustedProxies: ['10.0.0.0/33'] }), /trustedProxies/);
  });

  test('a reload takes a new trusted list; an invalid one is refused and the running one kept', async () => {
    await withEdge({}, async ({ url, origin, node }) => {
      await getWithHost(url, '/r1', 'www.example.test', CLIENT);
      assert.equal(origin.seen[0]?.['x-forwarded-for'], '127.0.0.1');
      node.reconfigure({ ...node.options, trustedProxies: ['127.0.0.1'] });
      await getWithHost(url, '/r2', 'www.example.test', CLIENT);
      assert.equal(origin.seen[1]?.['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
      assert.throws(() => node.reconfigure({ ...node.options, trustedProxies: ['edge.internal'] }), /trustedProxies/);
      assert.deepEqual(node.options.trustedProxies, ['127.0.0.1']);
      await getWithHost(url, '/r3', 'www.example.test', CLIENT);
      assert.equal(origin.seen[2]?.['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    });
  });

  test('edge → shield → origin: the shield trusts the edge, the origin sees the client\'s Host and the whole chain, never the attacker\'s fields', async () => {
    const origin = await naiveOrigin();
    const shield = createProxyNode({ origin: origin.url, cacheName: 'shield', trustedProxies: ['127.0.0.1'] });
    const shieldUrl = await shield.listen(0);
    const edge = createProxyNode({ origin: shieldUrl, cacheName: 'edge' });
    const edgeUrl = await edge.listen(0);
    try {
      await getWithHost(edgeUrl, '/tiered', 'www.example.test', ATTACK);
      const got = origin.seen[0] as http.IncomingHttpHeaders;
      assert.equal(got.host, 'www.example.test');
      assert.equal(got['x-forwarded-for'], '127.0.0.1, 127.0.0.1');
      assert.equal(got['forwarded'], 'for=127.0.0.1, for=127.0.0.1;host=www.example.test;proto=http');
      assert.equal(got['x-forwarded-port'], new URL(shieldUrl).port, 'the port is the one the shield was reached on');
      for (const name of DROPPED) assert.equal(got[name], undefined, `${name} must not reach the origin`);
      const victim = await getWithHost(edgeUrl, '/tiered', 'www.example.test');
      assert.equal(victim.cacheStatus.hit, true);
      assert.doesNotMatch(victim.text, /evil/);
    } finally {
      await edge.close();
      await shield.close();
      await origin.close();
    }
  });
});

describe('the origin gets the client\'s Host', () => {
  test('by default the Host the client sent, over a raw request line as well as through undici', async () => {
    await withEdge({}, async ({ url, origin }) => {
      await getWithHost(url, '/vhost', 'www.example.test');
      assert.equal(origin.seen[0]?.host, 'www.example.test');
      // A plain node:http client, Host set by hand.
      await new Promise<void>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        http.get({ host: hostname, port, path: '/plain', headers: { host: 'Plain.Example.Test' } }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
      assert.equal(origin.seen[1]?.host, 'plain.example.test', 'the Host as the cache keys it (lower case)');
    });
  });

  test('two name-based virtual hosts on one origin each get their own page, and their own cached copy', async () => {
    await withEdge({}, async ({ url, origin }) => {
      const a = await getWithHost(url, '/', 'site-a.test');
      const b = await getWithHost(url, '/', 'site-b.test');
      assert.match(a.text, /site A/);
      assert.match(b.text, /site B/);
      const again = await Promise.all([getWithHost(url, '/', 'site-a.test'), getWithHost(url, '/', 'site-b.test')]);
      assert.match(again[0].text, /site A/);
      assert.match(again[1].text, /site B/);
      assert.ok(again.every((r) => r.cacheStatus.hit === true));
      assert.equal(origin.seen.length, 2);
    });
  });

  test('origins[].hostHeader replaces the Host sent to that origin; X-Forwarded-Host and Forwarded keep the client\'s', async () => {
    await withEdge({ origins: [{ url: 'replaced', weight: 1, hostHeader: 'origin.internal' }] }, async ({ url, origin }) => {
      await getWithHost(url, '/override', 'www.example.test');
      const got = origin.seen[0] as http.IncomingHttpHeaders;
      assert.equal(got.host, 'origin.internal');
      assert.equal(got['x-forwarded-host'], 'www.example.test');
      assert.equal(got['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
    });
  });

  test('health checks send the origin\'s hostHeader when set, else the origin\'s own authority', async () => {
    const pool = { healthCheck: { path: '/healthz', intervalMs: 50, timeoutMs: 40, healthyAfter: 1, unhealthyAfter: 3 } };
    for (const hostHeader of ['origin.internal', undefined]) {
      const origin = await naiveOrigin();
      const node = createProxyNode({
        origin: origin.url,
        origins: [{ url: origin.url, weight: 1, ...(hostHeader ? { hostHeader } : {}) }],
        pool: pool as ProxyOptions['pool'],
      });
      try {
        for (let i = 0; i < 200 && origin.checks.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
        assert.ok(origin.checks.length > 0, 'a health check arrived');
        assert.equal(origin.checks[0]?.host, hostHeader ?? new URL(origin.url).host);
      } finally {
        await node.close();
        await origin.close();
      }
    }
  });

  test('an HTTP/1.0 request without Host: the origin gets its own authority, and no host= in Forwarded', async () => {
    await withEdge({}, async ({ url, origin }) => {
      const reply = await rawExchange(url, 'GET /ten HTTP/1.0\r\n\r\n', 5_000);
      assert.match(reply, /^HTTP\/1\.1 200/);
      assert.equal(origin.seen[0]?.host, new URL(origin.url).host);
      assert.equal(origin.seen[0]?.['forwarded'], 'for=127.0.0.1;proto=http');
      assert.equal(origin.seen[0]?.['x-forwarded-host'], undefined);
    });
  });
});
