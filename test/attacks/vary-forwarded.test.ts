// Attack: a response that varies on a field the edge itself writes or drops. The edge replaces the
// client's X-Forwarded-For with the client's address, and drops X-Real-IP: a variant keyed by the
// client's own value of such a field would be keyed by something the origin never saw, and one
// client's per-address page would be served to another client who sent the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parseCacheStatus } from '../../proxy/policy/index.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin } from '../helpers/harness.js';

interface Answer {
  status: number;
  body: string;
  cacheStatus: Record<string, string | number | boolean>;
}

/** A GET from a chosen loopback address (127.0.0.0/8 is all local), so the edge sees different clients. */
function getFrom(base: string, localAddress: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { localAddress, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const members = parseCacheStatus(String(res.headers['cache-status'] ?? ''));
        const mine = members[members.length - 1];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cacheStatus: mine ? { cache: mine.cache, ...mine.params } : {} });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** An origin that answers per field, as a naive geo or per-address page would: `Vary: <field>`. */
async function reflectingOrigin(field: string) {
  return customOrigin((req, res) => {
    res.setHeader('cache-control', 'max-age=600');
    res.setHeader('vary', field);
    res.end(`page for ${String(req.headers[field] ?? 'nobody')}`);
  });
}

test('Vary: X-Forwarded-For: one client\'s per-address page never reaches another client who sent the same value', async () => {
  const origin = await reflectingOrigin('x-forwarded-for');
  const node = createProxyNode({ origin: origin.url });
  const url = await node.listen(0);
  try {
    const alice = await getFrom(url, '127.0.0.2', '/geo', { 'x-forwarded-for': 'anything' });
    assert.equal(alice.body, 'page for 127.0.0.2', 'the origin saw the edge\'s value, the client\'s address');
    assert.equal(alice.cacheStatus['detail'], 'vary-client-address', 'not stored: a variant per client address is no cache');
    const bob = await getFrom(url, '127.0.0.3', '/geo', { 'x-forwarded-for': 'anything' });
    assert.equal(bob.body, 'page for 127.0.0.3', 'bob gets his own page, not alice\'s');
    assert.notEqual(bob.cacheStatus['hit'], true);
    assert.equal(origin.stats.requests, 2);
  } finally {
    await node.close();
    await origin.close();
  }
});

test('Vary: X-Real-IP (a field the edge drops): the client\'s value picks no variant, so it neither splits nor poisons the cache', async () => {
  const origin = await reflectingOrigin('x-real-ip');
  const node = createProxyNode({ origin: origin.url });
  const url = await node.listen(0);
  try {
    const attacker = await getFrom(url, '127.0.0.2', '/page', { 'x-real-ip': '6.6.6.6' });
    assert.equal(attacker.body, 'page for nobody', 'the origin never saw the client\'s X-Real-IP');
    assert.equal(attacker.cacheStatus['stored'], true);
    const victim = await getFrom(url, '127.0.0.3', '/page', {});
    assert.equal(victim.body, 'page for nobody');
    assert.equal(victim.cacheStatus['hit'], true, 'one variant: what the origin saw is the same for both');
    assert.equal(origin.stats.requests, 1);
  } finally {
    await node.close();
    await origin.close();
  }
});

test('Vary: X-Forwarded-Proto (the edge always sends http): a client\'s "https" does not make a variant of its own', async () => {
  const origin = await reflectingOrigin('x-forwarded-proto');
  const node = createProxyNode({ origin: origin.url });
  const url = await node.listen(0);
  try {
    const first = await getFrom(url, '127.0.0.2', '/proto', { 'x-forwarded-proto': 'https' });
    assert.equal(first.body, 'page for http');
    const second = await getFrom(url, '127.0.0.3', '/proto', {});
    assert.equal(second.body, 'page for http');
    assert.equal(second.cacheStatus['hit'], true);
    assert.equal(origin.stats.requests, 1);
  } finally {
    await node.close();
    await origin.close();
  }
});
