// An edge's lease, kept by its own monotonic clock. Every leaseRenewMs one renewal round runs
// (the bus renews the lease in the registry, then proves its subscriber link); the lease runs
// until (when the last successful round was SENT) + leaseMs - leaseMarginMs. The registry's expiry
// is computed when the renewal executes, after it was sent, so it outlasts the edge's own deadline
// by at least the margin. A link with no successful round for leaseMs is dead: onDead() fires
// (the bus tears its connections down), and again every leaseMs while it stays dead.
import { performance } from 'node:perf_hooks';

export interface LeaseTiming {
  leaseRenewMs: number;
  leaseMs: number;
  leaseMarginMs: number;
}

export interface LeaseKeeperStats {
  renewals: number;
  failures: number;
  deaths: number;
}

export class LeaseKeeper {
  private readonly timing: LeaseTiming;
  private readonly round: () => Promise<void>;
  private readonly onDead: () => void;
  /** Send time of the last round that succeeded; -Infinity: no lease. */
  private sentAt = -Infinity;
  private inFlight = false;
  /** Bumped by invalidate() and stop(): a round sent before must not revive the lease. */
  private generation = 0;
  private ticker: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private running = false;
  readonly counts: LeaseKeeperStats = { renewals: 0, failures: 0, deaths: 0 };

  constructor(timing: LeaseTiming, round: () => Promise<void>, onDead: () => void) {
    this.timing = timing;
    this.round = round;
    this.onDead = onDead;
  }

  get started(): boolean {
    return this.running;
  }

  /** Starts renewing: one round at once, then every leaseRenewMs. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.armWatchdog(performance.now());
    this.ticker = setInterval(() => this.tick(), this.timing.leaseRenewMs);
    this.ticker.unref();
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.invalidate();
    clearInterval(this.ticker);
    clearTimeout(this.watchdog);
    this.ticker = undefined;
    this.watchdog = undefined;
  }

  /** Forgets the lease at once (a dead link): only a round sent from now on renews it. */
  invalidate(): void {
    this.generation++;
    this.sentAt = -Infinity;
  }

  /** ms the lease still runs by this process's monotonic clock (0 when none). */
  remainingMs(): number {
    return Math.max(0, this.sentAt + this.timing.leaseMs - this.timing.leaseMarginMs - performance.now());
  }

  valid(): boolean {
    return this.remainingMs() > 0;
  }

  private tick(): void {
    if (!this.running || this.inFlight) return;
    this.inFlight = true;
    const generation = this.generation;
    const sentAt = performance.now();
    // A round that hangs past the lease is a failed one (its commands time out on their own too).
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timing.leaseMs} ms`)), this.timing.leaseMs);
    });
    Promise.race([this.round(), bounded])
      .then(
        () => {
          if (!this.running || generation !== this.generation) return;
          this.counts.renewals++;
          this.sentAt = Math.max(this.sentAt, sentAt);
          this.armWatchdog(sentAt);
        },
        () => void this.counts.failures++,
      )
      .finally(() => {
        clearTimeout(timer);
        this.inFlight = false;
      });
  }

  /** The link is dead if no round sent after `from` succeeds within leaseMs of it. */
  private armWatchdog(from: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (!this.running) return;
      this.counts.deaths++;
      this.invalidate();
      try {
        this.onDead();
      } catch {
        // The bus's fault; the watchdog must go on.
      }
      this.armWatchdog(performance.now());
    }, Math.max(0, from + this.timing.leaseMs - performance.now()));
    this.watchdog.unref();
  }
}
