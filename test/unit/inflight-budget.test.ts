// The in-flight budget: reservations never exceed the bound, releases give room back, a refused
// reservation takes nothing, and a lowered bound keeps what is held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightBudget } from '../../proxy/server/inflight-budget.js';

test('reservations fit within the bound; a refused one takes nothing and is counted', () => {
  const budget = new InflightBudget(100);
  assert.equal(budget.tryReserve(60), true);
  assert.equal(budget.tryReserve(41), false);
  assert.deepEqual(budget.stats(), { usedBytes: 60, limitBytes: 100, refused: 1 });
  assert.equal(budget.tryReserve(40), true);
  assert.equal(budget.tryReserve(1), false);
  assert.deepEqual(budget.stats(), { usedBytes: 100, limitBytes: 100, refused: 2 });
});

test('releases give room back, never below zero', () => {
  const budget = new InflightBudget(100);
  budget.tryReserve(100);
  budget.release(30);
  assert.equal(budget.tryReserve(30), true);
  budget.release(500);
  assert.equal(budget.stats().usedBytes, 0);
});

test('a lowered bound keeps what is held and refuses until it fits again', () => {
  const budget = new InflightBudget(100);
  budget.tryReserve(80);
  budget.setLimit(50);
  assert.equal(budget.tryReserve(1), false);
  budget.release(40);
  assert.equal(budget.tryReserve(10), true);
  assert.deepEqual(budget.stats(), { usedBytes: 50, limitBytes: 50, refused: 1 });
});
