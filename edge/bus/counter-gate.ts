// Epochs and sequence numbers are Redis's to give, not the message's to claim. A verified
// message only proves it was signed with the secret; whoever holds the secret (another
// namespace, a publisher of an old epoch, anyone who captured a message) could otherwise move an
// edge to another epoch or far past the real counter, after which every real purge is dropped as
// a duplicate while the bus says 'in-sync'. The gate stands between the live channel and the
// Sequencer: a message passes only when the epoch and counter read from the bus's own state (GET
// of the epoch key and the counter over the command connection; the hub in process) show that
// the bus numbered it. The script that numbers a message sets the counter before it PUBLISHes,
// so a read issued after a message arrived always covers a real one.
import type { Invalidation } from './types.js';

/** The bus's own state: its epoch (null when it has none, e.g. Redis just restarted empty) and counter. */
export interface CounterView {
  epoch: string | null;
  head: number;
}

export interface GateCounts {
  /** Verified messages of an epoch other than the one the bus's state reports: dropped. */
  foreignEpoch: number;
  /** Verified messages numbered beyond the bus's counter: dropped. */
  aheadOfCounter: number;
  /** Reads of the bus's state that failed (each is retried while messages wait). */
  counterReadFailures: number;
}

export interface CounterGateOptions {
  /** Reads the epoch and the counter from the bus's own state. */
  read: () => Promise<CounterView>;
  /** A message the bus numbered, in arrival order. */
  pass: (message: Invalidation) => void;
  /**
   * The gate started or stopped waiting on a read that failed or has not answered within
   * stallAfterMs (the caller reports the bus not in sync meanwhile: a real purge may be waiting).
   */
  onStalled: (stalled: boolean) => void;
  /** A read unanswered this long stalls the gate until it answers. */
  stallAfterMs: number;
  /** Pause before a failed read is tried again (attempt counts from 0). */
  backoffMs: (attempt: number) => number;
}

/** Messages waiting for a read; beyond this the newest is dropped (the Sequencer's replay brings a real one back). */
export const MAX_WAITING = 10_000;

interface Waiting {
  message: Invalidation;
  /** Reads started before this message arrived: only a later one may refuse it. */
  readsBefore: number;
}

export class CounterGate {
  private readonly options: CounterGateOptions;
  private view: CounterView | undefined;
  /** Number of the read the view came from (reads are numbered from 1 as they start). */
  private viewRead = 0;
  private readsStarted = 0;
  private reading = false;
  private stalled = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private slowRead: NodeJS.Timeout | undefined;
  private readonly waiting: Waiting[] = [];
  private readonly counts: GateCounts = { foreignEpoch: 0, aheadOfCounter: 0, counterReadFailures: 0 };

  constructor(options: CounterGateOptions) {
    this.options = options;
  }

  /** True while messages wait on a read that failed: callbacks may be missing right now. */
  get isStalled(): boolean {
    return this.stalled;
  }

  stats(): GateCounts {
    return { ...this.counts };
  }

  /** A verified message from the live channel. */
  offer(message: Invalidation): void {
    if (this.closed) return;
    if (this.waiting.length >= MAX_WAITING) return;
    this.waiting.push({ message, readsBefore: this.readsStarted });
    this.drain();
  }

  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    clearTimeout(this.timer);
    clearTimeout(this.slowRead);
    this.timer = undefined;
    this.slowRead = undefined;
  }

  /** Passes or drops waiting messages in arrival order; starts a read when the first one needs it. */
  private drain(): void {
    while (!this.closed) {
      const first = this.waiting[0];
      if (first === undefined) return;
      const verdict = this.judge(first);
      if (verdict === 'read') {
        this.startRead(0);
        return;
      }
      this.waiting.shift();
      if (verdict === 'pass') this.options.pass(first.message);
      else this.counts[verdict]++;
    }
  }

  private judge(entry: Waiting): 'pass' | 'read' | 'foreignEpoch' | 'aheadOfCounter' {
    const { message } = entry;
    const view = this.view;
    // The counter only grows within an epoch: a number it has reached was really given out.
    if (view !== undefined && message.epoch === view.epoch && message.seq <= view.head) return 'pass';
    // Refusing takes a read that started after the message arrived: an older one may predate it.
    if (view === undefined || this.viewRead <= entry.readsBefore) return 'read';
    return message.epoch !== view.epoch ? 'foreignEpoch' : 'aheadOfCounter';
  }

  private startRead(attempt: number): void {
    if (this.reading || this.closed) return;
    this.reading = true;
    const readNumber = ++this.readsStarted;
    this.slowRead = setTimeout(() => this.setStalled(true), this.options.stallAfterMs);
    const answered = (): void => {
      this.reading = false;
      clearTimeout(this.slowRead);
      this.slowRead = undefined;
    };
    this.options.read().then(
      (view) => {
        answered();
        if (this.closed) return;
        this.adopt(view, readNumber);
        this.setStalled(false);
        this.drain();
      },
      () => {
        answered();
        if (this.closed) return;
        this.counts.counterReadFailures++;
        this.setStalled(true);
        // Messages keep waiting (never dropped for want of a read): try again after a pause.
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.startRead(attempt + 1);
        }, this.options.backoffMs(attempt));
      },
    );
  }

  /** Keeps the newest view; a reply that overtook a later read's is not allowed to win. */
  private adopt(view: CounterView, readNumber: number): void {
    if (readNumber < this.viewRead) return;
    this.view = view;
    this.viewRead = readNumber;
  }

  private setStalled(stalled: boolean): void {
    if (stalled === this.stalled) return;
    this.stalled = stalled;
    try {
      this.options.onStalled(stalled);
    } catch {
      // The listener's fault.
    }
  }
}
