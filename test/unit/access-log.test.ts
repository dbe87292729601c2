// The access line: one flat object per request, with this cache's Cache-Status result parsed out
// of the last member; and which results count as trips to the origin for the latency histogram.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessLine, cacheResult, originOutcome } from '../../proxy/server/access-log.js';
import type { AccessRecord } from '../../proxy/server/access-log.js';

const base: AccessRecord = {
  time: 1_700_000_000_000,
  method: 'GET',
  path: '/news?x=1',
  host: 'example.test',
  status: 200,
  bytes: 512,
  durationMs: 1.25,
  cacheStatus: '',
  remote: '127.0.0.1',
};
const common = { method: 'GET', path: '/news?x=1', host: 'example.test', bytes: 512, durationMs: 1.25, remote: '127.0.0.1' };

const rows: Array<{ name: string; record: Partial<AccessRecord>; expected: Record<string, string | number | boolean>; origin: string | undefined }> = [
  {
    name: 'a fresh hit',
    record: { cacheStatus: 'mini-cdn; hit; ttl=42' },
    expected: { ...common, status: 200, cache: 'hit', ttl: 42 },
    origin: undefined,
  },
  {
    name: 'a stale hit while a background refresh runs',
    record: { cacheStatus: 'mini-cdn; hit; ttl=-3; detail=stale-while-revalidate' },
    expected: { ...common, status: 200, cache: 'hit', ttl: -3, detail: 'stale-while-revalidate' },
    origin: undefined,
  },
  {
    name: 'a miss, stored',
    record: { cacheStatus: 'mini-cdn; fwd=uri-miss; fwd-status=200; stored' },
    expected: { ...common, status: 200, cache: 'fwd=uri-miss', fwdStatus: 200, stored: true },
    origin: '2xx',
  },
  {
    name: 'a miss behind a shield: only the last member (ours) counts',
    record: { cacheStatus: 'mini-cdn-shield; hit; ttl=5, mini-cdn-edge; fwd=vary-miss; fwd-status=200; stored' },
    expected: { ...common, status: 200, cache: 'fwd=vary-miss', fwdStatus: 200, stored: true },
    origin: '2xx',
  },
  {
    name: 'a revalidation answered 304',
    record: { cacheStatus: 'mini-cdn; fwd=stale; fwd-status=304; stored; ttl=60' },
    expected: { ...common, status: 200, cache: 'fwd=stale', fwdStatus: 304, stored: true, ttl: 60 },
    origin: '3xx',
  },
  {
    name: 'a collapsed wait (no origin request of its own)',
    record: { cacheStatus: 'mini-cdn; fwd=uri-miss; fwd-status=200; collapsed' },
    expected: { ...common, status: 200, cache: 'fwd=uri-miss', fwdStatus: 200, collapsed: true },
    origin: undefined,
  },
  {
    name: 'pass-through of another method',
    record: { method: 'POST', status: 201, cacheStatus: 'mini-cdn; fwd=method; fwd-status=201' },
    expected: { ...common, method: 'POST', status: 201, cache: 'fwd=method', fwdStatus: 201 },
    origin: '2xx',
  },
  {
    name: 'a not-stored pass-through with a reason',
    record: { cacheStatus: 'mini-cdn; fwd=request; fwd-status=200; detail=request-no-store' },
    expected: { ...common, status: 200, cache: 'fwd=request', fwdStatus: 200, detail: 'request-no-store' },
    origin: '2xx',
  },
  {
    name: 'an origin that could not be reached',
    record: { status: 502, cacheStatus: 'mini-cdn; fwd=uri-miss; detail=MCDN_UPSTREAM_CONNECT' },
    expected: { ...common, status: 502, cache: 'fwd=uri-miss', error: 'MCDN_UPSTREAM_CONNECT' },
    origin: 'error',
  },
  {
    name: 'a stale copy served because the origin failed',
    record: { cacheStatus: 'mini-cdn; fwd=stale; ttl=-5; detail=stale-if-error' },
    expected: { ...common, status: 200, cache: 'fwd=stale', ttl: -5, detail: 'stale-if-error' },
    origin: 'error',
  },
  {
    name: 'a malformed request, never forwarded',
    record: { status: 400, cacheStatus: 'mini-cdn; fwd=bypass; detail=MCDN_REQUEST_INVALID' },
    expected: { ...common, status: 400, cache: 'fwd=bypass', error: 'MCDN_REQUEST_INVALID' },
    origin: undefined,
  },
  {
    name: 'a client that left early, before any response',
    record: { status: 0, bytes: 0, aborted: true, cacheStatus: '' },
    expected: { ...common, status: 0, bytes: 0, cache: 'none', aborted: true },
    origin: undefined,
  },
  {
    name: 'an unparseable Cache-Status',
    record: { cacheStatus: '"unterminated' },
    expected: { ...common, status: 200, cache: 'none' },
    origin: undefined,
  },
];

for (const row of rows) {
  test(`access line: ${row.name}`, () => {
    const record = { ...base, ...row.record };
    const line = accessLine(record);
    assert.deepEqual(line, row.expected);
    assert.equal(Object.values(line).every((v) => typeof v !== 'object'), true, 'one flat object');
    assert.equal(originOutcome(cacheResult(record.cacheStatus)), row.origin);
  });
}

test('the access line is JSON as it is, with no time of its own (the logger stamps it)', () => {
  const line = accessLine({ ...base, cacheStatus: 'mini-cdn; hit' });
  assert.deepEqual(JSON.parse(JSON.stringify(line)), line);
  assert.equal('time' in line, false);
});
