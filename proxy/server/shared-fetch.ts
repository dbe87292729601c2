// One origin fetch that fills (or revalidates) a cache entry, shared by every request that
// arrives for the same key while it is under way (request coalescing). Its outcome is decided
// once, when the response headers arrive; each waiting request then decides for itself whether
// it may use it (see cache-engine.ts), so nobody is handed a response meant for someone else.
// A 304 it cannot use (no stale copy to apply it to, or one it contradicts) gets ONE unconditional
// retry for the whole fetch; a 304 to that too is the origin's error (a coded 502), never a loop.
import type { ServerResponse } from 'node:http';
import { MiniCdnError } from '../../common/errors.js';
import { checkStorable, effectiveDirectives, mayBeAnsweredNotModified, mergeStoredHeaders, notModifiedMatchesStored } from '../policy/index.js';
import type { FreshnessOptions, NotStorableReason, StorableRequest } from '../policy/index.js';
import { bodyRoom, contentLength, freshenedEntry, newEntry, responseFields, variantOf, withoutUnsharedFields } from './entries.js';
import type { VariantCache } from '../store/variant-cache.js';
import type { CacheEntry, HeaderMap } from '../types.js';
import { classifyUpstreamError } from '../upstream/origin-client.js';
import type { UpstreamResponse } from '../upstream/origin-client.js';
import type { Upstream } from '../upstream/origin-pool.js';
import { BodyTee } from './body-tee.js';
import type { InflightBudget } from './inflight-budget.js';
import type { SendLimit } from './paced-send.js';

export interface StaleCopy {
  entry: CacheEntry;
  storedKey: string;
}

/**
 * Why a 304 could not be used: it contradicts the stale copy's validators (RFC 9111 §4.3.4), or
 * it answers a request that carried none (RFC 9110 §15.4.5).
 */
export type Unusable304 = 'mismatched-304' | 'unexpected-304';

export type FetchOutcome =
  /** A full response. `shareable`: it will be stored and may serve other matching requests. */
  | {
      kind: 'response';
      status: number;
      /** End-to-end fields as stored (Date added when the origin sent none). */
      headers: HeaderMap;
      /** What other requests may see: without fields named by private="…" / no-cache="…". */
      sharedHeaders: HeaderMap;
      tee: BodyTee;
      shareable: boolean;
      /** Why it is not stored, when it is not. */
      notStored?: NotStorableReason | 'too-large' | 'inflight-budget';
      varyNames: readonly string[];
      varyKey: string;
      /** Set when this answers the unconditional retry after a 304 that could not be used. */
      retriedAfter?: Unusable304;
    }
  /** A 304 that freshened the stale copy (RFC 9111 §4.3.4); `entry` is the updated one. */
  | { kind: 'not-modified'; entry: CacheEntry }
  /** `fwdStatus`: what the origin answered, when it answered something unusable (a 304). */
  | { kind: 'error'; error: MiniCdnError; fwdStatus?: number };

export interface FetchContext {
  client: Upstream;
  cache: VariantCache;
  /** Replaced by a reload. */
  freshness: FreshnessOptions;
  maxObjectBytes: number;
  /** Bytes held by fills under way, shared by the node's fetches. */
  budget: InflightBudget;
  /** Replaced by a reload. */
  send: SendLimit;
  onSettled: (fetch: SharedFetch) => void;
}

export interface FetchRequest {
  primaryKey: string;
  path: string;
  /** The leading request as forwarded: it decides the variant and whether the response may be stored. */
  leader: StorableRequest;
  /** Fields sent upstream (conditionals of the stale copy already added). */
  upstreamHeaders: HeaderMap;
  stale?: StaleCopy;
  /** Where 1xx interim responses go (the leading client). */
  interimTo?: ServerResponse;
}

export class SharedFetch {
  readonly key: string;
  readonly request: FetchRequest;
  readonly outcome: Promise<FetchOutcome>;
  /** Set when an invalidation arrives while the fetch runs: its result must not be stored. */
  invalidated = false;
  private context: FetchContext;
  private joinableAfterHeaders = true;
  private headersArrived = false;

  constructor(key: string, request: FetchRequest, context: FetchContext) {
    this.key = key;
    this.request = request;
    this.context = context;
    this.outcome = this.send(request.upstreamHeaders, undefined);
  }

  /** One GET to the origin; `retryOf` when it is the unconditional retry after an unusable 304. */
  private send(headers: HeaderMap, retryOf: Unusable304 | undefined): Promise<FetchOutcome> {
    const { request } = this;
    return this.context.client
      .request({ method: 'GET', path: request.path, headers, onInfo: request.interimTo ? relayInterim(request.interimTo) : undefined })
      .then(
        (upstream) => this.classify(upstream, headers, retryOf),
        (err: unknown) => this.settle({ kind: 'error', error: classifyUpstreamError(err) }),
      );
  }

  /** Another request may still wait for this fetch and use its result. */
  get joinable(): boolean {
    return !this.headersArrived || this.joinableAfterHeaders;
  }

  private settle(outcome: FetchOutcome): FetchOutcome {
    this.headersArrived = true;
    this.joinableAfterHeaders = false;
    this.context.onSettled(this);
    return outcome;
  }

  private classify(upstream: UpstreamResponse, sent: HeaderMap, retryOf: Unusable304 | undefined): FetchOutcome | Promise<FetchOutcome> {
    const { stale } = this.request;
    const headers = responseFields(upstream);
    if (upstream.status === 304) {
      // RFC 9111 §4.3.4: the stale copy whose validators were sent (or, without any, §4.3.4 case 3).
      const usable = retryOf === undefined && stale !== undefined && notModifiedMatchesStored(stale.entry.headers, headers);
      if (usable) return this.settle(this.freshen(stale, headers, upstream));
      if (retryOf !== undefined) return this.settle({ kind: 'error', error: unusable304Error(retryOf), fwdStatus: 304 });
      // One retry without validators, shared by every waiter: the origin then owes a full response.
      const reason: Unusable304 = stale !== undefined && mayBeAnsweredNotModified('GET', sent) ? 'mismatched-304' : 'unexpected-304';
      return this.send(withoutValidators(sent), reason);
    }

    this.headersArrived = true;
    const { freshness, maxObjectBytes } = this.context;
    // Parsed once for both the verdict and the shared fields.
    const directives = effectiveDirectives(headers, freshness);
    const verdict = checkStorable(this.request.leader, { status: upstream.status, headers }, freshness, directives);
    const { varyNames, varyKey } = variantOf(headers, this.request.leader.headers);
    const declared = contentLength(headers);
    let notStored: NotStorableReason | 'too-large' | 'inflight-budget' | undefined = verdict.storable ? undefined : verdict.reason;
    // The stored key holds the variant too; the fields counted are a superset of those stored.
    const room = bodyRoom(maxObjectBytes, this.request.primaryKey + varyKey, headers);
    if (notStored === undefined && declared !== undefined && declared > room) notStored = 'too-large';
    const tee = new BodyTee(upstream.body, {
      buffer: notStored === undefined,
      maxBytes: room,
      expectedBytes: declared,
      budget: this.context.budget,
      send: this.context.send,
      onComplete: (body) => this.store(upstream, sharedHeaders, body),
      onDone: () => {
        this.joinableAfterHeaders = false;
        this.context.onSettled(this);
      },
    });
    // The fills under way already hold the budget: this one streams through unstored.
    if (notStored === undefined && !tee.storing) notStored = tee.notStoredBecause === 'overflow' ? 'too-large' : 'inflight-budget';
    const shareable = notStored === undefined;
    this.joinableAfterHeaders = shareable;
    if (!shareable) this.context.onSettled(this);
    // §4.3.3: a new full response replaces the stale copy; a 5xx does not (the copy may still
    // serve under stale-if-error, §4.2.4).
    if (stale && !shareable && upstream.status < 500) this.context.cache.store.delete(stale.storedKey);

    const sharedHeaders = shareable ? withoutUnsharedFields(headers, freshness, directives) : headers;
    return { kind: 'response', status: upstream.status, headers, sharedHeaders, tee, shareable, notStored, varyNames, varyKey, retriedAfter: retryOf };
  }

  private freshen(stale: StaleCopy, headers: HeaderMap, upstream: UpstreamResponse): FetchOutcome {
    const merged = mergeStoredHeaders(stale.entry.headers, headers);
    const entry = freshenedEntry(stale.entry, merged, upstream, this.request.leader.headers);
    if (!this.invalidated && !variantOf(merged, this.request.leader.headers).varyStar) {
      if (entry.varyKey !== stale.entry.varyKey) this.context.cache.store.delete(stale.storedKey);
      this.context.cache.put(this.request.primaryKey, entry);
    }
    return { kind: 'not-modified', entry };
  }

  private store(upstream: UpstreamResponse, fields: HeaderMap, body: Buffer): void {
    if (this.invalidated) return;
    const entry = newEntry(upstream, fields, body, this.request.leader.headers);
    const { stale } = this.request;
    if (stale && stale.entry.varyKey !== entry.varyKey) this.context.cache.store.delete(stale.storedKey);
    this.context.cache.put(this.request.primaryKey, entry);
  }
}

/** The request fields without the cache's validators (RFC 9110 §13.1.2, §13.1.3). */
function withoutValidators(sent: HeaderMap): HeaderMap {
  const out: HeaderMap = { ...sent };
  delete out['if-none-match'];
  delete out['if-modified-since'];
  return out;
}

/** A 304 to a request without validators, where nothing may retry it (HEAD, ranges, pass-through). */
export function unexpectedNotModified(): MiniCdnError {
  return new MiniCdnError('MCDN_UPSTREAM_PROTOCOL', 'unexpected-304: the origin answered 304 (Not Modified) to a request without validators');
}

/** The answer when the unconditional retry got a 304 as well: the origin breaks RFC 9110 §15.4.5. */
function unusable304Error(first: Unusable304): MiniCdnError {
  const why = first === 'mismatched-304' ? 'a 304 that contradicts the stored response' : 'a 304 to a request without validators';
  return new MiniCdnError('MCDN_UPSTREAM_PROTOCOL', `unexpected-304: after ${why}, the origin answered 304 (Not Modified) to the unconditional retry too`);
}

/** Relays 102 and 103 to the client (RFC 9110 §15.2); 100 is node's own business. */
export function relayInterim(res: ServerResponse): (status: number, headers: HeaderMap) => void {
  return (status, headers) => {
    if (res.headersSent || res.destroyed) return;
    if (status === 102) res.writeProcessing();
    else if (status === 103) res.writeEarlyHints(headers as Record<string, string | string[]>);
  };
}
