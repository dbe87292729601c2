// The wrk load runs of the hit scenarios: the done() hook's line read from real wrk 4.1.0 outputs
// (captured on this machine with the bench's own script), checked against wrk's text summary of the
// same run, and turned into the load result every scenario reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WRK_MARKER, WRK_SCRIPT, loadResultOf, parseWrkOutput } from '../../bench/wrk.js';

interface Case {
  name: string;
  stdout: string;
  want: { requests: number; durationUs: number; bytes: number; status: number; p50: number; p99: number; max: number };
}

const CAPTURED: Case[] = [
  {
    name: "1 KiB hits, 50 connections",
    stdout: [
      "Running 2s test @ http://127.0.0.1:44645/",
      "  1 threads and 50 connections",
      "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
      "    Latency    13.67ms   21.31ms 187.18ms   91.22%",
      "    Req/Sec     6.09k     3.19k   11.28k    60.00%",
      "  Latency Distribution",
      "     50%    7.39ms",
      "     75%   14.97ms",
      "     90%   31.14ms",
      "     99%  122.77ms",
      "  12414 requests in 2.08s, 14.57MB read",
      "Requests/sec:   5980.71",
      "Transfer/sec:      7.02MB",
      "MINI_CDN_WRK {\"requests\":12414,\"durationUs\":2075674,\"bytes\":15281634,\"errors\":{\"connect\":0,\"read\":0,\"write\":0,\"status\":0,\"timeout\":0},\"latencyUs\":{\"mean\":13671.6,\"max\":187178,\"p50\":7385,\"p75\":14972,\"p90\":31143,\"p99\":122770}}",
      "",
    ].join('\n'),
    want: { requests: 12414, durationUs: 2075674, bytes: 15281634, status: 0, p50: 7385, p99: 122770, max: 187178 },
  },
  {
    name: "256 KiB hits, 200 connections",
    stdout: [
      "Running 2s test @ http://127.0.0.1:39235/",
      "  1 threads and 200 connections",
      "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
      "    Latency   125.02ms  267.93ms   2.02s    91.41%",
      "    Req/Sec     1.63k     0.93k    3.58k    63.16%",
      "  Latency Distribution",
      "     50%   38.08ms",
      "     75%   76.53ms",
      "     90%  302.22ms",
      "     99%    1.45s ",
      "  3311 requests in 2.08s, 828.41MB read",
      "Requests/sec:   1589.05",
      "Transfer/sec:    397.58MB",
      "MINI_CDN_WRK {\"requests\":3311,\"durationUs\":2083641,\"bytes\":868650783,\"errors\":{\"connect\":0,\"read\":0,\"write\":0,\"status\":0,\"timeout\":0},\"latencyUs\":{\"mean\":125024.8,\"max\":2024847,\"p50\":38084,\"p75\":76532,\"p90\":302224,\"p99\":1446885}}",
      "",
    ].join('\n'),
    want: { requests: 3311, durationUs: 2083641, bytes: 868650783, status: 0, p50: 38084, p99: 1446885, max: 2024847 },
  },
  {
    name: "every answer a 503",
    stdout: [
      "Running 1s test @ http://127.0.0.1:37067/",
      "  1 threads and 10 connections",
      "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
      "    Latency    10.64ms   26.28ms 175.63ms   92.41%",
      "    Req/Sec     4.36k     2.14k    7.02k    55.56%",
      "  Latency Distribution",
      "     50%    2.31ms",
      "     75%    6.19ms",
      "     90%   20.01ms",
      "     99%  136.51ms",
      "  4054 requests in 1.02s, 633.44KB read",
      "  Non-2xx or 3xx responses: 4054",
      "Requests/sec:   3993.60",
      "Transfer/sec:    624.00KB",
      "MINI_CDN_WRK {\"requests\":4054,\"durationUs\":1015123,\"bytes\":648640,\"errors\":{\"connect\":0,\"read\":0,\"write\":0,\"status\":4054,\"timeout\":0},\"latencyUs\":{\"mean\":10644.1,\"max\":175629,\"p50\":2309,\"p75\":6190,\"p90\":20007,\"p99\":136508}}",
      "",
    ].join('\n'),
    want: { requests: 4054, durationUs: 1015123, bytes: 648640, status: 4054, p50: 2309, p99: 136508, max: 175629 },
  },
  {
    name: "a server that never answers",
    stdout: [
      "Running 3s test @ http://127.0.0.1:34343/",
      "  1 threads and 5 connections",
      "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
      "    Latency     0.00us    0.00us   0.00us    -nan%",
      "    Req/Sec     0.00      0.00     0.00      -nan%",
      "  Latency Distribution",
      "     50%    0.00us",
      "     75%    0.00us",
      "     90%    0.00us",
      "     99%    0.00us",
      "  0 requests in 3.02s, 0.00B read",
      "Requests/sec:      0.00",
      "Transfer/sec:       0.00B",
      "MINI_CDN_WRK {\"requests\":0,\"durationUs\":3017506,\"bytes\":0,\"errors\":{\"connect\":0,\"read\":0,\"write\":0,\"status\":0,\"timeout\":0},\"latencyUs\":{\"mean\":0.0,\"max\":0,\"p50\":0,\"p75\":0,\"p90\":0,\"p99\":0}}",
      "",
    ].join('\n'),
    want: { requests: 0, durationUs: 3017506, bytes: 0, status: 0, p50: 0, p99: 0, max: 0 },
  },
];

/** wrk's own text for a latency ("7.39ms", "1.45s", "0.00us") in µs. */
function textLatencyUs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  assert.ok(match, `a wrk latency: ${text}`);
  return Number(match[1]) * { us: 1, ms: 1_000, s: 1_000_000 }[match[2] as 'us' | 'ms' | 's'];
}

for (const row of CAPTURED) {
  test(`wrk output, ${row.name}: the done() line parsed`, () => {
    const s = parseWrkOutput(row.stdout);
    assert.equal(s.requests, row.want.requests);
    assert.equal(s.durationUs, row.want.durationUs);
    assert.equal(s.bytes, row.want.bytes);
    assert.equal(s.errors.status, row.want.status);
    assert.equal(s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout, 0);
    assert.equal(s.latencyUs.p50, row.want.p50);
    assert.equal(s.latencyUs.p99, row.want.p99);
    assert.equal(s.latencyUs.max, row.want.max);
    assert.ok(s.latencyUs.p50 <= s.latencyUs.p75 && s.latencyUs.p75 <= s.latencyUs.p90 && s.latencyUs.p90 <= s.latencyUs.p99 && s.latencyUs.p99 <= s.latencyUs.max);
  });

  test(`wrk output, ${row.name}: the done() line agrees with wrk's text summary`, () => {
    const s = parseWrkOutput(row.stdout);
    assert.equal(Number(/^\s*(\d+) requests in/m.exec(row.stdout)?.[1]), s.requests);
    const nonOk = /Non-2xx or 3xx responses: (\d+)/.exec(row.stdout)?.[1];
    assert.equal(Number(nonOk ?? 0), s.errors.status);
    for (const [p, key] of [[50, 'p50'], [75, 'p75'], [90, 'p90'], [99, 'p99']] as const) {
      const text = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(row.stdout)?.[1];
      assert.ok(text, `the text has a ${p}% line`);
      // The text rounds to 2 decimals of its unit: within 1% (or 10 µs).
      const us = textLatencyUs(text);
      assert.ok(Math.abs(us - s.latencyUs[key]) <= Math.max(10, us * 0.01), `p${p}: text ${text}, hook ${s.latencyUs[key]} µs`);
    }
    const rps = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(row.stdout)?.[1]);
    const result = loadResultOf(s, undefined, undefined, row.name);
    assert.ok(Math.abs(result.requestsPerSec - rps) <= Math.max(0.01, rps * 0.001), `req/s: text ${rps}, computed ${result.requestsPerSec}`);
  });
}

test('loadResultOf: milliseconds, status errors as non-2xx, CPU per request from the CPU seconds around the run', () => {
  const s = parseWrkOutput((CAPTURED[2] as Case).stdout);
  const r = loadResultOf(s, 10, 10.5, '503s');
  assert.equal(r.total, 4054);
  assert.equal(r.non2xx, 4054);
  assert.equal(r.errors, 0);
  assert.equal(r.p50Ms, 2.309);
  assert.equal(r.p90Ms, 20.007);
  assert.equal(r.p99Ms, 136.508);
  assert.equal(r.maxMs, 175.629);
  assert.equal(r.cpuUsPerRequest, 0.5e6 / 4054);
  assert.deepEqual(r.throughput.points, [], 'wrk gives no per-second series');
});

test('loadResultOf: no answers, no CPU per request and no rate beyond 0', () => {
  const r = loadResultOf(parseWrkOutput((CAPTURED[3] as Case).stdout), 1, 2, 'hang');
  assert.equal(r.requestsPerSec, 0);
  assert.equal(r.cpuUsPerRequest, undefined);
});

const BROKEN: Array<{ why: string; stdout: string; error: RegExp }> = [
  { why: 'run without the script', stdout: (CAPTURED[0] as Case).stdout.split('\n').filter((l) => !l.startsWith(WRK_MARKER)).join('\n'), error: /printed no MINI_CDN_WRK line[\s\S]*Requests\/sec/ },
  { why: 'wrk could not connect (its real message)', stdout: 'unable to connect to 127.0.0.1:33225 Connection refused\n', error: /printed no MINI_CDN_WRK line[\s\S]*Connection refused/ },
  { why: 'a cut line', stdout: `${WRK_MARKER} {"requests":12,"durationUs"`, error: /not JSON/ },
  { why: 'a NaN mean printed raw', stdout: `${WRK_MARKER} {"requests":0,"durationUs":1,"bytes":0,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"latencyUs":{"mean":-nan,"max":0,"p50":0,"p75":0,"p90":0,"p99":0}}`, error: /not JSON/ },
  { why: 'a missing field', stdout: `${WRK_MARKER} {"requests":3,"durationUs":1,"bytes":0,"errors":{"connect":0,"read":0,"write":0,"status":0},"latencyUs":{"mean":1,"max":0,"p50":0,"p75":0,"p90":0,"p99":0}}`, error: /errors\.timeout is undefined/ },
];
for (const row of BROKEN) {
  test(`wrk output: ${row.why} is an error saying why`, () => {
    assert.throws(() => parseWrkOutput(row.stdout), row.error);
  });
}

test('the done() script prints the marker, every field the parser reads, and guards a NaN mean', () => {
  assert.match(WRK_SCRIPT, /^done = function\(summary, latency, requests\)$/m);
  assert.ok(WRK_SCRIPT.includes(`'${WRK_MARKER} {`));
  for (const field of ['requests', 'durationUs', 'bytes', 'connect', 'read', 'write', 'status', 'timeout', 'mean', 'max', 'p50', 'p75', 'p90', 'p99']) assert.ok(WRK_SCRIPT.includes(`"${field}":`), field);
  for (const p of [50, 75, 90, 99]) assert.ok(WRK_SCRIPT.includes(`latency:percentile(${p})`));
  assert.match(WRK_SCRIPT, /if mean ~= mean then mean = 0 end/);
});
