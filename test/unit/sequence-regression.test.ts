// Sequence regressions (edge/bus/regression.ts and the Sequencer's use of it): the bus's history
// moved backwards under an edge (a fail-over promoted a replica without the newest messages).
// The comparison as a table, then the Sequencer: a live message at a number already applied with
// another id, and the check after a reconnect, both resync ('sequence regression') and numbering
// follows Redis's; a plain duplicate (same id) stays a duplicate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRegression, RECENT_APPLIED, RecentApplied } from '../../edge/bus/regression.js';
import { Sequencer } from '../../edge/bus/sequencer.js';
import type { Invalidation } from '../../edge/bus/types.js';

function msg(seq: number, id = `old-${seq}`, epoch = 'e1'): Invalidation {
  return { v: 1, epoch, seq, id, issuedAtMs: 0, urls: [], prefixes: [], tags: [`t${seq}`], all: false, soft: false };
}

function ring(...pairs: [number, string][]): RecentApplied {
  const recent = new RecentApplied();
  for (const [seq, id] of pairs) recent.record(seq, id);
  return recent;
}

const ids = (...pairs: [number, string][]): Map<number, string> => new Map(pairs);

const rows: Array<{ name: string; recent: RecentApplied; frontier: number; counter: number; log: Map<number, string>; expected: number | undefined }> = [
  { name: 'same history, nothing new', recent: ring([4, 'a'], [5, 'b']), frontier: 5, counter: 5, log: ids([4, 'a'], [5, 'b']), expected: undefined },
  { name: 'same history, Redis ahead', recent: ring([4, 'a'], [5, 'b']), frontier: 5, counter: 7, log: ids([4, 'a'], [5, 'b'], [6, 'c'], [7, 'd']), expected: undefined },
  { name: 'counter behind: resume after the last shared seq', recent: ring([3, 'x'], [4, 'a'], [5, 'b']), frontier: 5, counter: 3, log: ids([3, 'x']), expected: 3 },
  { name: 'counter behind, history replaced above it: resume after the shared part', recent: ring([3, 'x'], [4, 'a'], [5, 'b']), frontier: 5, counter: 4, log: ids([3, 'x'], [4, 'NEW']), expected: 3 },
  { name: 'counter overtook, another message at my newest seq', recent: ring([3, 'x'], [4, 'a'], [5, 'b']), frontier: 5, counter: 6, log: ids([3, 'x'], [4, 'N1'], [5, 'N2'], [6, 'N3']), expected: 3 },
  { name: 'my newest seq no longer in the log: no verdict', recent: ring([4, 'a'], [5, 'b']), frontier: 5, counter: 9, log: ids([8, 'p'], [9, 'q']), expected: undefined },
  { name: 'counter behind, nothing shared in the log: resume below what I remember', recent: ring([4, 'a'], [5, 'b']), frontier: 5, counter: 4, log: ids([4, 'NEW']), expected: 3 },
  { name: 'nothing remembered, counter behind: resume at the counter', recent: ring(), frontier: 10, counter: 7, log: ids(), expected: 7 },
  { name: 'nothing remembered, counter level', recent: ring(), frontier: 10, counter: 10, log: ids(), expected: undefined },
];

for (const row of rows) {
  test(`findRegression: ${row.name}`, () => {
    assert.equal(findRegression(row.recent, row.frontier, { counter: row.counter, ids: row.log }), row.expected);
  });
}

test(`RecentApplied keeps the newest ${RECENT_APPLIED} pairs and forgets a replaced tail`, () => {
  const recent = new RecentApplied();
  for (let seq = 1; seq <= RECENT_APPLIED + 10; seq++) recent.record(seq, `id-${seq}`);
  assert.equal(recent.oldest(), 11);
  assert.deepEqual(recent.newest(), { seq: RECENT_APPLIED + 10, id: `id-${RECENT_APPLIED + 10}` });
  recent.dropAbove(100);
  assert.deepEqual(recent.newest(), { seq: 100, id: 'id-100' });
  assert.equal(recent.idAt(101), undefined);
});

/** A sequencer on a replay log the test rewrites (the new primary's history). */
function harness() {
  const h = {
    log: [] as Invalidation[],
    events: [] as string[],
    seq: undefined as unknown as Sequencer,
  };
  h.seq = new Sequencer({
    startAfter: 0,
    epoch: 'e1',
    gapWaitMs: 10,
    deliver: (m) => void h.events.push(`${m.seq}:${m.id}`),
    replay: async (from, to) => h.log.filter((m) => m.seq >= from && m.seq <= to),
    onResync: (reason) => void h.events.push(`resync:${reason}`),
    onState: () => undefined,
  });
  return h;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a live message at an applied seq with another id: resync, then it is delivered, and numbering goes on from it', async () => {
  const h = harness();
  await h.seq.catchUp();
  for (let seq = 1; seq <= 5; seq++) h.seq.offer(msg(seq));
  await until(() => h.seq.lastApplied === 5, 'seq 5');
  // The new primary lost 4 and 5: its next publish is numbered 4 again.
  h.seq.offer(msg(4, 'new-4'));
  h.seq.offer(msg(5, 'new-5'));
  h.seq.offer(msg(6, 'new-6'));
  await until(() => h.seq.lastApplied === 6, 'seq 6');
  assert.deepEqual(h.events.slice(5), ['resync:sequence regression', '4:new-4', '5:new-5', '6:new-6']);
  assert.equal(h.seq.stats().resyncs, 1);
  assert.equal(h.seq.stats().duplicates, 0);
  h.seq.close();
});

test('a live duplicate (same seq, same id) is still only a duplicate', async () => {
  const h = harness();
  await h.seq.catchUp();
  for (let seq = 1; seq <= 3; seq++) h.seq.offer(msg(seq));
  await until(() => h.seq.lastApplied === 3, 'seq 3');
  h.seq.offer(msg(2));
  h.seq.offer(msg(3));
  h.seq.offer(msg(4));
  await until(() => h.seq.lastApplied === 4, 'seq 4');
  assert.deepEqual(h.events, ['1:old-1', '2:old-2', '3:old-3', '4:old-4']);
  assert.equal(h.seq.stats().duplicates, 2);
  assert.equal(h.seq.stats().resyncs, 0);
  h.seq.close();
});

test('after a reconnect, a counter behind the edge: resync, and the next message at that number is applied', async () => {
  const h = harness();
  await h.seq.catchUp();
  for (let seq = 1; seq <= 5; seq++) h.seq.offer(msg(seq));
  await until(() => h.seq.lastApplied === 5, 'seq 5');
  h.seq.disconnected();
  // The promoted replica had 1..2 only.
  h.log = [msg(1), msg(2)];
  assert.equal(h.seq.checkRegression('e1', { counter: 2, ids: ids([1, 'old-1'], [2, 'old-2']) }), true);
  await h.seq.catchUp();
  assert.equal(h.seq.lastApplied, 2);
  assert.equal(h.seq.state, 'in-sync');
  h.seq.offer(msg(3, 'new-3'));
  await until(() => h.seq.lastApplied === 3, 'seq 3');
  assert.deepEqual(h.events.slice(5), ['resync:sequence regression', '3:new-3']);
  assert.equal(h.seq.stats().duplicates, 0);
  h.seq.close();
});

test('after a reconnect, a counter that overtook the edge with another history: resync, and the new messages are replayed', async () => {
  const h = harness();
  await h.seq.catchUp();
  for (let seq = 1; seq <= 4; seq++) h.seq.offer(msg(seq));
  await until(() => h.seq.lastApplied === 4, 'seq 4');
  h.seq.disconnected();
  // The new primary had 1..2, and took 3..5 from publishers before this edge came back.
  h.log = [msg(1), msg(2), msg(3, 'new-3'), msg(4, 'new-4'), msg(5, 'new-5')];
  const log = new Map(h.log.map((m) => [m.seq, m.id]));
  assert.equal(h.seq.checkRegression('e1', { counter: 5, ids: log }), true);
  await h.seq.catchUp();
  assert.deepEqual(h.events.slice(4), ['resync:sequence regression', '3:new-3', '4:new-4', '5:new-5']);
  h.seq.close();
});

test('after a reconnect, the same history (or another epoch) is no regression', async () => {
  const h = harness();
  await h.seq.catchUp();
  for (let seq = 1; seq <= 3; seq++) h.seq.offer(msg(seq));
  await until(() => h.seq.lastApplied === 3, 'seq 3');
  assert.equal(h.seq.checkRegression('e1', { counter: 3, ids: ids([3, 'old-3']) }), false);
  assert.equal(h.seq.checkRegression('e1', { counter: 9, ids: ids([3, 'old-3'], [4, 'n']) }), false);
  assert.equal(h.seq.checkRegression('e2', { counter: 1, ids: ids() }), false);
  assert.equal(h.seq.stats().resyncs, 0);
  h.seq.close();
});
