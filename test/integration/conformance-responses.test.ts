// Conformance of response handling: freshness and age (RFC 9111 §4.2, §5.1), response
// directives (§5.2.2, RFC 5861), status codes (§3, §4.2.2), CDN-Cache-Control (RFC 9213) and
// Vary (§4.1). Real demo origin, real proxy, real sockets. Responses are made stale with an Age
// or a Date from the origin, never by waiting. Assertions are on Cache-Status and origin counts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../helpers/harness.js';
import type { Fetched, Stack } from '../helpers/harness.js';

let stack: Stack;
let n = 0;
/** A fresh path per test, so tests share one stack without sharing entries. */
const fresh = (name: string): string => `/res${++n}-${name.replace(/\W+/g, '-')}`;
const httpDate = (ms: number): string => new Date(ms).toUTCString();
const HOUR = 3_600_000;
const TEN_DAYS_AGO = (): string => httpDate(Date.now() - 10 * 86_400_000);

before(async () => {
  stack = await startStack({ maxVariantsPerUrl: 8 });
});
after(() => stack.close());

/** Sets the resource, then fetches it twice: the miss and the second use. */
async function twice(path: string, spec: { status?: number; headers: Record<string, string | string[]>; lastModified?: boolean }): Promise<[Fetched, Fetched]> {
  stack.origin.setResource(path, { body: 'v1', ...spec });
  const first = await stack.get(path);
  const second = await stack.get(path);
  return [first, second];
}

function assertTtl(res: Fetched, min: number, max: number): void {
  const ttl = Number(res.cacheStatus.ttl);
  assert.ok(ttl >= min && ttl <= max, `ttl ${res.cacheStatus.ttl} not in [${min}, ${max}]`);
}

describe('freshness lifetime and age (RFC 9111 §4.2, §5.1)', () => {
  const precedence: Array<{ name: string; cacheControl?: string; ttl: [number, number] }> = [
    { name: 's-maxage=300 beats max-age=100 and Expires (+200 s)', cacheControl: 's-maxage=300, max-age=100', ttl: [290, 300] },
    { name: 'max-age=100 beats Expires (+200 s)', cacheControl: 'max-age=100', ttl: [90, 100] },
    { name: 'Expires (+200 s) alone gives Expires - Date', ttl: [188, 200] },
  ];
  for (const row of precedence) {
    test(`RFC 9111 §4.2.1: ${row.name}`, async () => {
      const path = fresh(row.name);
      const headers: Record<string, string> = { expires: httpDate(Date.now() + 200_000) };
      if (row.cacheControl) headers['cache-control'] = row.cacheControl;
      const [, hit] = await twice(path, { headers });
      assert.equal(hit.cacheStatus.hit, true);
      assertTtl(hit, ...row.ttl);
      assert.equal(stack.origin.count(path), 1);
    });
  }

  test('RFC 9111 §4.2.1, §4.2.3: an origin clock 1 h fast with Expires = Date + 60 s is fresh for ~60 s', async () => {
    const path = fresh('fast-clock-expires');
    const date = Date.now() + HOUR;
    const [, hit] = await twice(path, { headers: { date: httpDate(date), expires: httpDate(date + 60_000) } });
    // Expires - Date = 60 s (Expires - now would be 3660 s); apparent_age = max(0, now - Date) = 0.
    assert.equal(hit.cacheStatus.hit, true);
    assertTtl(hit, 50, 60);
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9111 §4.2.3: an origin clock 1 h fast with max-age=60 has apparent_age 0: still fresh', async () => {
    const path = fresh('fast-clock-max-age');
    const [, hit] = await twice(path, { headers: { date: httpDate(Date.now() + HOUR), 'cache-control': 'max-age=60' } });
    assert.equal(hit.cacheStatus.hit, true);
    assertTtl(hit, 50, 60);
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9111 §4.2.1, §4.2.3: an origin clock 1 h slow with Expires = Date + 60 s: lifetime 60 s, conservative age', async () => {
    const path = fresh('slow-clock-expires');
    const date = Date.now() - HOUR;
    const [, second] = await twice(path, { headers: { date: httpDate(date), expires: httpDate(date + 60_000) } });
    // The lifetime is Expires - Date = 60 s (§4.2.1, not Expires - now, which is in the past).
    // The age is a choice §4.2.3 leaves open: corrected_age_value alone (MAY; the response would
    // be fresh) or the conservative max(apparent_age, corrected_age_value). mini-cdn takes the
    // conservative one, so apparent_age = 3600 s makes the response stale: it is revalidated,
    // and its ttl, 60 - 3600, shows the 60 s lifetime (Expires - now would give 0 - 3600).
    assert.equal(second.cacheStatus.fwd, 'stale');
    assert.equal(second.cacheStatus['fwd-status'], 304);
    assertTtl(second, -3545, -3535);
    assert.equal(stack.origin.count(path), 2);
  });

  test('RFC 9111 §4.2.3: an Age from the origin reduces the ttl', async () => {
    const path = fresh('age');
    const [, hit] = await twice(path, { headers: { 'cache-control': 'max-age=100', age: '40' } });
    assert.equal(hit.cacheStatus.hit, true);
    assertTtl(hit, 55, 60);
    assert.ok(Number(hit.headers['age']) >= 40);
  });

  // RFC 9111 §5.1: a list-based Age uses its first member (several lines make one list); an
  // invalid value (a decimal, a sign) is ignored: the response is as fresh as if it had no Age.
  const ageRows: Array<{ name: string; age: string | string[]; ttl: [number, number] | 'stale' }> = [
    { name: 'Age: 1.5 (invalid: ignored)', age: '1.5', ttl: [55, 60] },
    { name: 'Age: -3 (invalid: ignored)', age: '-3', ttl: [55, 60] },
    { name: 'Age: 5, 6 (a list: its first member)', age: '5, 6', ttl: [49, 55] },
    { name: 'Age: 100, 0 (a list whose first member is past max-age)', age: '100, 0', ttl: 'stale' },
    { name: 'two Age lines, 100 then 0 (the first is used)', age: ['100', '0'], ttl: 'stale' },
  ];
  for (const row of ageRows) {
    test(`RFC 9111 §5.1: ${row.name} on a max-age=60 response`, async () => {
      const path = fresh(row.name);
      const [first, second] = await twice(path, { headers: { 'cache-control': 'max-age=60', age: row.age } });
      assert.equal(first.cacheStatus.stored, true);
      assert.equal(second.text, 'v1');
      if (row.ttl === 'stale') {
        // Stale, not unstorable: the second request revalidates the stored entry (a 304).
        assert.equal(second.cacheStatus.fwd, 'stale');
        assert.equal(second.cacheStatus['fwd-status'], 304);
      } else {
        assert.equal(second.cacheStatus.hit, true);
        assertTtl(second, ...row.ttl);
        assert.equal(stack.origin.count(path), 1);
      }
    });
  }
});

describe('response directives (RFC 9111 §5.2.2, RFC 5861)', () => {
  test('RFC 9111 §5.2.2.4: a no-cache response is stored and revalidated on every use', async () => {
    const path = fresh('no-cache');
    stack.origin.setResource(path, { body: 'v1', headers: { 'cache-control': 'no-cache, max-age=600' } });
    const miss = await stack.get(path);
    assert.equal(miss.cacheStatus.stored, true);
    for (let i = 0; i < 2; i++) {
      const res = await stack.get(path);
      assert.equal(res.text, 'v1');
      assert.equal(res.cacheStatus.fwd, 'stale');
      assert.equal(res.cacheStatus.detail, 'no-cache');
      assert.equal(res.cacheStatus['fwd-status'], 304);
    }
    const log = stack.origin.log.filter((r) => r.path === path);
    assert.equal(log.length, 3);
    for (const reval of log.slice(1)) {
      assert.equal(reval.headers['if-none-match'], miss.headers['etag']);
      assert.equal(reval.status, 304);
    }
  });

  test('RFC 9111 §5.2.2.4: no-cache="x-secret" allows a hit without the x-secret field', async () => {
    const path = fresh('no-cache-field');
    const [first, hit] = await twice(path, { headers: { 'cache-control': 'no-cache="x-secret", max-age=60', 'x-secret': 's3', 'x-public': 'p' } });
    assert.equal(first.headers['x-secret'], 's3');
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(hit.headers['x-secret'], undefined);
    assert.equal(hit.headers['x-public'], 'p');
    assert.equal(stack.origin.count(path), 1);
  });

  test('RFC 9111 §5.2.2.2: a stale must-revalidate entry is revalidated', async () => {
    const path = fresh('must-revalidate');
    const [, second] = await twice(path, { headers: { 'cache-control': 'max-age=60, must-revalidate', age: '120' } });
    assert.equal(second.cacheStatus.fwd, 'stale');
    assert.equal(second.cacheStatus['fwd-status'], 304);
    assert.equal(stack.origin.count(path), 2);
  });

  test('RFC 9111 §5.2.2.2: a stale must-revalidate entry is never served when the origin is down', async () => {
    const own = await startStack();
    try {
      // stale-if-error would allow it; must-revalidate forbids it (RFC 9111 §4.2.4).
      own.origin.setResource('/mr', { body: 'old', headers: { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600', age: '120' } });
      assert.equal((await own.get('/mr')).cacheStatus.stored, true);
      await own.origin.close();
      const res = await own.get('/mr');
      assert.ok(res.status === 502 || res.status === 504, `status ${res.status}`);
      assert.notEqual(res.text, 'old');
      assert.notEqual(res.cacheStatus.detail, 'stale-if-error');
      assert.equal(own.origin.count('/mr'), 1);
    } finally {
      await own.close();
    }
  });

  test('RFC 5861 §4: stale-if-error serves the stale entry while the origin answers 503', async () => {
    const path = fresh('stale-if-error');
    stack.origin.setResource(path, { body: 'old', headers: { 'cache-control': 'max-age=60, stale-if-error=600', age: '120' } });
    assert.equal((await stack.get(path)).cacheStatus.stored, true);
    stack.origin.setResource(path, { status: 503, body: 'down', headers: { 'cache-control': 'no-store' } });
    // Every request during the outage may use it (RFC 9111 §4.3.3: the cache acts as if the
    // server failed to respond; the stored response stays), not only the first.
    for (let i = 0; i < 2; i++) {
      const res = await stack.get(path);
      assert.equal(res.status, 200, `request ${i + 1} during the outage`);
      assert.equal(res.text, 'old');
      assert.equal(res.cacheStatus.fwd, 'stale');
      assert.equal(res.cacheStatus['fwd-status'], 503);
      assert.equal(res.cacheStatus.detail, 'stale-if-error');
    }
    assert.equal(stack.origin.count(path), 3);
  });

  test('RFC 9111 §4.2.4: stale-if-error with must-revalidate lets the 503 through', async () => {
    const path = fresh('stale-if-error-must-revalidate');
    stack.origin.setResource(path, { body: 'old', headers: { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=600', age: '120' } });
    await stack.get(path);
    stack.origin.setResource(path, { status: 503, body: 'down', headers: { 'cache-control': 'no-store' } });
    const res = await stack.get(path);
    assert.equal(res.status, 503);
    assert.equal(res.text, 'down');
    assert.equal(res.cacheStatus['fwd-status'], 503);
    assert.notEqual(res.cacheStatus.detail, 'stale-if-error');
  });

  test('RFC 5861 §3: stale-while-revalidate serves stale at once and revalidates once in the background', async () => {
    const path = fresh('swr');
    stack.origin.setResource(path, { body: 'v1', headers: { 'cache-control': 'max-age=60, stale-while-revalidate=600', age: '120' } });
    await stack.get(path);
    const notModifiedBefore = stack.proxy.engine.stats().notModified;
    const stale = await stack.get(path);
    assert.equal(stale.text, 'v1');
    assert.equal(stale.cacheStatus.hit, true);
    assert.equal(stale.cacheStatus.detail, 'stale-while-revalidate');
    assert.ok(Number(stale.cacheStatus.ttl) < 0);
    await waitFor(() => stack.origin.count(path) >= 2 && stack.proxy.engine.stats().notModified > notModifiedBefore);
    assert.equal(stack.origin.count(path), 2, 'one background request');
    assert.ok(stack.origin.log.filter((r) => r.path === path)[1]?.headers['if-none-match']);
    const after = await stack.get(path);
    assert.equal(after.cacheStatus.hit, true, 'the background 304 freshened the entry');
    assert.equal(after.cacheStatus.detail, undefined);
    assert.equal(stack.origin.count(path), 2);
  });

  test('RFC 5861 §3: past the stale-while-revalidate window the entry is revalidated first', async () => {
    const path = fresh('swr-past');
    const [, second] = await twice(path, { headers: { 'cache-control': 'max-age=60, stale-while-revalidate=30', age: '120' } });
    assert.equal(second.cacheStatus.fwd, 'stale');
    assert.equal(second.cacheStatus['fwd-status'], 304);
    assert.notEqual(second.cacheStatus.hit, true);
    assert.equal(stack.origin.count(path), 2);
  });
});

describe('status codes (RFC 9111 §3, §4.2.2, §5.2.2.3)', () => {
  const rows: Array<{ section: string; name: string; status: number; cacheControl?: string; heuristic?: boolean; reused: boolean; detail?: string }> = [
    ...[299, 499, 599].map((status) => ({ section: '§3', name: `${status} with max-age=60 is stored and reused`, status, cacheControl: 'max-age=60', reused: true })),
    ...[200, 404, 410, 501].map((status) => ({ section: '§4.2.2', name: `${status} with only Last-Modified is reused (heuristic)`, status, heuristic: true, reused: true })),
    ...[302, 500].map((status) => ({ section: '§4.2.2', name: `${status} with only Last-Modified is not stored`, status, heuristic: true, reused: false, detail: 'no-freshness' })),
    { section: '§5.2.2.9', name: '302 with public and Last-Modified is reused (heuristic)', status: 302, cacheControl: 'public', heuristic: true, reused: true },
    { section: '§5.2.2.3', name: 'must-understand with no-store on a 200 is stored', status: 200, cacheControl: 'must-understand, no-store, max-age=60', reused: true },
    { section: '§5.2.2.3', name: 'must-understand on a status not understood (299) is not stored', status: 299, cacheControl: 'must-understand, no-store, max-age=60', reused: false, detail: 'must-understand' },
  ];
  for (const row of rows) {
    test(`RFC 9111 ${row.section}: ${row.name}`, async () => {
      const path = fresh(row.name);
      const headers: Record<string, string> = {};
      if (row.cacheControl) headers['cache-control'] = row.cacheControl;
      if (row.heuristic) headers['last-modified'] = TEN_DAYS_AGO();
      if (row.status === 302) headers['location'] = '/elsewhere';
      const [first, second] = await twice(path, { status: row.status, headers, lastModified: false });
      assert.equal(first.status, row.status);
      assert.equal(second.status, row.status);
      assert.equal(second.text, 'v1');
      if (row.reused) {
        assert.equal(first.cacheStatus.stored, true);
        assert.equal(second.cacheStatus.hit, true);
        assert.equal(stack.origin.count(path), 1);
      } else {
        assert.notEqual(second.cacheStatus.hit, true);
        assert.equal(second.cacheStatus.detail, row.detail);
        assert.equal(stack.origin.count(path), 2);
      }
    });
  }
});

describe('CDN-Cache-Control (RFC 9213)', () => {
  const rows: Array<{ name: string; cdn: string; cc: string; stored: boolean; ttl?: [number, number]; detail?: string }> = [
    { name: 'CDN-Cache-Control: max-age=120 overrides Cache-Control: no-store', cdn: 'max-age=120', cc: 'no-store', stored: true, ttl: [110, 120] },
    { name: 'CDN-Cache-Control: no-store overrides Cache-Control: max-age=60', cdn: 'no-store', cc: 'max-age=60', stored: false, detail: 'no-store' },
    { name: 'an invalid CDN-Cache-Control (not a Dictionary) is ignored: Cache-Control rules', cdn: 'no-store, max-age=', cc: 'max-age=60', stored: true, ttl: [50, 60] },
  ];
  for (const row of rows) {
    test(`RFC 9213 §2.2: ${row.name}`, async () => {
      const path = fresh(row.name);
      const [, second] = await twice(path, { headers: { 'cdn-cache-control': row.cdn, 'cache-control': row.cc } });
      if (row.stored) {
        assert.equal(second.cacheStatus.hit, true);
        if (row.ttl) assertTtl(second, ...row.ttl);
        assert.equal(stack.origin.count(path), 1);
      } else {
        assert.notEqual(second.cacheStatus.hit, true);
        assert.equal(second.cacheStatus.detail, row.detail);
        assert.equal(stack.origin.count(path), 2);
      }
    });
  }

  test('RFC 9213 §2.1: CDN-Cache-Control is not forwarded to the client by default, on the miss nor on the hit', async () => {
    const path = fresh('cdn-not-forwarded');
    const [miss, hit] = await twice(path, { headers: { 'cdn-cache-control': 'max-age=120', 'cache-control': 'max-age=5' } });
    assert.equal(hit.cacheStatus.hit, true);
    assert.equal(miss.headers['cdn-cache-control'], undefined);
    assert.equal(hit.headers['cdn-cache-control'], undefined);
    assert.equal(hit.headers['cache-control'], 'max-age=5', 'Cache-Control goes on to the client as sent');
  });

  test('RFC 9213 §2.1: with forwardCdnCacheControl the field is forwarded, on the miss and on the hit', async () => {
    const own = await startStack({ forwardCdnCacheControl: true });
    try {
      own.origin.setResource('/cdn', { body: 'x', headers: { 'cdn-cache-control': 'max-age=120', 'cache-control': 'max-age=5' } });
      const miss = await own.get('/cdn');
      const hit = await own.get('/cdn');
      assert.equal(hit.cacheStatus.hit, true);
      assert.equal(miss.headers['cdn-cache-control'], 'max-age=120');
      assert.equal(hit.headers['cdn-cache-control'], 'max-age=120');
    } finally {
      await own.close();
    }
  });
});

describe('Vary (RFC 9111 §4.1)', () => {
  const setVaried = (path: string, vary: string): void =>
    stack.origin.setResource(path, {
      headers: { 'cache-control': 'max-age=60', vary },
      varyBody: (req) => `${String(req.headers['accept-language'] ?? '')}|${String(req.headers['accept-encoding'] ?? '')}`,
    });

  test('RFC 9111 §4.1: a response with Vary: * is never reused', async () => {
    const path = fresh('vary-star');
    setVaried(path, '*');
    await stack.get(path);
    const second = await stack.get(path);
    assert.notEqual(second.cacheStatus.hit, true);
    assert.equal(second.cacheStatus.detail, 'vary-star');
    assert.equal(stack.origin.count(path), 2);
  });

  // RFC 9111 §4.1 allows "reordering field values when order is not significant". Whether the
  // order of equally weighted Accept-Language members is significant is left to the cache;
  // mini-cdn treats Accept, Accept-Charset, Accept-Encoding and Accept-Language as order-free.
  const same: Array<{ field: string; a: string; b: string }> = [
    { field: 'accept-encoding', a: 'gzip, br', b: 'br,gzip' },
    { field: 'accept-language', a: 'en-US,fr', b: 'fr, en-US' },
  ];
  for (const row of same) {
    test(`RFC 9111 §4.1: Vary: ${row.field}, "${row.a}" and "${row.b}" select the same variant`, async () => {
      const path = fresh(`vary-${row.field}`);
      setVaried(path, row.field);
      await stack.get(path, { [row.field]: row.a });
      const second = await stack.get(path, { [row.field]: row.b });
      assert.equal(second.cacheStatus.hit, true);
      assert.equal(stack.origin.count(path), 1);
    });
  }

  test('RFC 9111 §4.1: a different selecting value is a vary-miss, then its own variant', async () => {
    const path = fresh('vary-different');
    setVaried(path, 'Accept-Language');
    const en = await stack.get(path, { 'accept-language': 'en' });
    const de = await stack.get(path, { 'accept-language': 'de' });
    assert.equal(de.cacheStatus.fwd, 'vary-miss');
    assert.equal(de.cacheStatus.stored, true);
    const enAgain = await stack.get(path, { 'accept-language': 'en' });
    const deAgain = await stack.get(path, { 'accept-language': 'de' });
    assert.equal(enAgain.cacheStatus.hit, true);
    assert.equal(deAgain.cacheStatus.hit, true);
    assert.equal(enAgain.text, en.text);
    assert.equal(deAgain.text, de.text);
    assert.notEqual(en.text, de.text);
    assert.equal(stack.origin.count(path), 2);
  });

  test('RFC 9111 §4.1: 40 Accept-Language values for one URL keep at most maxVariantsPerUrl (8) variants', async () => {
    const path = fresh('vary-many');
    setVaried(path, 'Accept-Language');
    for (let i = 0; i < 40; i++) await stack.get(path, { 'accept-language': `x-l${i}` });
    const prefix = `${new URL(stack.proxyUrl).host}${path}\0`;
    const stored = [...stack.proxy.store.keys()].filter((key) => key.startsWith(prefix));
    assert.ok(stored.length >= 1 && stored.length <= 8, `${stored.length} variants stored`);
    assert.equal((await stack.get(path, { 'accept-language': 'x-l39' })).cacheStatus.hit, true, 'the newest variant is kept');
    assert.equal((await stack.get(path, { 'accept-language': 'x-l0' })).cacheStatus.fwd, 'vary-miss', 'the oldest variant is gone');
  });
});
