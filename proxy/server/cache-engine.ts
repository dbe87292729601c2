// The caching engine of one node: for GET and HEAD it looks the request up, asks the policy
// what to do (RFC 9111 §4), and serves, revalidates or fills through a coalesced fetch; every
// other method passes through and, when it succeeds, invalidates what it changed (§4.4).
import { pipeline } from 'node:stream';
import { MiniCdnError } from '../../common/errors.js';
import {
  checkStorable,
  clientConditionalResult,
  decideReuse,
  invalidatesOnResponse,
  invalidationTargets,
  notModifiedHeaders,
  parseCacheControl,
  revalidationHeaders,
  secondaryKey,
  staleIfErrorAllowed,
} from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import type { VariantCache } from '../store/variant-cache.js';
import type { OriginClient } from '../upstream/origin-client.js';
import { classifyUpstreamError } from '../upstream/origin-client.js';
import { primaryKeyOfUrl } from './exchange.js';
import type { Exchange } from './exchange.js';
import { downstreamFields, upstreamRequestHeaders } from './forwarding.js';
import type { ProxyOptions } from './options.js';
import { labelResponse, sendEntry, sendError } from './respond.js';
import type { ResponseLabels } from './respond.js';
import { SharedFetch, relayInterim } from './shared-fetch.js';
import type { FetchContext, FetchOutcome, StaleCopy } from './shared-fetch.js';

type Fwd = NonNullable<CacheStatusFields['fwd']>;

interface FillPlan {
  fwd: Fwd;
  stale?: StaleCopy;
  detail?: string;
}

export interface EngineStats {
  hits: number;
  misses: number;
  revalidations: number;
  notModified: number;
  collapsed: number;
  staleServed: number;
  passThrough: number;
  upstreamErrors: number;
  invalidations: number;
}

export class CacheEngine {
  readonly cache: VariantCache;
  readonly client: OriginClient;
  private readonly options: ProxyOptions;
  private readonly labels: ResponseLabels;
  private readonly fetchContext: FetchContext;
  private readonly inflight = new Map<string, SharedFetch>();
  private readonly counters: EngineStats = {
    hits: 0, misses: 0, revalidations: 0, notModified: 0, collapsed: 0, staleServed: 0, passThrough: 0, upstreamErrors: 0, invalidations: 0,
  };

  constructor(options: ProxyOptions, cache: VariantCache, client: OriginClient) {
    this.options = options;
    this.cache = cache;
    this.client = client;
    this.labels = { cacheName: options.cacheName, forwardCdnCacheControl: options.forwardCdnCacheControl };
    this.fetchContext = {
      client,
      cache,
      freshness: options.freshness,
      maxObjectBytes: options.maxObjectBytes,
      onSettled: (fetch) => {
        if (this.inflight.get(fetch.key) === fetch) this.inflight.delete(fetch.key);
      },
    };
  }

  stats(): EngineStats {
    return { ...this.counters };
  }

  /** GET and HEAD: answer from the cache when the policy allows, else through a coalesced fetch. */
  async serveCacheable(ex: Exchange): Promise<void> {
    const requestCc = parseCacheControl(ex.headers['cache-control']);
    if (requestCc.noStore) return this.passThrough(ex, { fwd: 'request', detail: 'request-no-store' });
    const found = this.cache.lookup(ex.primaryKey, (names) => secondaryKey(names, ex.headers));
    if (!found.found) {
      if (requestCc.onlyIfCached) return this.refuseOnlyIfCached(ex, found.miss);
      // A HEAD miss asks the origin for headers only, unless a fill is already under way.
      if (ex.method === 'HEAD' && !this.inflight.has(ex.primaryKey)) return this.passThrough(ex, { fwd: found.miss });
      return this.fill(ex, { fwd: found.miss });
    }
    const { entry, storedKey } = found;
    const decision = decideReuse(entry, ex, Date.now(), this.options.freshness);
    switch (decision.action) {
      case 'serve':
        this.counters.hits++;
        if (decision.stale) this.counters.staleServed++;
        return sendEntry(ex, entry, decision.ageMs, this.labels, { hit: true, ttlMs: decision.ttlMs, detail: decision.detail });
      case 'serve-stale-revalidate':
        this.counters.hits++;
        this.counters.staleServed++;
        this.revalidateInBackground(ex, { entry, storedKey });
        return sendEntry(ex, entry, decision.ageMs, this.labels, { hit: true, ttlMs: decision.ttlMs, detail: 'stale-while-revalidate' });
      case 'unsatisfiable-only-if-cached':
        return this.refuseOnlyIfCached(ex, 'stale');
      case 'revalidate': {
        const fromRequest = decision.reason.startsWith('request-');
        return this.fill(ex, { fwd: fromRequest ? 'request' : 'stale', stale: { entry, storedKey }, detail: decision.reason === 'stale' ? undefined : decision.reason });
      }
    }
  }

  /** Any method the cache does not serve: forward, stream back, invalidate on success (§4.4). */
  async passThrough(ex: Exchange, status: CacheStatusFields): Promise<void> {
    this.counters.passThrough++;
    const { req, res } = ex;
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    let upstream;
    try {
      upstream = await this.client.request({
        method: ex.method,
        path: ex.path,
        headers: upstreamRequestHeaders(ex, this.options.cacheName, false),
        body: hasBody ? req : null,
        signal: abort.signal,
        onInfo: relayInterim(res),
      });
    } catch (err) {
      this.counters.upstreamErrors++;
      return sendError(res, classifyUpstreamError(err), this.labels, status);
    }
    if (invalidatesOnResponse(ex.method, upstream.status)) {
      for (const target of invalidationTargets(ex.url, upstream.headers)) {
        const key = primaryKeyOfUrl(target);
        if (key !== undefined) this.invalidateUrl(key);
      }
    }
    const headers = downstreamFields(upstream.headers, this.options.forwardCdnCacheControl);
    res.writeHead(upstream.status, labelResponse(headers, this.labels, { ...status, fwdStatus: upstream.status }) as Record<string, string | string[]>);
    pipeline(upstream.body, res, (err) => {
      if (err) res.destroy();
    });
  }

  /** Drops every variant of a URL, and keeps fetches under way from storing their result. */
  invalidateUrl(primaryKey: string): number {
    this.counters.invalidations++;
    for (const fetch of this.inflight.values()) {
      if (fetch.request.primaryKey === primaryKey) fetch.invalidated = true;
    }
    return this.cache.deleteUrl(primaryKey);
  }

  private refuseOnlyIfCached(ex: Exchange, fwd: Fwd): void {
    // RFC 9111 §5.2.1.7: only-if-cached and nothing usable is stored: 504.
    sendError(ex.res, new MiniCdnError('MCDN_ONLY_IF_CACHED', 'only-if-cached: no usable stored response'), this.labels, { fwd });
  }

  private startFetch(ex: Exchange, key: string, stale: StaleCopy | undefined, register: boolean, interim: boolean): SharedFetch {
    const upstreamHeaders = upstreamRequestHeaders(ex, this.options.cacheName, true);
    if (stale) Object.assign(upstreamHeaders, revalidationHeaders(stale.entry.headers));
    const fetch = new SharedFetch(
      key,
      { primaryKey: ex.primaryKey, path: ex.path, requestHeaders: ex.headers, upstreamHeaders, stale, interimTo: interim ? ex.res : undefined },
      this.fetchContext,
    );
    if (register) this.inflight.set(key, fetch);
    return fetch;
  }

  private revalidateInBackground(ex: Exchange, stale: StaleCopy): void {
    const key = 'r\0' + stale.storedKey;
    if (this.inflight.has(key)) return;
    this.counters.revalidations++;
    const fetch = this.startFetch(ex, key, stale, true, false);
    void fetch.outcome.then((outcome) => {
      if (outcome.kind === 'not-modified') this.counters.notModified++;
      if (outcome.kind === 'response') outcome.tee.abandonIfUnused();
    });
  }

  /** Joins the fetch under way for this key, or starts one; then delivers its outcome. */
  private async fill(ex: Exchange, plan: FillPlan, solo = false): Promise<void> {
    const key = plan.stale ? 'r\0' + plan.stale.storedKey : ex.primaryKey;
    let fetch = solo ? undefined : this.inflight.get(key);
    const collapsed = fetch !== undefined && fetch.joinable;
    if (!collapsed) {
      fetch = this.startFetch(ex, key, plan.stale, !solo, true);
      if (plan.stale) this.counters.revalidations++;
      else this.counters.misses++;
    } else {
      this.counters.collapsed++;
    }
    const outcome = await (fetch as SharedFetch).outcome;
    return this.deliver(ex, plan, outcome, collapsed);
  }

  private deliver(ex: Exchange, plan: FillPlan, outcome: FetchOutcome, collapsed: boolean): Promise<void> | void {
    const status: CacheStatusFields = { fwd: plan.fwd, collapsed: collapsed || undefined, detail: plan.detail };
    switch (outcome.kind) {
      case 'error':
        this.counters.upstreamErrors++;
        if (plan.stale && staleIfErrorAllowed(plan.stale.entry, ex, Date.now(), this.options.freshness)) {
          return this.serveStaleOnError(ex, plan.stale, status, undefined);
        }
        return sendError(ex.res, outcome.error, this.labels, status);
      case 'mismatched-304':
        return this.fill(ex, { fwd: plan.fwd, detail: 'mismatched-304' }, true);
      case 'not-modified': {
        this.counters.notModified++;
        const decision = decideReuse(outcome.entry, { method: ex.method, headers: {} }, Date.now(), this.options.freshness);
        const ageMs = 'ageMs' in decision ? decision.ageMs : 0;
        const ttlMs = 'ttlMs' in decision ? decision.ttlMs : 0;
        return sendEntry(ex, outcome.entry, ageMs, this.labels, { ...status, fwdStatus: 304, stored: true, ttlMs });
      }
      case 'response':
        return this.deliverResponse(ex, plan, outcome, collapsed, status);
    }
  }

  private deliverResponse(
    ex: Exchange,
    plan: FillPlan,
    outcome: Extract<FetchOutcome, { kind: 'response' }>,
    collapsed: boolean,
    status: CacheStatusFields,
  ): Promise<void> | void {
    const { res } = ex;
    if (plan.stale && outcome.status >= 500 && staleIfErrorAllowed(plan.stale.entry, ex, Date.now(), this.options.freshness)) {
      // RFC 5861 §4: an error answer may be replaced by the stale copy.
      if (!collapsed) outcome.tee.abandonIfUnused();
      return this.serveStaleOnError(ex, plan.stale, status, outcome.status);
    }
    if (collapsed && !this.mayShare(ex, outcome)) {
      // Not for this request (private, another variant, not stored): its own fetch, at once.
      return this.fill(ex, plan, true);
    }
    const headers = downstreamFields(collapsed ? outcome.sharedHeaders : outcome.headers, this.options.forwardCdnCacheControl);
    const fields: CacheStatusFields = {
      ...status,
      fwdStatus: outcome.status,
      stored: outcome.shareable || undefined,
      detail: status.detail ?? outcome.notStored,
    };
    const notModified = ex.method !== 'HEAD' && clientConditionalResult(ex, outcome) === 'not-modified';
    if (notModified || ex.method === 'HEAD') {
      if (notModified) res.writeHead(304, labelResponse(notModifiedHeaders(outcome.headers), this.labels, fields) as Record<string, string | string[]>);
      else res.writeHead(outcome.status, labelResponse(headers, this.labels, fields) as Record<string, string | string[]>);
      res.end();
      if (!collapsed) outcome.tee.abandonIfUnused();
      return;
    }
    res.writeHead(outcome.status, labelResponse(headers, this.labels, fields) as Record<string, string | string[]>);
    if (!outcome.tee.attach(res)) res.destroy();
  }

  /** A waiter may use the leader's response only if it could have been served from the cache. */
  private mayShare(ex: Exchange, outcome: Extract<FetchOutcome, { kind: 'response' }>): boolean {
    if (!outcome.shareable || !outcome.tee.joinable) return false;
    if (!checkStorable({ method: 'GET', headers: ex.headers }, { status: outcome.status, headers: outcome.headers }, this.options.freshness).storable) return false;
    return secondaryKey(outcome.varyNames, ex.headers) === outcome.varyKey;
  }

  private serveStaleOnError(ex: Exchange, stale: StaleCopy, status: CacheStatusFields, fwdStatus: number | undefined): void {
    this.counters.staleServed++;
    const decision = decideReuse(stale.entry, { method: ex.method, headers: {} }, Date.now(), this.options.freshness);
    const ageMs = 'ageMs' in decision ? decision.ageMs : 0;
    const ttlMs = 'ttlMs' in decision ? decision.ttlMs : 0;
    sendEntry(ex, stale.entry, ageMs, this.labels, { ...status, fwdStatus, ttlMs, detail: 'stale-if-error' });
  }
}

