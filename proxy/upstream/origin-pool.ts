// Several origins behind one `request()`: the same surface as OriginClient (request, stats,
// close), so the engine can hold either. Each origin keeps its own OriginClient (undici pool,
// timeouts, error classification); the pool adds balancing (balancer.ts), fail-over to another
// origin, passive ejection and active health checks (health.ts).
//
// Fail-over rules. A failure where nothing reached the origin (refused, unreachable, connect
// timeout) is tried on another origin for any method, as long as the request body has not started
// streaming. A failure after the request may have reached the origin (reset, invalid HTTP) is
// tried again only for idempotent methods without a body. A headers timeout is never tried again,
// for any method: the origin got the request and is working on it (or is stuck), so another
// attempt would double its load and make the client wait a multiple of the timeout; the client's
// wait is bounded by one headersTimeoutMs. A response, whatever its status, is returned as is. At
// most 1 + retries.attempts attempts, each on an origin not tried yet while there is one, with
// backoffMs between them.
//
// Every origin down. Once an attempt has failed at the connection level and every origin is
// ejected or unhealthy, one request at a time (the prober) still tries them as above; the others
// fail at once with the answer the prober is heading for (MCDN_NO_HEALTHY_ORIGIN), instead of
// each paying refused connects, error objects and a backoff timer. The first answer ends it.
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { MiniCdnError } from '../../common/errors.js';
import { Balancer } from './balancer.js';
import type { Balancing, BalancerMember } from './balancer.js';
import { ActiveHealthChecks, OriginHealth } from './health.js';
import type { HealthCheckOptions, PassiveEjectionOptions } from './health.js';
import { OriginClient, classifyUpstreamError } from './origin-client.js';
import type { OriginClientOptions, UpstreamRequest, UpstreamResponse } from './origin-client.js';

export interface PoolOrigin {
  url: string;
  weight: number;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  maxConnections?: number;
  /** Host sent to this origin (and its health checks) instead of the client's; null or absent: the client's. */
  hostHeader?: string | null;
}

export interface OriginPoolOptions {
  /** At least one. */
  origins: PoolOrigin[];
  balancing: Balancing;
  healthCheck: HealthCheckOptions | false;
  passiveEjection: PassiveEjectionOptions;
  /** Extra attempts after the first, on other origins when possible. */
  retries: { attempts: number; backoffMs: number };
  /** Defaults for each origin's client; PoolOrigin.timeouts and maxConnections override them. */
  client: Omit<OriginClientOptions, 'origin' | 'connectTimeoutMs' | 'headersTimeoutMs' | 'bodyTimeoutMs' | 'connections'> & {
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    connections: number;
  };
}

/** What the engine needs from its upstream: an OriginClient and an OriginPool both fit. */
export type Upstream = Pick<OriginClient, 'request' | 'stats' | 'close'>;

export interface OriginStats {
  url: string;
  /** The active checks' verdict (always true without checks). */
  healthy: boolean;
  /** Present while passively ejected. */
  ejectedUntilMs?: number;
  inFlight: number;
  /** Attempts sent to this origin. */
  requests: number;
  /** Connection-level failures of those attempts. */
  failures: number;
  /** Moving average of the time to response headers. */
  latencyMs?: number;
}

export interface OriginPoolStats {
  connected: number;
  running: number;
  pending: number;
  /** Requests refused without an attempt while every origin was down (see the rules above). */
  failedFast: number;
  origins: OriginStats[];
}

interface Member {
  url: string;
  weight: number;
  client: OriginClient;
  health: OriginHealth;
  inFlight: number;
  requests: number;
  failures: number;
  latencyMs?: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Underlying causes that mean no byte of the request reached the origin. */
const NOTHING_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const LATENCY_WEIGHT = 0.3;

/**
 * How an attempt failed, as far as trying elsewhere is concerned. 'awaited': the origin took the
 * request and sent no headers in time; like the other two (and unlike 'other') it counts against
 * the origin's health, but it is never sent again.
 */
export type FailureKind = 'nothing-sent' | 'maybe-sent' | 'awaited' | 'other';

export function failureKind(err: MiniCdnError): FailureKind {
  const cause = (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof cause === 'string' && NOTHING_SENT.has(cause)) return 'nothing-sent';
  if (cause === 'UND_ERR_HEADERS_TIMEOUT') return 'awaited';
  if (err.code === 'MCDN_UPSTREAM_CONNECT' || err.code === 'MCDN_UPSTREAM_TIMEOUT' || err.code === 'MCDN_UPSTREAM_PROTOCOL') return 'maybe-sent';
  return 'other';
}

/** Whether a request that failed this way may be sent again (to another origin). */
export function mayResend(req: Pick<UpstreamRequest, 'method' | 'body'>, kind: FailureKind): boolean {
  if (kind === 'nothing-sent') return bodyUntouched(req.body);
  if (kind === 'maybe-sent') return IDEMPOTENT.has(req.method) && !req.body;
  return false;
}

function bodyUntouched(body: Readable | null | undefined): boolean {
  return !body || (!body.readableDidRead && !body.destroyed && !body.readableEnded);
}

/**
 * The request body as one attempt hands it to undici. undici destroys a body stream when the
 * request fails, even when it never read from it (a refused connection); this wrapper reads the
 * caller's stream only once undici reads, so an attempt that sent nothing leaves it untouched for
 * the next origin. Once started, it passes data, end, errors and destruction through.
 */
class AttemptBody extends Readable {
  started = false;
  private readonly source: Readable;
  private readonly onData = (chunk: unknown): void => {
    if (!this.push(chunk)) this.source.pause();
  };
  private readonly onEnd = (): void => {
    this.push(null);
  };
  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  constructor(source: Readable) {
    super({ highWaterMark: source.readableHighWaterMark });
    this.source = source;
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.source.on('data', this.onData);
      this.source.once('end', this.onEnd);
      this.source.once('error', this.onError);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.started) {
      this.source.off('data', this.onData);
      this.source.off('end', this.onEnd);
      this.source.off('error', this.onError);
      if (!this.source.readableEnded) this.source.destroy(err ?? undefined);
    }
    callback(err);
  }
}

export class OriginPool {
  private readonly options: OriginPoolOptions;
  private readonly members: Member[];
  private readonly balancer: Balancer;
  private readonly views: BalancerMember[];
  private readonly checks: ActiveHealthChecks | undefined;
  private closed = false;
  /** The last connection-level failure, until an origin answers again. */
  private lastFailure: MiniCdnError | undefined;
  /** A request is trying the origins while every one is down. */
  private probing = false;
  private failedFast = 0;
  private fastError: MiniCdnError | undefined;

  constructor(options: OriginPoolOptions) {
    if (options.origins.length === 0) throw new RangeError('an origin pool needs at least one origin');
    for (const o of options.origins) {
      if (!(Number.isFinite(o.weight) && o.weight > 0)) throw new RangeError(`origin ${o.url}: weight must be a positive number`);
    }
    if (!(Number.isInteger(options.retries.attempts) && options.retries.attempts >= 0)) throw new RangeError('retries.attempts must be an integer ≥ 0');
    this.options = options;
    const defaults = options.client;
    this.members = options.origins.map((o) => {
      const client = new OriginClient({
        ...defaults,
        origin: o.url,
        connectTimeoutMs: o.timeouts?.connectMs ?? defaults.connectTimeoutMs,
        headersTimeoutMs: o.timeouts?.headersMs ?? defaults.headersTimeoutMs,
        bodyTimeoutMs: o.timeouts?.bodyMs ?? defaults.bodyTimeoutMs,
        connections: o.maxConnections ?? defaults.connections,
        ...(o.hostHeader ? { hostHeader: o.hostHeader } : {}),
      });
      return { url: client.origin, weight: o.weight, client, health: new OriginHealth(options.passiveEjection), inFlight: 0, requests: 0, failures: 0 };
    });
    this.balancer = new Balancer(options.balancing, this.members.length);
    this.views = this.members.map(() => ({ weight: 0, inFlight: 0, available: false }));
    this.checks = options.healthCheck ? new ActiveHealthChecks(this.members.map((m) => ({ origin: m.url, host: m.client.hostHeader, health: m.health })), options.healthCheck) : undefined;
  }

  /** Begins the active health checks, if configured. */
  start(): void {
    if (!this.closed) this.checks?.start();
  }

  /** Sends the request to one origin, failing over as allowed; rejects with a MiniCdnError. */
  request(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.lastFailure !== undefined && this.noneUp(Date.now())) {
      if (this.probing) {
        this.failedFast++;
        // One error per failure seen, shared by the requests refused after it: building one
        // (a stack trace) per request was a fifth of the cost of answering from a stale copy.
        if (this.fastError?.cause !== this.lastFailure) this.fastError = this.exhausted(this.lastFailure);
        return Promise.reject(this.fastError);
      }
      this.probing = true;
      const probe = this.dispatch(req);
      const done = (): void => {
        this.probing = false;
      };
      probe.then(done, done);
      return probe;
    }
    return this.dispatch(req);
  }

  private dispatch(req: UpstreamRequest): Promise<UpstreamResponse> {
    // The first attempt as a plain chain (most requests need no other); failures go on in retry().
    const choice = this.balancer.pick(this.view(Date.now()));
    if (!choice) return Promise.reject(this.exhausted(undefined));
    const body = req.body ? new AttemptBody(req.body) : undefined;
    return this.attempt(this.members[choice.index] as Member, req, body).catch((err: unknown) => this.retry(req, choice.index, body, err));
  }

  /** After a failed first attempt: more attempts while the failure allows sending again. */
  private async retry(req: UpstreamRequest, firstIndex: number, firstBody: AttemptBody | undefined, firstError: unknown): Promise<UpstreamResponse> {
    const { attempts, backoffMs } = this.options.retries;
    const tried = new Set<number>([firstIndex]);
    let last = classifyUpstreamError(firstError);
    if (req.signal?.aborted || firstBody?.started || !mayResend(req, failureKind(last))) throw last;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (backoffMs > 0) await delay(backoffMs, undefined, { signal: req.signal }).catch(() => undefined);
      if (req.signal?.aborted) throw last;
      if (tried.size === this.members.length) tried.clear();
      const choice = this.balancer.pick(this.view(Date.now()), tried);
      if (!choice) break;
      tried.add(choice.index);
      const body = req.body ? new AttemptBody(req.body) : undefined;
      try {
        return await this.attempt(this.members[choice.index] as Member, req, body);
      } catch (err) {
        last = classifyUpstreamError(err);
        if (req.signal?.aborted || body?.started || !mayResend(req, failureKind(last))) throw last;
      }
    }
    throw this.exhausted(last);
  }

  stats(): OriginPoolStats {
    const now = Date.now();
    let connected = 0;
    let running = 0;
    let pending = 0;
    const origins = this.members.map((m): OriginStats => {
      const s = m.client.stats();
      connected += s.connected;
      running += s.running;
      pending += s.pending;
      const ejectedUntilMs = m.health.ejectedUntilMs(now);
      return {
        url: m.url,
        healthy: m.health.healthy,
        ...(ejectedUntilMs !== undefined ? { ejectedUntilMs } : {}),
        inFlight: m.inFlight,
        requests: m.requests,
        failures: m.failures,
        ...(m.latencyMs !== undefined ? { latencyMs: Math.round(m.latencyMs * 10) / 10 } : {}),
      };
    });
    return { connected, running, pending, failedFast: this.failedFast, origins };
  }

  /** Stops the health checks and closes every origin's connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.checks?.stop();
    await Promise.all(this.members.map((m) => m.client.close()));
  }

  /** No origin may take traffic: every one ejected or unhealthy. */
  private noneUp(now: number): boolean {
    return this.members.every((m) => !m.health.up(now));
  }

  /** The members as the balancer sees them now (one array, refreshed in place per pick). */
  private view(now: number): BalancerMember[] {
    const views = this.views;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i] as Member;
      const v = views[i] as BalancerMember;
      v.weight = m.weight;
      v.inFlight = m.inFlight;
      v.available = m.health.available(now);
    }
    return views;
  }

  /**
   * One attempt on one origin, with its bookkeeping: in flight until the response body is done.
   * Rejects with a MiniCdnError; afterwards `body.started` tells whether undici began sending the
   * request body (then it cannot be sent again).
   */
  private attempt(member: Member, req: UpstreamRequest, body: AttemptBody | undefined): Promise<UpstreamResponse> {
    const probe = member.health.beginAttempt(Date.now());
    member.requests++;
    member.inFlight++;
    let sent: Promise<UpstreamResponse>;
    try {
      sent = member.client.request(body ? { method: req.method, path: req.path, headers: req.headers, body, signal: req.signal, onInfo: req.onInfo } : req);
    } catch (err) {
      sent = Promise.reject(err);
    }
    // A chain, not an async function: one promise and no extra turns on every origin request.
    return sent.then(
      (res) => this.answered(member, probe, res),
      (err: unknown) => {
        member.inFlight--;
        const error = classifyUpstreamError(err);
        if (!req.signal?.aborted && failureKind(error) !== 'other') {
          member.failures++;
          member.health.recordFailure(Date.now(), probe);
          this.lastFailure = error;
        } else {
          member.health.recordNeutral(probe);
        }
        throw error;
      },
    );
  }

  /** An attempt got its response: the origin is up, and the request is in flight until its body is done. */
  private answered(member: Member, probe: boolean, res: UpstreamResponse): UpstreamResponse {
    member.health.recordSuccess(probe);
    this.lastFailure = undefined;
    const sample = res.responseTimeMs - res.requestTimeMs;
    member.latencyMs = member.latencyMs === undefined ? sample : member.latencyMs + LATENCY_WEIGHT * (sample - member.latencyMs);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      member.inFlight--;
    };
    // 'end' comes before the consumer's own end handling (a reader's next pick sees it idle).
    // `on`, not `once`: finish runs once anyway, and once() wraps each listener.
    if (res.body.destroyed || res.body.readableEnded) finish();
    else res.body.on('end', finish).on('close', finish);
    return res;
  }

  /** Every allowed attempt failed: 503 when no origin is left up, else the last, more specific error. */
  private exhausted(last: MiniCdnError | undefined): MiniCdnError {
    if (!last) return new MiniCdnError('MCDN_NO_HEALTHY_ORIGIN', 'no origin could be tried');
    const unreachable = last.code === 'MCDN_UPSTREAM_CONNECT' || failureKind(last) === 'nothing-sent';
    if (this.noneUp(Date.now()) && unreachable) {
      return new MiniCdnError('MCDN_NO_HEALTHY_ORIGIN', `every origin is down or ejected (last: ${last.message})`, { cause: last });
    }
    return last;
  }
}
