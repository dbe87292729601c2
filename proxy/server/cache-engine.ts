// The caching engine of one node: for GET and HEAD it looks the request up, asks the policy
// what to do (RFC 9111 §4), and serves, revalidates or fills through a coalesced fetch. Every
// other method passes through (pass-through.ts); byte ranges are in range-fetch.ts.
import { MiniCdnError } from '../../common/errors.js';
import {
  cacheStatusWith,
  checkStorable,
  clientConditionalResult,
  decideReuse,
  notModifiedHeaders,
  parseCacheControl,
  revalidationHeaders,
  secondaryKey,
  staleIfErrorAllowed,
  storedCookieRuleAllows,
} from '../policy/index.js';
import type { CacheStatusFields, ReuseDecision } from '../policy/index.js';
import type { VariantCache } from '../store/variant-cache.js';
import type { Upstream } from '../upstream/origin-pool.js';
import { emptyStats } from './context.js';
import type { EngineStats, NodeContext } from './context.js';
import { storableRequestOf } from './exchange.js';
import type { Exchange } from './exchange.js';
import { compileForwarding, downstreamFields, upstreamRequestHeaders } from './forwarding.js';
import { refreshWithHead } from './head-refresh.js';
import { InflightBudget } from './inflight-budget.js';
import { NO_CALLBACKS } from './options.js';
import type { ProxyHooks, ProxyOptions } from './options.js';
import { passThrough } from './pass-through.js';
import { purgeTargets } from './purge.js';
import { compileRoutes, keyPath, routeFor } from './routes.js';
import type { PurgeRequest } from './purge.js';
import { rangeFetch, servePartial } from './range-fetch.js';
import { labelResponse, responseLabels, sendEntry, sendError } from './respond.js';
import { serveStored } from './serve-stored.js';
import { SharedFetch } from './shared-fetch.js';
import type { FetchContext, FetchOutcome, StaleCopy } from './shared-fetch.js';

export type { EngineStats };

type Fwd = NonNullable<CacheStatusFields['fwd']>;
type ResponseOutcome = Extract<FetchOutcome, { kind: 'response' }>;

interface FillPlan {
  fwd: Fwd;
  stale?: StaleCopy;
  detail?: string;
}

/** RFC 5861 §4: the error statuses a stale copy may replace. */
const STALE_IF_ERROR_STATUSES = new Set([500, 502, 503, 504]);
const NO_DIRECTIVES = parseCacheControl(undefined);

export class CacheEngine {
  readonly cache: VariantCache;
  client: Upstream;
  private readonly ctx: NodeContext;
  private readonly fetchContext: FetchContext;
  private readonly inflight = new Map<string, SharedFetch>();
  private readonly storeMaxBytes: number;
  /** Counts clients cut by the send timeout (kept across reloads, which rebuild the labels). */
  private readonly countSendTimeout = (): void => {
    this.ctx.counters.sendTimeouts++;
  };

  /** The key form of a purged path: the same route rules as requests (ignored and sorted query). */
  private keyPathOf: (path: string) => string;

  constructor(options: ProxyOptions, cache: VariantCache, client: Upstream, hooks: ProxyHooks = NO_CALLBACKS) {
    const routes = compileRoutes(options.routes);
    this.keyPathOf = (path) => keyPath(path, routeFor(routes, path));
    this.cache = cache;
    this.client = client;
    // maxBytes is fixed when the node is built (a reload does not resize the store).
    this.storeMaxBytes = options.maxBytes;
    const budget = new InflightBudget(options.maxInflightBytes ?? options.maxBytes);
    const labels = responseLabels(options, this.countSendTimeout);
    this.ctx = {
      options,
      labels,
      forwarding: compileForwarding(options.cacheName, options.trustedProxies),
      cache,
      client,
      counters: emptyStats(),
      budget,
      hooks,
      invalidateUrl: (primaryKey) => this.invalidateUrl(primaryKey),
    };
    this.fetchContext = {
      client,
      cache,
      freshness: options.freshness,
      maxObjectBytes: options.maxObjectBytes,
      budget,
      send: labels.send,
      onSettled: (fetch) => {
        if (this.inflight.get(fetch.key) === fetch) this.inflight.delete(fetch.key);
      },
    };
  }

  /**
   * Takes new options for what is read per request (routes, modes, freshness, labels). The
   * store, the origin pool and the listening socket stay: those need a restart.
   */
  updateOptions(options: ProxyOptions): void {
    // First: an invalid trusted-proxy list throws here, before anything has changed.
    const forwarding = compileForwarding(options.cacheName, options.trustedProxies);
    const routes = compileRoutes(options.routes);
    this.keyPathOf = (path) => keyPath(path, routeFor(routes, path));
    this.ctx.options = options;
    this.ctx.labels = responseLabels(options, this.countSendTimeout);
    this.ctx.budget.setLimit(options.maxInflightBytes ?? this.storeMaxBytes);
    this.ctx.forwarding = forwarding;
    this.fetchContext.freshness = options.freshness;
    this.fetchContext.send = this.ctx.labels.send;
  }

  /** Sends new requests to another upstream (a reload changed the origins); requests under way keep theirs. */
  replaceUpstream(client: Upstream): void {
    this.client = client;
    this.ctx.client = client;
    this.fetchContext.client = client;
  }

  /** How responses are labelled (Cache-Status name, send limit): the node's refusals use it too. */
  get labels(): NodeContext['labels'] {
    return this.ctx.labels;
  }

  /** The forwarding policy, compiled once per options: upgrade tunnels use it too. */
  get forwarding(): NodeContext['forwarding'] {
    return this.ctx.forwarding;
  }

  stats(): EngineStats {
    return { ...this.ctx.counters, inflightRefused: this.ctx.budget.stats().refused };
  }

  /** Bytes held by fills under way, the bound, and how many fills it refused. */
  inflightStats(): { usedBytes: number; limitBytes: number; refused: number } {
    return this.ctx.budget.stats();
  }

  /** GET and HEAD: answer from the cache when the policy allows, else through a coalesced fetch. */
  serveCacheable(ex: Exchange): Promise<void> | void {
    const { counters, options, labels } = this.ctx;
    const ccField = ex.headers['cache-control'];
    const requestCc = ccField === undefined ? NO_DIRECTIVES : parseCacheControl(ccField);
    if (ex.route?.bypass) return passThrough(this.ctx, ex, { fwd: 'bypass', detail: 'route-bypass' });
    if (requestCc.noStore) return passThrough(this.ctx, ex, { fwd: 'request', detail: 'request-no-store' });
    const found = this.cache.lookup(ex.primaryKey, (names) => secondaryKey(names, ex.forwardedHeaders));
    if (!found.found) return this.fetchInstead(ex, requestCc.onlyIfCached, { fwd: found.miss });
    const { entry, storedKey } = found;
    // A request with a Cookie outside the key gets only what its own response could have been
    // shared as (cookie-sharing.ts), as a collapsed waiter does: not someone else's page for hers.
    if (ex.forwardedHeaders['cookie'] !== undefined && !storedCookieRuleAllows(ex.forwardedHeaders, ex.route?.cacheKey.cookies, entry, options.freshness)) {
      return this.fetchInstead(ex, requestCc.onlyIfCached, { fwd: 'request', detail: 'cookie' });
    }
    if (entry.parts) return servePartial(this.ctx, ex, { entry, storedKey }, requestCc.onlyIfCached, (fwd) => this.fill(ex, { fwd }));
    const { decision, note } = this.applyConsistency(decideReuse(entry, ex, Date.now(), options.freshness), ex);
    switch (decision.action) {
      case 'serve':
        counters.hits++;
        if (decision.stale) counters.staleServed++;
        return sendEntry(ex, entry, decision.ageMs, labels, { hit: true, ttlMs: decision.ttlMs, detail: decision.detail });
      case 'serve-stale-revalidate':
        counters.hits++;
        counters.staleServed++;
        this.revalidateInBackground(ex, { entry, storedKey });
        return sendEntry(ex, entry, decision.ageMs, labels, { hit: true, ttlMs: decision.ttlMs, detail: 'stale-while-revalidate' });
      case 'unsatisfiable-only-if-cached':
        return this.refuseOnlyIfCached(ex, 'stale');
      case 'revalidate': {
        const fwd: Fwd = decision.reason.startsWith('request-') ? 'request' : 'stale';
        const detail = decision.reason === 'stale' ? note : decision.reason;
        if (ex.method === 'HEAD') return refreshWithHead(this.ctx, ex, { entry, storedKey }, { fwd, detail });
        return this.fill(ex, { fwd, stale: { entry, storedKey }, detail });
      }
    }
  }

  /** Nothing stored may answer: a fetch (joined when one is under way), or 504 for only-if-cached. */
  private fetchInstead(ex: Exchange, onlyIfCached: boolean, plan: FillPlan): Promise<void> | void {
    if (onlyIfCached) return this.refuseOnlyIfCached(ex, plan.fwd);
    if (!this.inflight.has(ex.primaryKey)) {
      // A HEAD miss asks the origin for headers only; a range miss asks for the range.
      if (ex.method === 'HEAD') return passThrough(this.ctx, ex, { fwd: plan.fwd, detail: plan.detail });
      if (ex.headers['range'] !== undefined) return rangeFetch(this.ctx, ex, undefined, { fwd: plan.fwd, detail: plan.detail });
    }
    return this.fill(ex, plan);
  }

  /** The consistency mode adjusts the policy's decision (see ConsistencyMode); `note` says why. */
  private applyConsistency(given: ReuseDecision, ex: Exchange): { decision: ReuseDecision; note?: string } {
    const { mode, edgeTtlMs } = ex.route ?? this.ctx.options.consistency;
    const decision = this.applyTtlOverride(given, ex);
    // A downstream tier has applied a purge this node has not yet: its copy may be the purged one.
    if ((decision.action === 'serve' || decision.action === 'serve-stale-revalidate') && this.ctx.hooks.behindDownstream(ex.headers)) {
      return { decision: { action: 'revalidate', ageMs: decision.ageMs, ttlMs: decision.ttlMs, reason: 'stale' }, note: 'tier-behind' };
    }
    if (mode === 'validate' && (decision.action === 'serve' || decision.action === 'serve-stale-revalidate')) {
      return { decision: { action: 'revalidate', ageMs: decision.ageMs, ttlMs: decision.ttlMs, reason: 'stale' }, note: 'validate-mode' };
    }
    if (mode !== 'callback' || decision.action !== 'revalidate' || decision.reason !== 'stale') return { decision };
    if (!this.ctx.hooks.callbacksInSync()) {
      // Callbacks may be missing right now: no trust beyond HTTP freshness.
      this.ctx.counters.callbackFallbacks++;
      return { decision, note: 'callbacks-not-in-sync' };
    }
    if (-decision.ttlMs > edgeTtlMs) return { decision };
    this.ctx.counters.callbackHits++;
    return { decision: { action: 'serve', ageMs: decision.ageMs, ttlMs: decision.ttlMs + edgeTtlMs, stale: false, detail: 'callback' } };
  }

  /** A route's ttlOverrideMs replaces the origin's freshness (request directives and purges still apply). */
  private applyTtlOverride(decision: ReuseDecision, ex: Exchange): ReuseDecision {
    const override = ex.route?.ttlOverrideMs;
    if (override === null || override === undefined) return decision;
    const overridable = decision.action === 'serve' || decision.action === 'serve-stale-revalidate' || (decision.action === 'revalidate' && decision.reason === 'stale');
    if (!overridable) return decision;
    const ttlMs = override - decision.ageMs;
    if (ttlMs > 0) return { action: 'serve', ageMs: decision.ageMs, ttlMs, stale: false, detail: 'ttl-override' };
    return { action: 'revalidate', ageMs: decision.ageMs, ttlMs, reason: 'stale' };
  }

  /** Any method the cache does not serve itself. */
  passThrough(ex: Exchange, status: CacheStatusFields): Promise<void> {
    return passThrough(this.ctx, ex, status);
  }

  /**
   * Applies an invalidation callback: deletes (or, soft, marks stale) what it names, and keeps
   * fetches under way that it may concern from storing a copy fetched before the change.
   * Returns how many stored entries it touched.
   */
  purge(request: PurgeRequest): number {
    const targets = purgeTargets(this.cache, request, this.keyPathOf);
    const soft = request.soft === true;
    this.ctx.counters.invalidations++;
    // Tags of a response are unknown until it arrives, so tag and full purges stop every fetch under way.
    const everyFetch = targets.all || targets.storedKeys.size > 0;
    for (const fetch of this.inflight.values()) {
      const path = fetch.request.path;
      if (everyFetch || targets.paths.has(path) || targets.pathPrefixes.some((p) => path.startsWith(p))) fetch.invalidated = true;
    }
    let touched = 0;
    if (targets.all) {
      for (const storedKey of [...this.cache.store.keys()]) touched += (soft ? this.cache.markStale(storedKey) : this.cache.store.delete(storedKey)) ? 1 : 0;
      return touched;
    }
    for (const primaryKey of targets.urls) touched += soft ? this.cache.markUrlStale(primaryKey) : this.cache.deleteUrl(primaryKey);
    for (const storedKey of targets.storedKeys) touched += (soft ? this.cache.markStale(storedKey) : this.cache.store.delete(storedKey)) ? 1 : 0;
    return touched;
  }

  /** Drops every variant of a URL, and keeps fetches under way from storing their result. */
  invalidateUrl(primaryKey: string): number {
    this.ctx.counters.invalidations++;
    for (const fetch of this.inflight.values()) {
      if (fetch.request.primaryKey === primaryKey) fetch.invalidated = true;
    }
    return this.cache.deleteUrl(primaryKey);
  }

  private refuseOnlyIfCached(ex: Exchange, fwd: Fwd): void {
    // RFC 9111 §5.2.1.7: only-if-cached and nothing usable is stored: 504.
    sendError(ex, new MiniCdnError('MCDN_ONLY_IF_CACHED', 'only-if-cached: no usable stored response'), this.ctx.labels, { fwd });
  }

  private startFetch(ex: Exchange, key: string, stale: StaleCopy | undefined, register: boolean, interim: boolean): SharedFetch {
    const upstreamHeaders = upstreamRequestHeaders(ex, this.ctx.forwarding, true, this.ctx.hooks);
    if (stale) Object.assign(upstreamHeaders, revalidationHeaders(stale.entry.headers));
    const fetch = new SharedFetch(
      key,
      { primaryKey: ex.primaryKey, path: ex.path, leader: storableRequestOf(ex, this.ctx.options.consistency.mode), upstreamHeaders, stale, interimTo: interim ? ex.res : undefined },
      this.fetchContext,
    );
    if (register) this.inflight.set(key, fetch);
    return fetch;
  }

  private revalidateInBackground(ex: Exchange, stale: StaleCopy): void {
    const key = 'r\0' + stale.storedKey;
    if (this.inflight.has(key)) return;
    this.ctx.counters.revalidations++;
    const fetch = this.startFetch(ex, key, stale, true, false);
    void fetch.outcome.then((outcome) => {
      if (outcome.kind === 'not-modified') this.ctx.counters.notModified++;
      if (outcome.kind === 'response') outcome.tee.abandonIfUnused();
    });
  }

  /** Joins the fetch under way for this key, or starts one; then delivers its outcome. */
  private fill(ex: Exchange, plan: FillPlan, solo = false): Promise<void> {
    let fetch: SharedFetch | undefined;
    let collapsed: boolean;
    try {
      const key = plan.stale ? 'r\0' + plan.stale.storedKey : ex.primaryKey;
      fetch = solo ? undefined : this.inflight.get(key);
      collapsed = fetch !== undefined && fetch.joinable;
      if (!collapsed) {
        fetch = this.startFetch(ex, key, plan.stale, !solo, true);
        if (plan.stale) this.ctx.counters.revalidations++;
        else this.ctx.counters.misses++;
      } else {
        this.ctx.counters.collapsed++;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // A chain rather than an async function: one promise less per miss.
    return (fetch as SharedFetch).outcome.then((outcome) => this.deliver(ex, plan, outcome, collapsed));
  }

  private deliver(ex: Exchange, plan: FillPlan, outcome: FetchOutcome, collapsed: boolean): Promise<void> | void {
    const status: CacheStatusFields = { fwd: plan.fwd, collapsed: collapsed || undefined, detail: plan.detail };
    switch (outcome.kind) {
      case 'error': {
        // Per origin fetch, not per waiter: the collapsed ones are counted in `collapsed`.
        if (!collapsed) this.ctx.counters.upstreamErrors++;
        // An unusable 304 (after its one retry, shared-fetch.ts) shows as fwd-status=304.
        const failed = outcome.fwdStatus === undefined ? status : cacheStatusWith(status, { fwdStatus: outcome.fwdStatus });
        if (plan.stale && this.mayServeStale(ex, plan.stale)) return serveStored(this.ctx, ex, plan.stale.entry, cacheStatusWith(failed, { detail: 'stale-if-error' }));
        return sendError(ex, outcome.error, this.ctx.labels, failed);
      }
      case 'not-modified':
        if (!collapsed) this.ctx.counters.notModified++;
        return serveStored(this.ctx, ex, outcome.entry, cacheStatusWith(status, { fwdStatus: 304, stored: true }));
      case 'response':
        // The answer to the retry after an unusable 304 says so in its detail.
        return this.deliverResponse(ex, plan, outcome, collapsed, outcome.retriedAfter ? cacheStatusWith(status, { detail: outcome.retriedAfter }) : status);
    }
  }

  private deliverResponse(ex: Exchange, plan: FillPlan, outcome: ResponseOutcome, collapsed: boolean, status: CacheStatusFields): Promise<void> | void {
    const { res } = ex;
    const { labels, options } = this.ctx;
    if (plan.stale && STALE_IF_ERROR_STATUSES.has(outcome.status) && this.mayServeStale(ex, plan.stale)) {
      // RFC 5861 §4: an error answer may be replaced by the stale copy.
      if (!collapsed) outcome.tee.abandonIfUnused();
      return serveStored(this.ctx, ex, plan.stale.entry, cacheStatusWith(status, { fwdStatus: outcome.status, detail: 'stale-if-error' }));
    }
    if (collapsed && !this.mayShare(ex, outcome)) {
      // Not for this request (private, another variant, not stored): its own fetch, at once.
      return this.fill(ex, plan, true);
    }
    const headers = downstreamFields(collapsed ? outcome.sharedHeaders : outcome.headers, options.forwardCdnCacheControl, outcome.status);
    const fields = cacheStatusWith(status, { fwdStatus: outcome.status, stored: outcome.shareable || undefined, detail: status.detail ?? outcome.notStored });
    const notModified = ex.method !== 'HEAD' && clientConditionalResult(ex, outcome) === 'not-modified';
    if (notModified || ex.method === 'HEAD') {
      if (notModified) res.writeHead(304, labelResponse(ex, notModifiedHeaders(outcome.headers), labels, fields) as Record<string, string | string[]>);
      else res.writeHead(outcome.status, labelResponse(ex, headers, labels, fields) as Record<string, string | string[]>);
      res.end();
      if (!collapsed) outcome.tee.abandonIfUnused();
      return;
    }
    res.writeHead(outcome.status, labelResponse(ex, headers, labels, fields) as Record<string, string | string[]>);
    if (!outcome.tee.attach(res)) res.destroy();
  }

  private mayServeStale(ex: Exchange, stale: StaleCopy): boolean {
    const allowed = staleIfErrorAllowed(stale.entry, ex, Date.now(), this.ctx.options.freshness);
    if (allowed) this.ctx.counters.staleServed++;
    return allowed;
  }

  /**
   * A waiter may use the leader's response only if it could have been served from the cache:
   * stored, storable for the waiter's own request as forwarded (its Cookie, its Authorization),
   * and the waiter's variant.
   */
  private mayShare(ex: Exchange, outcome: ResponseOutcome): boolean {
    if (!outcome.shareable || !outcome.tee.joinable) return false;
    const waiter = storableRequestOf(ex, this.ctx.options.consistency.mode);
    if (!checkStorable(waiter, { status: outcome.status, headers: outcome.headers }, this.ctx.options.freshness).storable) return false;
    return secondaryKey(outcome.varyNames, ex.forwardedHeaders) === outcome.varyKey;
  }
}
