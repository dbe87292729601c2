// The counter gate: a live message passes only when the bus's own epoch and counter vouch for
// it; a refusal needs a read that started after the message arrived; a failing read stalls
// (messages wait, in order, never dropped) until a read works again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CounterGate } from '../../edge/bus/counter-gate.js';
import type { CounterView } from '../../edge/bus/counter-gate.js';
import type { Invalidation } from '../../edge/bus/types.js';

function msg(seq: number, epoch = 'e1'): Invalidation {
  return { v: 1, epoch, seq, id: `${epoch}-${seq}`, issuedAtMs: 0, urls: [], prefixes: [], tags: [`t${seq}`], all: false, soft: false };
}

/** A gate over a counter the test moves, with reads the test answers (or fails) one by one. */
function harness() {
  const passed: string[] = [];
  const stalls: boolean[] = [];
  const pending: Array<{ resolve: (view: CounterView) => void; reject: (err: Error) => void }> = [];
  const gate = new CounterGate({
    read: () => new Promise<CounterView>((resolve, reject) => pending.push({ resolve, reject })),
    pass: (m) => void passed.push(`${m.epoch}:${m.seq}`),
    onStalled: (stalled) => void stalls.push(stalled),
    stallAfterMs: 20,
    backoffMs: () => 1,
  });
  return { gate, passed, stalls, pending };
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(h: ReturnType<typeof harness>, view: CounterView): Promise<void> {
  for (let tries = 0; h.pending.length === 0 && tries < 500; tries++) await tick(1);
  const read = h.pending.shift();
  assert.ok(read, 'a read was started');
  read.resolve(view);
  await tick();
}

test('a message the counter has reached passes; one beyond it or of another epoch is dropped and counted', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  h.gate.offer(msg(9));
  h.gate.offer(msg(2, 'elsewhere'));
  await answer(h, { epoch: 'e1', head: 1 }); // started when 1 arrived: it judges 1 only
  assert.deepEqual(h.passed, ['e1:1']);
  await answer(h, { epoch: 'e1', head: 1 }); // started after 9 and the other epoch's 2 arrived: it judges both
  assert.deepEqual(h.passed, ['e1:1']);
  assert.deepEqual(h.gate.stats(), { foreignEpoch: 1, aheadOfCounter: 1, counterReadFailures: 0 });
  assert.equal(h.pending.length, 0, 'no read more');
  h.gate.close();
});

test('a read that started before a message arrived may let it pass, never refuse it: a fresh read decides', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  h.gate.offer(msg(2)); // arrives while the read for 1 is under way; the reply says head 1
  await answer(h, { epoch: 'e1', head: 1 });
  assert.deepEqual(h.passed, ['e1:1'], '2 waits for a read of its own');
  await answer(h, { epoch: 'e1', head: 2 });
  assert.deepEqual(h.passed, ['e1:1', 'e1:2']);
  assert.deepEqual(h.gate.stats().aheadOfCounter, 0);
  h.gate.close();
});

test('Redis reports a new epoch: its messages pass (the Sequencer resyncs on them), the old epoch\'s are dropped', async () => {
  const h = harness();
  h.gate.offer(msg(5, 'old'));
  await answer(h, { epoch: 'old', head: 5 });
  h.gate.offer(msg(1, 'new'));
  h.gate.offer(msg(6, 'old'));
  await answer(h, { epoch: 'new', head: 1 });
  await answer(h, { epoch: 'new', head: 1 });
  assert.deepEqual(h.passed, ['old:5', 'new:1']);
  assert.equal(h.gate.stats().foreignEpoch, 1);
  h.gate.close();
});

test('an empty Redis (no epoch) vouches for nothing', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  await answer(h, { epoch: null, head: 0 });
  assert.deepEqual(h.passed, []);
  assert.equal(h.gate.stats().foreignEpoch, 1);
  h.gate.close();
});

test('a failing read stalls the gate: messages wait in order, none dropped, until a read works', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  h.gate.offer(msg(2));
  for (let i = 0; i < 3; i++) {
    for (let tries = 0; h.pending.length === 0 && tries < 500; tries++) await tick(1);
    h.pending.shift()?.reject(new Error('redis is away'));
    await tick();
    assert.equal(h.gate.isStalled, true);
  }
  h.gate.offer(msg(3));
  assert.deepEqual(h.passed, []);
  await answer(h, { epoch: 'e1', head: 3 });
  assert.deepEqual(h.passed, ['e1:1', 'e1:2', 'e1:3'], 'in arrival order');
  assert.equal(h.gate.isStalled, false);
  assert.deepEqual(h.stalls, [true, false], 'told once each way');
  assert.equal(h.gate.stats().counterReadFailures, 3);
  h.gate.close();
});

test('a read that does not answer stalls the gate until it does (a real purge may be waiting behind it)', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  for (let tries = 0; !h.gate.isStalled && tries < 500; tries++) await tick(2);
  assert.equal(h.gate.isStalled, true, 'stalled while the read hangs');
  assert.deepEqual(h.passed, []);
  await answer(h, { epoch: 'e1', head: 1 });
  assert.equal(h.gate.isStalled, false);
  assert.deepEqual(h.passed, ['e1:1']);
  assert.deepEqual(h.stalls, [true, false]);
  assert.equal(h.gate.stats().counterReadFailures, 0, 'slow is not failed');
  h.gate.close();
});

test('close() drops what waits and stops retrying', async () => {
  const h = harness();
  h.gate.offer(msg(1));
  h.gate.close();
  await answer(h, { epoch: 'e1', head: 1 });
  h.gate.offer(msg(2));
  await tick(5);
  assert.deepEqual(h.passed, []);
  assert.equal(h.pending.length, 0, 'no read after close');
});
