// The sequencer: in-order, exactly-once delivery over a live channel that duplicates, reorders and
// loses messages, with a replay log (an array here) to fill holes. No timed assertions: tests wait
// for conditions, and only ever give timers room to fire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_BUFFERED, Sequencer, type SequencerOptions } from '../../edge/bus/sequencer.js';
import type { BusState, Invalidation } from '../../edge/bus/types.js';

const GAP_MS = 10;

function msg(seq: number, epoch = 'e1'): Invalidation {
  return { v: 1, epoch, seq, id: `${epoch}-${seq}`, issuedAtMs: 0, urls: [], prefixes: [], tags: [`t${seq}`], all: false, soft: false };
}

/** A sequencer wired to a replay log and recorders: `events` is one timeline of deliveries and resyncs. */
function harness(overrides: Partial<SequencerOptions> = {}) {
  const h = {
    log: [] as Invalidation[],
    /** replay answers 'trimmed' when asked for anything below this. */
    oldestKept: 1,
    replays: [] as [number, number][],
    events: [] as string[],
    delivered: [] as number[],
    states: [] as BusState[],
    /** Called after each replay answer is computed: lets a test change the log between attempts. */
    afterReplay: (_from: number, _to: number): void => {},
    seq: undefined as unknown as Sequencer,
  };
  h.seq = new Sequencer({
    startAfter: 0,
    epoch: 'e1',
    gapWaitMs: GAP_MS,
    deliver: (m) => {
      h.delivered.push(m.seq);
      h.events.push(`${m.epoch}:${m.seq}`);
    },
    replay: async (from, to) => {
      h.replays.push([from, to]);
      const answer = from < h.oldestKept ? 'trimmed' : h.log.filter((m) => m.seq >= from && m.seq <= to);
      h.afterReplay(from, to);
      return answer;
    },
    onResync: (reason) => h.events.push(`resync:${reason}`),
    onState: (state) => h.states.push(state),
    ...overrides,
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

function offer(sequencer: Sequencer, ...seqs: number[]): void {
  for (const seq of seqs) sequencer.offer(msg(seq));
}

test('delivers in order from startAfter, and reports connecting → replaying → in-sync', async () => {
  const h = harness({ startAfter: 10, epoch: undefined });
  assert.equal(h.seq.state, 'connecting');
  h.log.push(msg(11));
  await h.seq.catchUp();
  assert.deepEqual(h.states, ['replaying', 'in-sync']);
  offer(h.seq, 12, 13, 14);
  await until(() => h.seq.lastApplied === 14, 'seq 14');
  assert.deepEqual(h.delivered, [11, 12, 13, 14]);
  assert.deepEqual(h.replays, [[11, Infinity]]);
  assert.equal(h.seq.epoch, 'e1'); // adopted from the first message seen
  assert.deepEqual(h.seq.stats(), { received: 3, applied: 4, duplicates: 0, replayed: 1, gaps: 0, resyncs: 0, deliveryErrors: 0 });
  assert.equal(h.seq.state, 'in-sync');
  h.seq.close();
});

test('duplicates (and anything at or below startAfter) are counted and ignored', async () => {
  const h = harness({ startAfter: 5 });
  await h.seq.catchUp();
  offer(h.seq, 3, 5, 6, 6, 7, 6, 7);
  await until(() => h.seq.lastApplied === 7, 'seq 7');
  assert.deepEqual(h.delivered, [6, 7]);
  assert.equal(h.seq.stats().duplicates, 5);
  h.seq.close();
});

test('out of order, filled by the live channel before the gap timer: no replay', async () => {
  const h = harness();
  await h.seq.catchUp();
  offer(h.seq, 3, 4, 2, 1, 4);
  await until(() => h.seq.lastApplied === 4, 'seq 4');
  await sleep(GAP_MS * 4); // room for a stray gap timer to fire
  assert.deepEqual(h.delivered, [1, 2, 3, 4]);
  assert.deepEqual(h.replays, [[1, Infinity]]);
  assert.deepEqual(h.states, ['replaying', 'in-sync', 'replaying', 'in-sync']);
  const stats = h.seq.stats();
  assert.equal(stats.gaps, 1);
  assert.equal(stats.duplicates, 1);
  h.seq.close();
});

test('a hole is filled by replay after the gap wait', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.log.push(...[1, 2, 3, 4, 5, 6].map((seq) => msg(seq)));
  offer(h.seq, 1, 2, 5, 6);
  await until(() => h.seq.lastApplied === 6, 'seq 6');
  assert.deepEqual(h.delivered, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(h.replays.slice(1), [[3, 5]]);
  const stats = h.seq.stats();
  assert.equal(stats.replayed, 2);
  assert.equal(stats.gaps, 1);
  assert.equal(stats.resyncs, 0);
  assert.equal(h.seq.state, 'in-sync');
  h.seq.close();
});

test('two holes count as two gaps and one replay fills both', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.log.push(...[1, 2, 3, 4, 5].map((seq) => msg(seq)));
  offer(h.seq, 1, 3, 5);
  await until(() => h.seq.lastApplied === 5, 'seq 5');
  assert.deepEqual(h.delivered, [1, 2, 3, 4, 5]);
  assert.deepEqual(h.replays.slice(1), [[2, 4]]);
  assert.equal(h.seq.stats().gaps, 2);
  h.seq.close();
});

test('a trimmed replay log means resync: numbering goes on from the highest seq known', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.oldestKept = 4;
  offer(h.seq, 1, 5, 7);
  await until(() => h.seq.stats().resyncs === 1, 'the resync');
  await until(() => h.seq.lastApplied === 7, 'lastApplied 7');
  assert.deepEqual(h.events, ['e1:1', 'resync:replay log trimmed']);
  assert.equal(h.seq.state, 'in-sync');
  offer(h.seq, 7, 8);
  await until(() => h.seq.lastApplied === 8, 'seq 8');
  assert.deepEqual(h.delivered, [1, 8]);
  h.seq.close();
});

test('a hole that never fills: a second replay after a longer wait, then resync', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.log.push(msg(1), msg(2), msg(4));
  offer(h.seq, 1, 2, 4);
  await until(() => h.seq.stats().resyncs === 1, 'the resync');
  await until(() => h.seq.lastApplied === 4, 'lastApplied 4');
  assert.deepEqual(h.replays.slice(1), [[3, 3], [3, 3]]);
  assert.deepEqual(h.events, ['e1:1', 'e1:2', 'resync:sequence number 3 never arrived']);
  assert.deepEqual(h.states, ['replaying', 'in-sync', 'replaying', 'in-sync']);
  offer(h.seq, 3, 5);
  await until(() => h.seq.lastApplied === 5, 'seq 5');
  assert.deepEqual(h.delivered, [1, 2, 5]);
  h.seq.close();
});

test('a number written late is found by the second replay: no resync', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.afterReplay = (from) => {
    if (from === 2) h.log.push(msg(2)); // the publisher writes it just after the first replay
  };
  offer(h.seq, 1, 3);
  await until(() => h.seq.lastApplied === 3, 'seq 3');
  assert.deepEqual(h.delivered, [1, 2, 3]);
  assert.deepEqual(h.replays.slice(1), [[2, 2], [2, 2]]);
  assert.equal(h.seq.stats().resyncs, 0);
  h.seq.close();
});

test('a replay that throws counts as one that found nothing', async () => {
  let calls = 0;
  const h = harness({
    replay: async () => {
      calls++;
      if (calls > 1) throw new Error('redis is away');
      return [];
    },
  });
  await h.seq.catchUp();
  offer(h.seq, 1, 3);
  await until(() => h.seq.stats().resyncs === 1, 'the resync');
  assert.equal(calls, 3);
  assert.deepEqual(h.events, ['e1:1', 'resync:sequence number 2 never arrived']);
  h.seq.close();
});

test('a new epoch: resync, then delivery goes on in the new numbering; late old-epoch messages are ignored', async () => {
  const h = harness();
  await h.seq.catchUp();
  offer(h.seq, 1, 2);
  h.seq.offer(msg(3, 'e2'));
  h.seq.offer(msg(4, 'e2'));
  h.seq.offer(msg(3, 'e1'));
  await until(() => h.seq.lastApplied === 4, 'e2:4');
  assert.deepEqual(h.events, ['e1:1', 'e1:2', 'resync:new epoch', 'e2:3', 'e2:4']);
  assert.equal(h.seq.epoch, 'e2');
  const stats = h.seq.stats();
  assert.equal(stats.resyncs, 1);
  assert.equal(stats.duplicates, 1);
  assert.equal(h.seq.state, 'in-sync');
  h.seq.close();
});

test('catchUp after a disconnect delivers the missed ones in order: down → replaying → in-sync', async () => {
  const h = harness();
  await h.seq.catchUp();
  h.log.push(msg(1));
  offer(h.seq, 1);
  h.seq.disconnected();
  assert.equal(h.seq.state, 'down');
  h.log.push(msg(2), msg(3), msg(4));
  await h.seq.catchUp();
  assert.deepEqual(h.delivered, [1, 2, 3, 4]);
  assert.equal(h.seq.lastApplied, 4);
  assert.deepEqual(h.replays, [[1, Infinity], [2, Infinity]]);
  assert.deepEqual(h.states, ['replaying', 'in-sync', 'down', 'replaying', 'in-sync']);
  assert.equal(h.seq.stats().replayed, 3);
  h.seq.close();
});

test('catchUp skips what the live channel already brought, and a trimmed log means resync', async () => {
  const h = harness();
  h.log.push(msg(1), msg(2), msg(3));
  offer(h.seq, 2, 3); // subscribed to the live channel before reading the log
  await h.seq.catchUp();
  assert.deepEqual(h.delivered, [1, 2, 3]);
  assert.equal(h.seq.stats().duplicates, 0);
  h.seq.disconnected();
  h.oldestKept = 10;
  await h.seq.catchUp();
  assert.deepEqual(h.events.at(-1), 'resync:replay log trimmed');
  assert.equal(h.seq.state, 'in-sync');
  h.seq.close();
});

test('catchUp rethrows a replay error and the state stays down until a retry succeeds', async () => {
  let fail = true;
  const h = harness({
    replay: async () => {
      if (fail) throw new Error('redis is away');
      return [msg(1)];
    },
  });
  await assert.rejects(h.seq.catchUp(), /redis is away/);
  assert.equal(h.seq.state, 'down');
  fail = false;
  await h.seq.catchUp();
  assert.deepEqual(h.delivered, [1]);
  assert.deepEqual(h.states, ['replaying', 'down', 'replaying', 'in-sync']);
  h.seq.close();
});

test('deliveries never overlap, even when a slow async deliver is still running as more arrive', async () => {
  let active = 0;
  let maxActive = 0;
  const order: number[] = [];
  const h = harness({
    deliver: async (m) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(2);
      order.push(m.seq);
      active--;
    },
  });
  await h.seq.catchUp();
  offer(h.seq, 1, 2);
  await sleep(1);
  offer(h.seq, 4, 3, 5);
  await sleep(3);
  offer(h.seq, 6, 7, 6);
  await until(() => h.seq.lastApplied === 7, 'seq 7');
  assert.deepEqual(order, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(maxActive, 1);
  h.seq.close();
});

test('a deliver that throws or rejects is counted, and the sequencer goes on', async () => {
  const attempted: number[] = [];
  const h = harness({
    deliver: (m) => {
      attempted.push(m.seq);
      if (m.seq === 2) throw new Error('sync fault');
      if (m.seq === 3) return Promise.reject(new Error('async fault'));
      return undefined;
    },
  });
  await h.seq.catchUp();
  offer(h.seq, 1, 2, 3, 4);
  await until(() => h.seq.lastApplied === 4, 'seq 4');
  assert.deepEqual(attempted, [1, 2, 3, 4]);
  const stats = h.seq.stats();
  assert.equal(stats.applied, 4);
  assert.equal(stats.deliveryErrors, 2);
  h.seq.close();
});

test('too many out-of-order messages: resync past all of them', async () => {
  const h = harness();
  await h.seq.catchUp();
  offer(h.seq, 1);
  for (let seq = 3; seq <= MAX_BUFFERED + 3; seq++) offer(h.seq, seq);
  await until(() => h.seq.stats().resyncs === 1, 'the resync');
  await until(() => h.seq.lastApplied === MAX_BUFFERED + 3, 'the skip');
  assert.deepEqual(h.events, ['e1:1', 'resync:too many out-of-order messages']);
  h.seq.close();
});

test('close clears the gap timer: no replay afterwards', async () => {
  const h = harness();
  await h.seq.catchUp();
  offer(h.seq, 1, 3);
  h.seq.close();
  await sleep(GAP_MS * 4);
  assert.deepEqual(h.replays, [[1, Infinity]]);
});

test('after a trimmed catch-up, the next live message is the new starting point: delivered, one resync only', async () => {
  const h = harness();
  h.seq.offer(msg(1));
  await until(() => h.delivered.length === 1, 'the first delivery');
  h.seq.disconnected();
  // While the edge was away, 500 messages came and the log kept only the last 10.
  h.log = Array.from({ length: 10 }, (_, i) => msg(491 + i));
  h.oldestKept = 491;
  await h.seq.catchUp();
  h.seq.offer(msg(501));
  h.seq.offer(msg(502));
  await until(() => h.delivered.includes(502), 'the live messages after the resync');
  assert.deepEqual(h.events, ['e1:1', 'resync:replay log trimmed', 'e1:501', 'e1:502']);
  assert.equal(h.seq.stats().resyncs, 1);
  assert.equal(h.seq.state, 'in-sync');
  h.seq.close();
});
