// The balancer's selection logic, without I/O: smooth weighted round-robin (nginx's sequence),
// least-busy with its tie-breaks, skipping what is unavailable or already tried, and the fallback
// to unavailable members when nothing else is left.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer, eligible } from '../../proxy/upstream/balancer.js';
import type { BalancerMember, Balancing } from '../../proxy/upstream/balancer.js';

const NAMES = 'abcdefgh';

function members(weights: number[], extra: Partial<BalancerMember>[] = []): BalancerMember[] {
  return weights.map((weight, i) => ({ weight, inFlight: 0, available: true, ...extra[i] }));
}

/** Picks `count` times with a fresh balancer and returns the sequence as letters. */
function sequence(strategy: Balancing, list: BalancerMember[], count: number, tried: ReadonlySet<number> = new Set()): string {
  const balancer = new Balancer(strategy, list.length);
  let out = '';
  for (let i = 0; i < count; i++) {
    const choice = balancer.pick(list, tried);
    out += choice === undefined ? '-' : NAMES[choice.index];
  }
  return out;
}

describe('smooth weighted round-robin', () => {
  const rows: Array<{ name: string; weights: number[]; available?: boolean[]; count: number; expected: string }> = [
    { name: "weights 5,1,1 give nginx's a a b a c a a", weights: [5, 1, 1], count: 7, expected: 'aabacaa' },
    { name: 'the sequence repeats every total weight', weights: [5, 1, 1], count: 14, expected: 'aabacaaaabacaa' },
    { name: 'equal weights alternate', weights: [1, 1, 1], count: 6, expected: 'abcabc' },
    { name: 'weights 2,1 interleave', weights: [2, 1], count: 6, expected: 'abaaba' },
    { name: 'a single member always wins', weights: [3], count: 3, expected: 'aaa' },
    { name: 'an unavailable member is skipped', weights: [5, 1, 1], available: [true, false, true], count: 6, expected: 'aaacaa' },
    { name: 'the only available member gets everything', weights: [5, 1, 1], available: [false, true, false], count: 3, expected: 'bbb' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const list = members(row.weights, (row.available ?? []).map((available) => ({ available })));
      assert.equal(sequence('weighted-round-robin', list, row.count), row.expected);
    });
  }

  test('per-weight counts over many rounds are exact', () => {
    const list = members([5, 1, 1]);
    const balancer = new Balancer('weighted-round-robin', list.length);
    const counts = [0, 0, 0];
    for (let i = 0; i < 70; i++) {
      const choice = balancer.pick(list);
      assert.ok(choice);
      counts[choice.index] = (counts[choice.index] ?? 0) + 1;
    }
    assert.deepEqual(counts, [50, 10, 10]);
  });
});

describe('least-busy', () => {
  const rows: Array<{ name: string; weights: number[]; inFlight: number[]; available?: boolean[]; expected: string }> = [
    { name: 'the fewest in flight wins', weights: [1, 1, 1], inFlight: [3, 1, 2], expected: 'b' },
    { name: 'a tie goes to the higher weight', weights: [1, 4, 2], inFlight: [0, 0, 0], expected: 'b' },
    { name: 'a tie of weight goes to the earlier member', weights: [2, 2, 1], inFlight: [1, 1, 1], expected: 'a' },
    { name: 'in flight beats weight', weights: [10, 1], inFlight: [1, 0], expected: 'b' },
    { name: 'an unavailable idle member is skipped', weights: [1, 1, 1], inFlight: [0, 5, 2], available: [false, true, true], expected: 'c' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const list = members(
        row.weights,
        row.inFlight.map((inFlight, i) => ({ inFlight, available: row.available?.[i] ?? true })),
      );
      assert.equal(sequence('least-busy', list, 1), row.expected);
    });
  }

  test('follows the in-flight counts as they change', () => {
    const list = members([1, 1]);
    const balancer = new Balancer('least-busy', 2);
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const choice = balancer.pick(list);
      assert.ok(choice);
      picks.push(NAMES[choice.index] ?? '?');
      (list[choice.index] as BalancerMember).inFlight++;
    }
    assert.deepEqual(picks, ['a', 'b', 'a', 'b']);
  });
});

describe('tried members and fallback', () => {
  const strategies: Balancing[] = ['weighted-round-robin', 'least-busy'];
  for (const strategy of strategies) {
    test(`${strategy}: members already tried are not picked again`, () => {
      const list = members([5, 1, 1]);
      const balancer = new Balancer(strategy, 3);
      const tried = new Set<number>();
      const order: number[] = [];
      for (let i = 0; i < 3; i++) {
        const choice = balancer.pick(list, tried);
        assert.ok(choice);
        assert.equal(choice.fallback, false);
        tried.add(choice.index);
        order.push(choice.index);
      }
      assert.deepEqual([...order].sort(), [0, 1, 2]);
      assert.equal(balancer.pick(list, tried), undefined);
    });

    test(`${strategy}: all unavailable → an unavailable member, marked as fallback`, () => {
      const list = members([1, 2, 1], [{ available: false }, { available: false }, { available: false }]);
      const choice = new Balancer(strategy, 3).pick(list);
      assert.ok(choice);
      assert.equal(choice.fallback, true);
    });

    test(`${strategy}: available members come first, fallback only after they were tried`, () => {
      const list = members([1, 1, 1], [{ available: false }, { available: true }, { available: false }]);
      const balancer = new Balancer(strategy, 3);
      const first = balancer.pick(list);
      assert.deepEqual(first, { index: 1, fallback: false });
      const second = balancer.pick(list, new Set([1]));
      assert.ok(second);
      assert.equal(second.fallback, true);
      assert.notEqual(second.index, 1);
    });
  }

  const rows: Array<{ name: string; available: boolean[]; tried: number[]; indices: number[]; fallback: boolean }> = [
    { name: 'every available member', available: [true, false, true], tried: [], indices: [0, 2], fallback: false },
    { name: 'available members not tried', available: [true, false, true], tried: [0], indices: [2], fallback: false },
    { name: 'all unavailable → the fallback list of every member', available: [false, false, false], tried: [], indices: [0, 1, 2], fallback: true },
    { name: 'available ones all tried → the untried unavailable ones', available: [true, false, false], tried: [0], indices: [1, 2], fallback: true },
    { name: 'everything tried → nothing', available: [true, false], tried: [0, 1], indices: [], fallback: true },
  ];
  for (const row of rows) {
    test(`eligible: ${row.name}`, () => {
      const list = members(row.available.map(() => 1), row.available.map((available) => ({ available })));
      assert.deepEqual(eligible(list, new Set(row.tried)), { indices: row.indices, fallback: row.fallback });
    });
  }
});

describe('pick agrees with eligible', () => {
  // Every availability pattern of three members against every set already tried: pick must
  // choose among exactly the members eligible() lists, with the same fallback flag.
  const strategies: Balancing[] = ['weighted-round-robin', 'least-busy'];
  const patterns = [0, 1, 2, 3, 4, 5, 6, 7];
  for (const strategy of strategies) {
    test(`${strategy}: over every availability and tried set of three members`, () => {
      for (const availableBits of patterns) {
        for (const triedBits of patterns) {
          const list = members([3, 2, 1], [0, 1, 2].map((i) => ({ available: ((availableBits >> i) & 1) === 1, inFlight: i % 2 })));
          const tried = new Set([0, 1, 2].filter((i) => ((triedBits >> i) & 1) === 1));
          const expected = eligible(list, tried);
          const choice = new Balancer(strategy, 3).pick(list, tried);
          const where = `available ${availableBits.toString(2)}, tried ${triedBits.toString(2)}`;
          if (expected.indices.length === 0) {
            assert.equal(choice, undefined, where);
            continue;
          }
          assert.ok(choice, where);
          assert.ok(expected.indices.includes(choice.index), where);
          assert.equal(choice.fallback, expected.fallback, where);
        }
      }
    });
  }
});
