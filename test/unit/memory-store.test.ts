// MemoryStore: the shared store contract, plus what only this store has (option checks).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../proxy/store/memory-store.js';
import { makeEntry, storeContract } from './store-contract.js';

storeContract('MemoryStore', (o) => new MemoryStore(o));

void describe('MemoryStore options', () => {
  void test('accepts positive integers with maxObjectBytes <= maxBytes', () => {
    const store = new MemoryStore({ maxBytes: 1_000, maxObjectBytes: 1_000 });
    assert.equal(store.set('/a', makeEntry({ bodyBytes: 10 })), true);
  });

  const bad: Array<[string, number, number, RegExp]> = [
    ['zero maxBytes', 0, 1, /maxBytes must be a positive integer/],
    ['negative maxBytes', -5, 1, /maxBytes must be a positive integer/],
    ['fractional maxBytes', 10.5, 1, /maxBytes must be a positive integer/],
    ['NaN maxBytes', Number.NaN, 1, /maxBytes must be a positive integer/],
    ['infinite maxBytes', Number.POSITIVE_INFINITY, 1, /maxBytes must be a positive integer/],
    ['zero maxObjectBytes', 100, 0, /maxObjectBytes must be a positive integer/],
    ['fractional maxObjectBytes', 100, 0.5, /maxObjectBytes must be a positive integer/],
    ['maxObjectBytes above maxBytes', 100, 101, /maxObjectBytes \(101\) must not exceed maxBytes \(100\)/],
  ];
  for (const [what, maxBytes, maxObjectBytes, message] of bad) {
    void test(`rejects ${what} with a RangeError`, () => {
      assert.throws(() => new MemoryStore({ maxBytes, maxObjectBytes }), (err: unknown) => {
        assert.ok(err instanceof RangeError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  void test('a throwing onRemove listener does not stop the others or corrupt the store', async () => {
    const store = new MemoryStore({ maxBytes: 10_000, maxObjectBytes: 5_000 });
    const heard: string[] = [];
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      store.onRemove(() => {
        throw new Error('listener broke');
      });
      store.onRemove((key, _entry, reason) => heard.push(`${key}:${reason}`));
      store.set('/a', makeEntry());
      store.set('/b', makeEntry());
      store.delete('/a');
      store.set('/b', makeEntry({ bodyBytes: 1 }));
      assert.deepEqual(heard, ['/a:delete', '/b:replace']);
      assert.deepEqual([...store.keys()], ['/b']);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.filter((w) => w.message === 'listener broke').length, 2);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
