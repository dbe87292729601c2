// The bench's Zipf sampler: the shape of the distribution over a large seeded sample, the range
// of every draw, and the arguments it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, zipf } from '../../bench/zipf.js';

function counts(n: number, s: number, draws: number, seed = 42): number[] {
  const sampler = zipf(n, s, mulberry32(seed));
  const seen = new Array<number>(n + 1).fill(0);
  for (let i = 0; i < draws; i++) {
    const rank = sampler.next();
    assert.ok(Number.isInteger(rank) && rank >= 1 && rank <= n, `rank ${rank} out of 1..${n}`);
    seen[rank] = (seen[rank] as number) + 1;
  }
  return seen;
}

test('rank 1 is the most frequent', () => {
  const seen = counts(1000, 0.9, 100_000);
  const first = seen[1] as number;
  for (let rank = 2; rank <= 1000; rank++) assert.ok(first > (seen[rank] as number), `rank ${rank} drawn ${seen[rank]} times, rank 1 ${first}`);
});

for (const s of [1, 0.9]) {
  test(`rank 1 over rank 2 is about 2^s (s = ${s})`, () => {
    // ~27k and ~13k draws for ranks 1 and 2: the ratio's standard error is about 1%.
    const seen = counts(1000, s, 200_000);
    const ratio = (seen[1] as number) / (seen[2] as number);
    assert.ok(Math.abs(ratio / 2 ** s - 1) < 0.05, `ratio ${ratio.toFixed(3)}, expected ${(2 ** s).toFixed(3)}`);
  });
}

test('frequencies follow the probabilities it reports', () => {
  const draws = 200_000;
  const seen = counts(50, 1, draws);
  const sampler = zipf(50, 1);
  for (const rank of [1, 2, 3, 4, 5, 10, 50]) {
    const expected = sampler.probability(rank) * draws;
    assert.ok(Math.abs((seen[rank] as number) - expected) < 5 * Math.sqrt(expected), `rank ${rank}: ${seen[rank]} vs ${expected.toFixed(0)}`);
  }
  let sum = 0;
  for (let r = 1; r <= 50; r++) sum += sampler.probability(r);
  assert.ok(Math.abs(sum - 1) < 1e-12);
  assert.equal(sampler.probability(0), 0);
  assert.equal(sampler.probability(51), 0);
});

test('s = 0 is uniform', () => {
  const seen = counts(10, 0, 100_000);
  for (let rank = 1; rank <= 10; rank++) assert.ok(Math.abs((seen[rank] as number) - 10_000) < 500, `rank ${rank}: ${seen[rank]}`);
});

test('n = 1 always draws rank 1', () => {
  const sampler = zipf(1, 1);
  for (let i = 0; i < 1000; i++) assert.equal(sampler.next(), 1);
  assert.equal(sampler.probability(1), 1);
});

test('a draw of the largest random value still lands in range', () => {
  const sampler = zipf(5, 1, () => 1 - Number.EPSILON);
  assert.equal(sampler.next(), 5);
  assert.equal(zipf(5, 1, () => 0).next(), 1);
});

test('the same seed gives the same sequence; another seed another one', () => {
  const a = zipf(1000, 1, mulberry32(7));
  const b = zipf(1000, 1, mulberry32(7));
  const c = zipf(1000, 1, mulberry32(8));
  const seqA = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(Array.from({ length: 100 }, () => b.next()), seqA);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.next()), seqA);
});

test('mulberry32 yields numbers in [0, 1)', () => {
  const random = mulberry32(123);
  for (let i = 0; i < 100_000; i++) {
    const u = random();
    assert.ok(u >= 0 && u < 1, String(u));
  }
});

test('invalid n or s throws', () => {
  for (const n of [0, -1, 1.5, NaN, Infinity, 1e9]) assert.throws(() => zipf(n, 1), RangeError, `n = ${n}`);
  for (const s of [-0.1, NaN, Infinity, -Infinity]) assert.throws(() => zipf(10, s), RangeError, `s = ${s}`);
});
