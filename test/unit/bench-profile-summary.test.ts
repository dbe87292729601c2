// bench/profile-summary: self time per function and per place from a .cpuprofile, where a sample
// lasts until the next one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeOf, summarize } from '../../bench/profile-summary.js';
import type { CpuProfile } from '../../bench/profile-summary.js';

const places: Array<[url: string, fn: string, place: string]> = [
  ['node:internal/http/server', 'writeHead', 'node:internal/http'],
  ['node:net', 'write', 'node:net'],
  ['file:///work/main/node_modules/pino/lib/proto.js', 'write', 'pino'],
  ['file:///work/main/node_modules/@scope/pkg/index.js', 'f', '@scope/pkg'],
  ['file:///work/wt/x/dist/proxy/server/node.js', 'serve', 'proxy/server/node.js'],
  ['', '(garbage collector)', '(garbage collector)'],
  ['', 'writev', '(native)'],
];
for (const [url, fn, place] of places) {
  test(`placeOf(${JSON.stringify(url)}, ${fn}) is ${place}`, () => {
    assert.equal(placeOf(url, fn), place);
  });
}

test('summarize: each sample counts the time until the next one, grouped by function and by place', () => {
  const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '', -1) },
      { id: 2, callFrame: frame('serve', 'file:///x/dist/proxy/node.js', 9) },
      { id: 3, callFrame: frame('write', 'file:///x/node_modules/pino/lib/proto.js', 0) },
      { id: 4, callFrame: frame('', 'file:///x/node_modules/pino/lib/tools.js', 4) },
    ],
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [0, 100, 300, 200, 400],
  };
  const s = summarize(profile, 10);
  assert.equal(s.totalMs, 1);
  assert.deepEqual(s.functions.map((f) => [f.name, f.ms]), [
    ['write pino:1', 0.5],
    ['(anonymous) pino:5', 0.4],
    ['serve proxy/node.js:10', 0.1],
  ]);
  assert.deepEqual(s.places.map((p) => [p.name, p.share]), [
    ['pino', 0.9],
    ['proxy/node.js', 0.1],
  ]);
  assert.equal(summarize(profile, 1).functions.length, 1, 'top N');
});
