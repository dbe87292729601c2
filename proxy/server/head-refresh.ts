// A HEAD that needs validation is sent to the origin as HEAD, and its answer updates or
// invalidates the stored GET response (RFC 9111 §4.3.5): same validators and length, the stored
// fields are refreshed as for a 304 (§3.2); anything else shows the entry changed, and it goes.
// A 304 to this HEAD (sent without validators) is the origin's error, like a failed request.
import type { MiniCdnError } from '../../common/errors.js';
import { cacheStatusWith, headMatchesStored, mayBeAnsweredNotModified, mergeStoredHeaders, staleIfErrorAllowed } from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import { classifyUpstreamError } from '../upstream/origin-client.js';
import type { UpstreamResponse } from '../upstream/origin-client.js';
import type { NodeContext } from './context.js';
import { freshenedEntry, responseFields } from './entries.js';
import type { Exchange } from './exchange.js';
import { downstreamFields, upstreamRequestHeaders } from './forwarding.js';
import { labelResponse, sendError } from './respond.js';
import { serveStored } from './serve-stored.js';
import { unexpectedNotModified } from './shared-fetch.js';
import type { StaleCopy } from './shared-fetch.js';

export async function refreshWithHead(ctx: NodeContext, ex: Exchange, stale: StaleCopy, status: CacheStatusFields): Promise<void> {
  ctx.counters.revalidations++;
  let upstream: UpstreamResponse;
  const sent = upstreamRequestHeaders(ex, ctx.forwarding, true, ctx.hooks);
  try {
    upstream = await ctx.client.request({ method: 'HEAD', path: ex.path, headers: sent });
  } catch (err) {
    return failed(ctx, ex, stale, status, classifyUpstreamError(err));
  }
  // RFC 9110 §15.4.5: no 304 answers an unconditional HEAD; the stored entry is neither updated nor dropped.
  if (upstream.status === 304 && !mayBeAnsweredNotModified('HEAD', sent)) return failed(ctx, ex, stale, cacheStatusWith(status, { fwdStatus: 304 }), unexpectedNotModified());
  const fields = responseFields(upstream);
  if (upstream.status === stale.entry.status && headMatchesStored(stale.entry.headers, fields, stale.entry.body.length)) {
    const entry = freshenedEntry(stale.entry, mergeStoredHeaders(stale.entry.headers, fields), upstream, ex.forwardedHeaders);
    if (entry.varyKey !== stale.entry.varyKey) ctx.cache.store.delete(stale.storedKey);
    ctx.cache.put(ex.primaryKey, entry);
    return serveStored(ctx, ex, entry, cacheStatusWith(status, { fwdStatus: upstream.status, stored: true }));
  }
  // The origin's answer no longer describes the stored response: drop it, unless the origin merely failed.
  if (upstream.status < 500) ctx.cache.store.delete(stale.storedKey);
  const headers = downstreamFields(upstream.headers, ctx.options.forwardCdnCacheControl, upstream.status);
  ex.res.writeHead(upstream.status, labelResponse(ex, headers, ctx.labels, cacheStatusWith(status, { fwdStatus: upstream.status, detail: 'head-changed' })) as Record<string, string | string[]>);
  ex.res.end();
}

/** The origin failed: the stale copy when stale-if-error allows it (RFC 5861 §4), else the coded error. */
function failed(ctx: NodeContext, ex: Exchange, stale: StaleCopy, status: CacheStatusFields, error: MiniCdnError): void {
  ctx.counters.upstreamErrors++;
  if (staleIfErrorAllowed(stale.entry, ex, Date.now(), ctx.options.freshness)) {
    ctx.counters.staleServed++;
    return serveStored(ctx, ex, stale.entry, cacheStatusWith(status, { detail: 'stale-if-error' }));
  }
  sendError(ex, error, ctx.labels, status);
}
