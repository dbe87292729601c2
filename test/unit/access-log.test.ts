// The outcome of a request and its access lines: this cache's decision (CacheStatusFields) gives
// the Cache-Status member sent (the same string as before the outcome was typed), the JSON line,
// the metric labels, and the combined text line; the line says what the header says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCacheStatus, parseCacheStatus } from '../../proxy/policy/index.js';
import type { CacheStatusFields } from '../../proxy/policy/index.js';
import { accessLine, combinedAccessLine, escapeLogField, jsonAccessLine, jsonBindings, timeLocal } from '../../proxy/server/access-log.js';
import { cacheLabel, codeLabel, originOutcome } from '../../proxy/server/outcome.js';
import type { Outcome } from '../../proxy/server/outcome.js';

const base: Outcome = {
  time: Date.UTC(2026, 11, 2, 0, 30, 5),
  method: 'GET',
  path: '/news?x=1',
  host: 'example.test',
  httpVersion: '1.1',
  remote: '127.0.0.1',
  referer: undefined,
  userAgent: undefined,
  status: 200,
  bytes: 512,
  bodyBytes: 300,
  durationMs: 1.25,
  cache: undefined,
  originStatus: undefined,
  aborted: false,
};
const common = { method: 'GET', path: '/news?x=1', host: 'example.test', bytes: 512, durationMs: 1.25, remote: '127.0.0.1' };

interface Row {
  name: string;
  outcome: Partial<Outcome>;
  /** This cache's Cache-Status member, as the engine sent it before the outcome was typed. */
  header: string | undefined;
  line: Record<string, string | number | boolean>;
  /** The origin latency histogram's outcome label. */
  origin: string | undefined;
  /** The cache result the combined line ends with. */
  combined: string;
}

const f = (fields: CacheStatusFields): Partial<Outcome> => ({ cache: fields, originStatus: fields.fwdStatus });

const rows: Row[] = [
  { name: 'a fresh hit', outcome: f({ hit: true, ttlMs: 42_900 }), header: 'mini-cdn; hit; ttl=42', line: { ...common, status: 200, cache: 'hit', ttl: 42 }, origin: undefined, combined: 'hit' },
  {
    name: 'a stale hit while a background refresh runs',
    outcome: f({ hit: true, ttlMs: -2_500, detail: 'stale-while-revalidate' }),
    header: 'mini-cdn; hit; ttl=-3; detail=stale-while-revalidate',
    line: { ...common, status: 200, cache: 'hit', ttl: -3, detail: 'stale-while-revalidate' },
    origin: undefined,
    combined: 'hit',
  },
  {
    name: 'a miss, stored',
    outcome: f({ fwd: 'uri-miss', fwdStatus: 200, stored: true }),
    header: 'mini-cdn; fwd=uri-miss; fwd-status=200; stored',
    line: { ...common, status: 200, cache: 'fwd=uri-miss', fwdStatus: 200, stored: true },
    origin: '2xx',
    combined: 'uri-miss',
  },
  {
    name: 'a vary miss, stored',
    outcome: f({ fwd: 'vary-miss', fwdStatus: 200, stored: true }),
    header: 'mini-cdn; fwd=vary-miss; fwd-status=200; stored',
    line: { ...common, status: 200, cache: 'fwd=vary-miss', fwdStatus: 200, stored: true },
    origin: '2xx',
    combined: 'vary-miss',
  },
  {
    name: 'a revalidation answered 304',
    outcome: f({ fwd: 'stale', fwdStatus: 304, stored: true, ttlMs: 60_000 }),
    header: 'mini-cdn; fwd=stale; fwd-status=304; stored; ttl=60',
    line: { ...common, status: 200, cache: 'fwd=stale', fwdStatus: 304, stored: true, ttl: 60 },
    origin: '3xx',
    combined: 'stale',
  },
  {
    name: 'a collapsed wait (no origin request of its own)',
    outcome: f({ fwd: 'uri-miss', fwdStatus: 200, collapsed: true }),
    header: 'mini-cdn; fwd=uri-miss; fwd-status=200; collapsed',
    line: { ...common, status: 200, cache: 'fwd=uri-miss', fwdStatus: 200, collapsed: true },
    origin: undefined,
    combined: 'uri-miss',
  },
  {
    name: 'pass-through of another method',
    outcome: { method: 'POST', status: 201, ...f({ fwd: 'method', fwdStatus: 201 }) },
    header: 'mini-cdn; fwd=method; fwd-status=201',
    line: { ...common, method: 'POST', status: 201, cache: 'fwd=method', fwdStatus: 201 },
    origin: '2xx',
    combined: 'method',
  },
  {
    name: 'a not-stored pass-through with a reason',
    outcome: f({ fwd: 'request', fwdStatus: 200, detail: 'request-no-store' }),
    header: 'mini-cdn; fwd=request; fwd-status=200; detail=request-no-store',
    line: { ...common, status: 200, cache: 'fwd=request', fwdStatus: 200, detail: 'request-no-store' },
    origin: '2xx',
    combined: 'request',
  },
  {
    name: 'an origin that could not be reached',
    outcome: { status: 502, ...f({ fwd: 'uri-miss', detail: 'MCDN_UPSTREAM_CONNECT' }) },
    header: 'mini-cdn; fwd=uri-miss; detail=MCDN_UPSTREAM_CONNECT',
    line: { ...common, status: 502, cache: 'fwd=uri-miss', error: 'MCDN_UPSTREAM_CONNECT' },
    origin: 'error',
    combined: 'uri-miss',
  },
  {
    name: 'a stale copy served because the origin failed',
    outcome: f({ fwd: 'stale', ttlMs: -4_001, detail: 'stale-if-error' }),
    header: 'mini-cdn; fwd=stale; ttl=-5; detail=stale-if-error',
    line: { ...common, status: 200, cache: 'fwd=stale', ttl: -5, detail: 'stale-if-error' },
    origin: 'error',
    combined: 'stale',
  },
  {
    name: 'a partial entry answering a range',
    outcome: { status: 206, ...f({ hit: true, ttlMs: 10_000, detail: 'partial' }) },
    header: 'mini-cdn; hit; ttl=10; detail=partial',
    line: { ...common, status: 206, cache: 'hit', ttl: 10, detail: 'partial' },
    origin: undefined,
    combined: 'hit',
  },
  {
    name: 'only-if-cached with nothing stored',
    outcome: { status: 504, ...f({ fwd: 'uri-miss', detail: 'MCDN_ONLY_IF_CACHED' }) },
    header: 'mini-cdn; fwd=uri-miss; detail=MCDN_ONLY_IF_CACHED',
    line: { ...common, status: 504, cache: 'fwd=uri-miss', error: 'MCDN_ONLY_IF_CACHED' },
    origin: undefined,
    combined: 'uri-miss',
  },
  {
    name: 'a malformed request, never forwarded',
    outcome: { status: 400, ...f({ fwd: 'bypass', detail: 'MCDN_REQUEST_INVALID' }) },
    header: 'mini-cdn; fwd=bypass; detail=MCDN_REQUEST_INVALID',
    line: { ...common, status: 400, cache: 'fwd=bypass', error: 'MCDN_REQUEST_INVALID' },
    origin: undefined,
    combined: 'bypass',
  },
  {
    name: 'a client that left early, before any response',
    outcome: { status: 0, bytes: 0, bodyBytes: 0, aborted: true },
    header: undefined,
    line: { ...common, status: 0, bytes: 0, cache: 'none', aborted: true },
    origin: undefined,
    combined: '-',
  },
];

for (const row of rows) {
  test(`outcome: ${row.name}`, () => {
    const outcome: Outcome = { ...base, ...row.outcome };
    // The Cache-Status member is serialised from the outcome's decision: the same string as before.
    if (row.header === undefined) assert.equal(outcome.cache, undefined);
    else assert.equal(formatCacheStatus('mini-cdn', outcome.cache as CacheStatusFields), row.header);
    const line = accessLine(outcome);
    assert.deepEqual(line, row.line);
    assert.equal(Object.values(line).every((v) => typeof v !== 'object'), true, 'one flat object');
    // The line says what the header says: every parameter of the member, under the line's name.
    if (row.header !== undefined) {
      const [member] = parseCacheStatus(row.header);
      const p = member?.params ?? {};
      assert.equal(line['cache'], p['hit'] === true ? 'hit' : `fwd=${String(p['fwd'])}`);
      assert.equal(line['fwdStatus'], p['fwd-status']);
      assert.equal(line['ttl'], p['ttl']);
      assert.equal(line['stored'], p['stored']);
      assert.equal(line['collapsed'], p['collapsed']);
      assert.equal(line['error'] ?? line['detail'], p['detail']);
    }
    assert.equal(originOutcome(outcome.cache), row.origin);
    assert.equal(cacheLabel(outcome.cache), row.line['cache']);
    assert.match(combinedAccessLine(outcome), new RegExp(` "${row.combined}" 0\\.001\\n$`));
  });
}

test('metric code labels by status class; none without a response', () => {
  assert.deepEqual([0, 101, 200, 304, 404, 503, 999].map(codeLabel), ['none', '1xx', '2xx', '3xx', '4xx', '5xx', 'none']);
});

test('a JSON line has the shape of the pino lines around it: level, time, bindings, fields, msg', () => {
  const line = jsonAccessLine({ ...base, ...f({ hit: true, ttlMs: 5000 }) }, jsonBindings({ pid: 7, hostname: 'h', edge: 'e1' }), 1_800_000_000_000);
  assert.ok(line.endsWith('}\n'));
  assert.deepEqual(JSON.parse(line), { level: 30, time: 1_800_000_000_000, pid: 7, hostname: 'h', edge: 'e1', ...common, status: 200, cache: 'hit', ttl: 5, msg: 'request' });
  assert.deepEqual(JSON.parse(jsonAccessLine(base, '', 1)), { level: 30, time: 1, ...common, status: 200, cache: 'none', msg: 'request' });
});

// The combined format: `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent
// "$http_referer" "$http_user_agent"`, then "cache result" and $request_time.
const combinedRows: Array<{ name: string; outcome: Partial<Outcome>; expected: string }> = [
  {
    name: 'a hit with referer and user agent',
    outcome: { referer: 'http://example.test/', userAgent: 'curl/8.5.0', ...f({ hit: true, ttlMs: 1000 }) },
    expected: `127.0.0.1 - - [${timeLocal(base.time)}] "GET /news?x=1 HTTP/1.1" 200 300 "http://example.test/" "curl/8.5.0" "hit" 0.001\n`,
  },
  {
    name: 'a miss without referer or user agent, HTTP/1.0',
    outcome: { httpVersion: '1.0', durationMs: 12.3456, ...f({ fwd: 'uri-miss', fwdStatus: 200, stored: true }) },
    expected: `127.0.0.1 - - [${timeLocal(base.time)}] "GET /news?x=1 HTTP/1.0" 200 300 "-" "-" "uri-miss" 0.012\n`,
  },
  {
    name: 'quotes, backslashes and control characters are escaped as nginx does',
    outcome: { path: '/a"b\\c', userAgent: 'evil"\r\nUA', referer: 'é', ...f({ fwd: 'method', fwdStatus: 200 }), method: 'POST' },
    expected: `127.0.0.1 - - [${timeLocal(base.time)}] "POST /a\\x22b\\x5Cc HTTP/1.1" 200 300 "\\xC3\\xA9" "evil\\x22\\x0D\\x0AUA" "method" 0.001\n`,
  },
  {
    name: 'a parse error: no request line, no decision of a cache that never saw it',
    outcome: { method: '', path: '', remote: '', status: 400, bodyBytes: 40, ...f({ fwd: 'bypass', detail: 'MCDN_REQUEST_INVALID' }) },
    expected: `- - - [${timeLocal(base.time)}] "-" 400 40 "-" "-" "bypass" 0.001\n`,
  },
  {
    name: 'a client that left before the response',
    outcome: { status: 0, bodyBytes: 0, aborted: true, durationMs: 2500 },
    expected: `127.0.0.1 - - [${timeLocal(base.time)}] "GET /news?x=1 HTTP/1.1" 0 0 "-" "-" "-" 2.500\n`,
  },
];

for (const row of combinedRows) {
  test(`combined line: ${row.name}`, () => {
    const line = combinedAccessLine({ ...base, ...row.outcome });
    assert.equal(line, row.expected);
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
  });
}

test('combined time: dd/Mon/yyyy:HH:MM:SS ±hhmm, in the local zone', () => {
  const text = timeLocal(base.time);
  assert.match(text, /^\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/);
  const d = new Date(base.time);
  assert.equal(text.slice(0, 2), String(d.getDate()).padStart(2, '0'));
  assert.equal(text.slice(12, 20), [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':'));
});

test('escapeLogField: plain text as it is, absent or empty as -', () => {
  assert.equal(escapeLogField('Mozilla/5.0 (X11; Linux x86_64)'), 'Mozilla/5.0 (X11; Linux x86_64)');
  assert.equal(escapeLogField(undefined), '-');
  assert.equal(escapeLogField(''), '-');
  assert.equal(escapeLogField('\x7f'), '\\x7F');
});
