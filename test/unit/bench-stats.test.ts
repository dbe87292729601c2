// The bench's figures: nearest-rank percentiles and how a goal is judged from a measured value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixed, judge, median, percentile } from '../../bench/stats.js';

test('percentile: nearest rank over an ascending list', () => {
  const cases: Array<[number[], number, number]> = [
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0, 1],
    [[7], 99, 7],
  ];
  for (const [list, p, expected] of cases) assert.equal(percentile(list, p), expected, `p${p} of ${list.join(',')}`);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(median([3, 1, 2]), 2);
});

test('fixed: integers as they are, others rounded, missing as "-"', () => {
  const cases: Array<[number | undefined, number, string]> = [
    [3, 2, '3'],
    [0.8251, 2, '0.83'],
    [1.23456, 3, '1.235'],
    [undefined, 2, '-'],
    [NaN, 2, '-'],
    [Infinity, 2, '-'],
  ];
  for (const [value, digits, expected] of cases) assert.equal(fixed(value, digits), expected);
});

test('judge: met, missed and skipped, at least and at most, strict and not', () => {
  const cases: Array<{ measured: number | undefined; limit: number; atLeast: boolean; strict?: boolean; status: string; threshold: string }> = [
    { measured: 0.95, limit: 0.9, atLeast: true, status: 'met', threshold: '≥ 0.90' },
    { measured: 0.9, limit: 0.9, atLeast: true, status: 'met', threshold: '≥ 0.90' },
    { measured: 0.82, limit: 0.9, atLeast: true, status: 'missed', threshold: '≥ 0.90' },
    { measured: 10, limit: 10, atLeast: false, strict: true, status: 'missed', threshold: '< 10' },
    { measured: 9.5, limit: 10, atLeast: false, strict: true, status: 'met', threshold: '< 10' },
    { measured: 1, limit: 1, atLeast: false, status: 'met', threshold: '≤ 1' },
    { measured: undefined, limit: 1, atLeast: false, status: 'skipped', threshold: '≤ 1' },
    { measured: NaN, limit: 1, atLeast: true, status: 'skipped', threshold: '≥ 1' },
  ];
  for (const c of cases) {
    const result = judge('goal', c.measured, c.limit, { atLeast: c.atLeast, strict: c.strict ?? false, why: 'nginx is not installed' });
    assert.equal(result.status, c.status, JSON.stringify(c));
    assert.equal(result.threshold, c.threshold);
    if (c.status === 'skipped') assert.equal(result.note, 'nginx is not installed');
  }
  assert.equal(judge('g', 0.5, 1, { atLeast: false, unit: 'ms', detail: '1.5 − 1.0 ms' }).measured, '0.50 ms (1.5 − 1.0 ms)');
});
