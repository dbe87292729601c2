// One origin's health, from two sources:
// - passive ejection: connection-level failures of real requests (refused, reset, timeouts,
//   invalid HTTP; never HTTP statuses). `failures` of them within `windowMs` eject the origin for
//   `ejectMs`. Then it is half-open: it takes one request at a time until one succeeds (back in
//   rotation) or one fails (ejected again).
// - active checks: a GET of a health path every `intervalMs`, on a dispatcher of its own so a
//   check never waits in the data pool's queue and never outlives `timeoutMs`. Any answer below
//   500 is a success: an origin that answers 404 (no health path, as most origins) is up; a 5xx
//   (503 while draining), a timeout or no answer is a failure. `unhealthyAfter` failures in a
//   row mark the origin unhealthy, `healthyAfter`
//   successes in a row bring it back. A check sends the origin's hostHeader as Host when it has
//   one (a name-based virtual host answers it like the real requests), else the origin's authority.
import { Agent, request } from 'undici';

export interface PassiveEjectionOptions {
  failures: number;
  windowMs: number;
  ejectMs: number;
}

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyAfter: number;
  unhealthyAfter: number;
}

export class OriginHealth {
  /** The active checks' verdict (true while no checks run). */
  healthy = true;
  private readonly passive: PassiveEjectionOptions;
  private failureTimes: number[] = [];
  /** Set at ejection, cleared by the first success after it. */
  private suspended = false;
  private ejectedUntil = 0;
  /** A half-open trial request is under way. */
  private probing = false;
  private okStreak = 0;
  private failStreak = 0;

  constructor(passive: PassiveEjectionOptions) {
    this.passive = passive;
  }

  /** When the ejection ends, while it lasts. */
  ejectedUntilMs(now: number): number | undefined {
    return this.suspended && now < this.ejectedUntil ? this.ejectedUntil : undefined;
  }

  /** Healthy and not ejected (a half-open origin counts as up). */
  up(now: number): boolean {
    return this.healthy && this.ejectedUntilMs(now) === undefined;
  }

  /** May take traffic: healthy, not ejected, and not a half-open origin already on trial. */
  available(now: number): boolean {
    if (!this.healthy || !this.suspended) return this.healthy;
    return now >= this.ejectedUntil && !this.probing;
  }

  /** An attempt starts; true when it is the half-open trial (pass it back with the outcome). */
  beginAttempt(now: number): boolean {
    if (!this.suspended || now < this.ejectedUntil || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The origin answered (any status). */
  recordSuccess(probe: boolean): void {
    if (probe) this.probing = false;
    this.suspended = false;
    this.ejectedUntil = 0;
  }

  /** A connection-level failure; returns true when it ejected the origin. */
  recordFailure(now: number, probe: boolean): boolean {
    if (probe) this.probing = false;
    if (this.suspended) {
      // Half-open (or tried anyway while ejected): one failure is enough.
      this.ejectedUntil = now + this.passive.ejectMs;
      return true;
    }
    const since = now - this.passive.windowMs;
    this.failureTimes = this.failureTimes.filter((t) => t > since);
    this.failureTimes.push(now);
    if (this.failureTimes.length < this.passive.failures) return false;
    this.failureTimes = [];
    this.suspended = true;
    this.ejectedUntil = now + this.passive.ejectMs;
    return true;
  }

  /** An attempt that says nothing about the origin (the client went away, a local fault). */
  recordNeutral(probe: boolean): void {
    if (probe) this.probing = false;
  }

  /** One active check's result. */
  recordCheck(ok: boolean, options: Pick<HealthCheckOptions, 'healthyAfter' | 'unhealthyAfter'>): void {
    if (ok) {
      this.failStreak = 0;
      this.okStreak++;
      if (!this.healthy && this.okStreak >= options.healthyAfter) this.healthy = true;
    } else {
      this.okStreak = 0;
      this.failStreak++;
      if (this.healthy && this.failStreak >= options.unhealthyAfter) this.healthy = false;
    }
  }
}

export interface HealthTarget {
  /** Scheme, host and port of the origin. */
  origin: string;
  /** The origin's hostHeader; without one, the check's Host is the origin's own authority. */
  host?: string | undefined;
  health: OriginHealth;
}

/** Runs the active checks of every origin: one check at a time per origin, timers unref'd. */
export class ActiveHealthChecks {
  private readonly targets: readonly HealthTarget[];
  private readonly options: HealthCheckOptions;
  private readonly agent: Agent;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<HealthTarget>();
  private stopped = false;

  constructor(targets: readonly HealthTarget[], options: HealthCheckOptions) {
    this.targets = targets;
    this.options = options;
    this.agent = new Agent({
      connections: 1,
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: Math.max(1_000, options.intervalMs * 2),
    });
  }

  start(): void {
    if (this.stopped || this.timers.length > 0) return;
    for (const target of this.targets) {
      this.check(target);
      const timer = setInterval(() => this.check(target), this.options.intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await this.agent.destroy().catch(() => undefined);
  }

  private check(target: HealthTarget): void {
    if (this.stopped || this.running.has(target)) return;
    this.running.add(target);
    void this.probe(target.origin, target.host).then((ok) => {
      this.running.delete(target);
      if (!this.stopped) target.health.recordCheck(ok, this.options);
    });
  }

  /** One GET of the health path; never rejects, never lasts past timeoutMs. */
  private async probe(origin: string, host: string | undefined): Promise<boolean> {
    try {
      const path = this.options.path.startsWith('/') ? this.options.path : `/${this.options.path}`;
      const res = await request(origin + path, {
        method: 'GET',
        dispatcher: this.agent,
        headers: host === undefined ? { 'user-agent': 'mini-cdn-health-check' } : { 'user-agent': 'mini-cdn-health-check', host },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.body.dump();
      // The origin answered HTTP and did not say it is failing (5xx): it is up.
      return res.statusCode < 500;
    } catch {
      return false;
    }
  }
}
