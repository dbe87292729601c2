// In-order, exactly-once delivery on top of an unreliable live channel. Live messages may arrive
// twice, late or never; the replay log fills holes. Everything that reaches the subscriber goes
// through one queue, worked by one loop: deliveries never overlap and never reorder, and a resync
// is reported in its place among them. A hole that cannot be filled becomes a resync: the edge
// treats its whole cache as stale and numbering goes on from the highest sequence number known.
import { findRegression, RecentApplied } from './regression.js';
import type { RedisHistory } from './regression.js';
import type { BusState, DeliveryCounts, Invalidation } from './types.js';

export interface SequencerOptions {
  /** Deliver seq > startAfter only (the newest seq at subscribe time). */
  startAfter: number;
  /** The epoch at subscribe time (undefined: adopt the first one seen). */
  epoch: string | undefined;
  gapWaitMs: number;
  deliver: (message: Invalidation) => void | Promise<void>;
  /**
   * Reads the replay log: the messages with fromSeq <= seq <= toSeq that it still holds, in order;
   * 'trimmed' when the log no longer reaches back to fromSeq. toSeq may be Infinity.
   */
  replay: (fromSeq: number, toSeq: number) => Promise<Invalidation[] | 'trimmed'>;
  onResync: (reason: string) => void;
  onState: (state: BusState) => void;
}

export interface SequencerStats extends DeliveryCounts {
  /** Deliveries that threw (they still count as applied). */
  deliveryErrors: number;
}

/** Out-of-order messages held while a hole is open; beyond this, resync. */
export const MAX_BUFFERED = 10_000;
/** The second wait for a hole is this many gap waits (a publisher may hold a number not yet written). */
const SECOND_WAIT_FACTOR = 10;
/** Epochs left behind, remembered so that a late message from one is not taken for a new epoch. */
const RETIRED_EPOCHS = 16;

type Step = { message: Invalidation } | { resync: string; seq: number };

export class Sequencer {
  private readonly options: SequencerOptions;
  private followed: string | undefined;
  private readonly retired: string[] = [];
  /** Highest seq taken into the queue (or skipped by a resync): the dedupe line. */
  private frontier: number;
  private applied: number;
  /** Messages above frontier + 1, waiting for the hole below them. */
  private readonly buffer = new Map<number, Invalidation>();
  /**
   * Set by a resync after the replay log was trimmed: where the log's head is, is not known.
   * Every message published after the subscription arrives live and in order, and everything
   * before is covered by the resync, so the next live message becomes the starting point
   * (rather than opening a hole whose replay is sure to come back trimmed again).
   */
  private headUnknown = false;
  private highestBuffered = 0;
  private readonly queue: Step[] = [];
  private working = false;
  private idleWaiters: (() => void)[] = [];
  private link: 'connecting' | 'catching-up' | 'up' | 'down' = 'connecting';
  private linkGeneration = 0;
  /** Bumped whenever a running gap cycle must stop (resync, new epoch, link change, close). */
  private generation = 0;
  private cycleGeneration = -1;
  private timer: NodeJS.Timeout | undefined;
  private reported: BusState = 'connecting';
  private closed = false;
  /** The newest (seq, id) pairs taken in: a known seq with another id means the history went backwards. */
  private readonly recent = new RecentApplied();
  /** Bumped whenever the history taken in changes (a message taken in, a resync). */
  private changeCount = 0;
  private readonly counts: SequencerStats = {
    received: 0, applied: 0, duplicates: 0, replayed: 0, gaps: 0, resyncs: 0, deliveryErrors: 0,
  };

  constructor(options: SequencerOptions) {
    this.options = options;
    this.followed = options.epoch;
    this.frontier = options.startAfter;
    this.applied = options.startAfter;
  }

  /** Highest seq delivered in order (or skipped past by a resync). */
  get lastApplied(): number {
    return this.applied;
  }

  /** The epoch being followed, once known. */
  get epoch(): string | undefined {
    return this.followed;
  }

  get state(): BusState {
    return this.reported;
  }

  stats(): SequencerStats {
    return { ...this.counts };
  }

  /** A message from the live channel (already verified). */
  offer(message: Invalidation): void {
    if (this.closed) return;
    this.counts.received++;
    this.accept(message, false);
    this.startGapCycle();
    this.updateState();
  }

  /** The lowest seq whose message id is remembered (the regression check reads Redis's log down to it). */
  oldestRemembered(): number {
    return this.recent.oldest() ?? this.frontier;
  }

  /** Changes whenever a message is taken in or a resync happens: Redis's history read before a change may be stale. */
  get changes(): number {
    return this.changeCount;
  }

  /**
   * After a reconnect, with Redis's counter and newest log entries of `epoch`, read on the
   * command connection: a history behind this edge's (a fail-over promoted a replica that lacks
   * the newest messages) is a resync ('sequence regression'), and numbering follows Redis's.
   * True when it was one. Another epoch is not this check's business (catchUp handles it).
   */
  checkRegression(epoch: string, redis: RedisHistory): boolean {
    if (this.closed || epoch !== this.followed) return false;
    const resumeAfter = findRegression(this.recent, this.frontier, redis);
    if (resumeAfter === undefined) return false;
    this.regressed(resumeAfter);
    return true;
  }

  /** After (re)connecting: fetch and deliver everything newer than lastApplied. Rethrows replay's errors (state 'down'). */
  async catchUp(): Promise<void> {
    if (this.closed) return;
    const link = ++this.linkGeneration;
    this.cancelGapCycle();
    this.link = 'catching-up';
    this.updateState();
    let result: Invalidation[] | 'trimmed';
    try {
      result = await this.options.replay(this.frontier + 1, Infinity);
    } catch (err) {
      if (link === this.linkGeneration) {
        this.link = 'down';
        this.updateState();
      }
      throw err;
    }
    if (link !== this.linkGeneration) return; // disconnected or closed meanwhile
    if (result === 'trimmed') this.resyncTrimmed();
    else for (const message of result) this.accept(message, true);
    await this.whenIdle();
    if (link !== this.linkGeneration) return;
    this.link = 'up';
    this.startGapCycle();
    this.updateState();
  }

  /** The live channel dropped: state 'down' until catchUp(). */
  disconnected(): void {
    if (this.closed) return;
    this.linkGeneration++;
    this.cancelGapCycle();
    this.link = 'down';
    this.updateState();
  }

  /** Clears timers; nothing is delivered after the delivery under way. */
  close(): void {
    this.closed = true;
    this.linkGeneration++;
    this.cancelGapCycle();
  }

  /** Takes one message in: duplicate, next in line, or held above a hole. */
  private accept(message: Invalidation, fromReplay: boolean): void {
    if (this.followed === undefined) {
      this.followed = message.epoch;
    } else if (message.epoch !== this.followed) {
      if (this.retired.includes(message.epoch)) {
        if (!fromReplay) this.counts.duplicates++; // late, from a bus state already left behind
        return;
      }
      this.retired.push(this.followed);
      if (this.retired.length > RETIRED_EPOCHS) this.retired.shift();
      this.followed = message.epoch;
      this.recent.clear();
      this.resync('new epoch', message.seq - 1);
    }
    const seq = message.seq;
    // A number already taken in, carrying another message: the history went backwards.
    if (!fromReplay && seq <= this.frontier && this.recent.idAt(seq) !== undefined && this.recent.idAt(seq) !== message.id) this.regressed(seq - 1);
    if (this.headUnknown && !fromReplay) {
      this.headUnknown = false;
      if (seq > this.frontier + 1) this.frontier = seq - 1;
    }
    if (seq <= this.frontier || this.buffer.has(seq)) {
      if (!fromReplay) this.counts.duplicates++;
      return;
    }
    if (fromReplay) this.counts.replayed++;
    if (seq === this.frontier + 1) {
      this.enqueue(message);
      for (let next = this.buffer.get(this.frontier + 1); next !== undefined; next = this.buffer.get(this.frontier + 1)) {
        this.buffer.delete(next.seq);
        this.enqueue(next);
      }
      return;
    }
    if (this.buffer.size >= MAX_BUFFERED) {
      this.resync('too many out-of-order messages', Math.max(seq, this.highestKnown()));
      return;
    }
    const top = this.buffer.size > 0 ? this.highestBuffered : this.frontier;
    if (seq > top + 1) this.counts.gaps++; // a new hole opens above everything known
    this.buffer.set(seq, message);
    if (seq > top) this.highestBuffered = seq;
  }

  private enqueue(message: Invalidation): void {
    this.frontier = message.seq;
    this.recent.record(message.seq, message.id);
    this.changeCount++;
    this.queue.push({ message });
    this.kick();
  }

  private kick(): void {
    if (this.working) return;
    this.working = true;
    void this.work();
  }

  /**
   * Skips the holes: the subscriber is told once (in its place among the deliveries), numbering
   * goes on from `to`, and buffered messages are dropped, not delivered.
   */
  private resync(reason: string, to: number): void {
    this.counts.resyncs++;
    this.changeCount++;
    this.cancelGapCycle();
    this.buffer.clear();
    this.frontier = to;
    this.queue.push({ resync: reason, seq: to });
    this.kick();
  }

  /** The history after `to` was replaced: resync, and take Redis's messages after `to` as new. */
  private regressed(to: number): void {
    this.recent.dropAbove(to);
    this.headUnknown = false;
    this.resync('sequence regression', to);
  }

  private resyncTrimmed(): void {
    this.resync('replay log trimmed', this.highestKnown());
    this.headUnknown = true;
  }

  /** The highest seq known: taken in, or held in the buffer. */
  private highestKnown(): number {
    return this.buffer.size > 0 ? Math.max(this.frontier, this.highestBuffered) : this.frontier;
  }

  /** The one loop that delivers: one step at a time, in queue order. */
  private async work(): Promise<void> {
    await Promise.resolve(); // the caller finishes its bookkeeping before the first delivery
    while (!this.closed) {
      const step = this.queue.shift();
      if (step === undefined) break;
      if ('resync' in step) {
        this.applied = step.seq;
        try {
          this.options.onResync(step.resync);
        } catch {
          // The subscriber's fault; the order of what follows must not suffer from it.
        }
        continue;
      }
      try {
        await this.options.deliver(step.message);
      } catch {
        this.counts.deliveryErrors++;
      }
      this.counts.applied++;
      this.applied = step.message.seq;
    }
    this.working = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private whenIdle(): Promise<void> {
    if (!this.working) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startGapCycle(): void {
    if (this.cycleGeneration === this.generation || this.link !== 'up' || this.closed || this.buffer.size === 0) return;
    this.cycleGeneration = this.generation;
    void this.fillHoles(this.generation);
  }

  private cancelGapCycle(): void {
    this.generation++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One gap cycle: wait, replay the missing range, deliver what came back. A range that is still
   * missing after its second replay (the second after a longer wait) becomes a resync.
   */
  private async fillHoles(generation: number): Promise<void> {
    let replayedUpTo = 0; // the top of the range replayed once already
    let waitMs = this.options.gapWaitMs;
    while (generation === this.generation && this.buffer.size > 0) {
      await this.sleep(waitMs); // never resolves if the cycle is cancelled meanwhile
      if (generation !== this.generation || this.buffer.size === 0) break;
      const from = this.frontier + 1;
      const to = this.highestBuffered - 1;
      let result: Invalidation[] | 'trimmed' | undefined;
      try {
        result = await this.options.replay(from, to);
      } catch {
        result = undefined; // counts as a replay that brought nothing
      }
      if (generation !== this.generation) return;
      if (result === 'trimmed') {
        this.resyncTrimmed();
        break;
      }
      for (const message of result ?? []) this.accept(message, true);
      if (generation !== this.generation || this.buffer.size === 0) break;
      if (this.frontier + 1 <= replayedUpTo) {
        this.resync(`sequence number ${this.frontier + 1} never arrived`, this.highestKnown());
        break;
      }
      replayedUpTo = to;
      waitMs = this.options.gapWaitMs * SECOND_WAIT_FACTOR;
    }
    if (generation === this.generation) this.cycleGeneration = -1;
    this.updateState();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        resolve();
      }, ms);
    });
  }

  private updateState(): void {
    if (this.closed) return;
    let state: BusState;
    if (this.link === 'connecting' || this.link === 'down') state = this.link;
    else if (this.link === 'catching-up' || this.buffer.size > 0) state = 'replaying';
    else state = 'in-sync';
    if (state === this.reported) return;
    this.reported = state;
    try {
      this.options.onState(state);
    } catch {
      // A listener's fault must not stop delivery.
    }
  }
}
