// Methods the cache does not answer itself: forwarded with their body, streamed back. A
// successful unsafe request invalidates what it changed (RFC 9111 §4.4), here and, through the
// onUnsafeInvalidation hook, on every other edge; a POST response that names its own URL in
// Content-Location with explicit freshness is stored for later GETs of that URL (RFC 9111 §4,
// RFC 9110 §9.3.3).
import {
  cacheStatusWith,
  checkStorable,
  hasExplicitFreshness,
  invalidatesOnResponse,
  invalidationTargets,
  mayBeAnsweredNotModified,
} from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import { classifyUpstreamError } from '../upstream/origin-client.js';
import type { UpstreamResponse } from '../upstream/origin-client.js';
import { BodyTee, streamUnstored } from './body-tee.js';
import type { NodeContext } from './context.js';
import { bodyRoom, contentLength, newEntry, responseFields, withoutUnsharedFields } from './entries.js';
import { primaryKeyOfUrl, storableRequestOf, urlOf } from './exchange.js';
import type { Exchange } from './exchange.js';
import { downstreamFields, upstreamRequestHeaders } from './forwarding.js';
import { labelResponse, sendError } from './respond.js';
import { relayInterim, unexpectedNotModified } from './shared-fetch.js';

export async function passThrough(ctx: NodeContext, ex: Exchange, status: CacheStatusFields): Promise<void> {
  ctx.counters.passThrough++;
  const { req, res } = ex;
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  let upstream: UpstreamResponse;
  const sent = upstreamRequestHeaders(ex, ctx.forwarding, false, ctx.hooks);
  try {
    upstream = await ctx.client.request({
      method: ex.method,
      path: ex.path,
      headers: sent,
      body: hasBody ? req : null,
      signal: abort.signal,
      onInfo: relayInterim(res),
    });
  } catch (err) {
    ctx.counters.upstreamErrors++;
    return sendError(ex, classifyUpstreamError(err), ctx.labels, status);
  }
  // RFC 9110 §15.4.5: a 304 answers only the client's own If-None-Match / If-Modified-Since; to
  // anything else it is the origin's error, not something to hand on.
  if (upstream.status === 304 && !mayBeAnsweredNotModified(ex.method, sent)) {
    ctx.counters.upstreamErrors++;
    return sendError(ex, unexpectedNotModified(), ctx.labels, cacheStatusWith(status, { fwdStatus: 304 }));
  }
  if (invalidatesOnResponse(ex.method, upstream.status)) {
    const targets = invalidationTargets(urlOf(ex), upstream.headers);
    for (const target of targets) {
      const key = primaryKeyOfUrl(target);
      if (key !== undefined) ctx.invalidateUrl(key);
    }
    // The other caches of the CDN hold the same URLs: the edge publishes them (a no-op without one).
    try {
      ctx.hooks.onUnsafeInvalidation(targets);
    } catch {
      // A hook's fault never fails the client's response.
    }
  }
  const storeAsGet = ex.method === 'POST' && postAnswersGet(ctx, ex, upstream);
  const tee = storeAsGet ? storingTee(ctx, ex, upstream) : undefined;
  const headers = downstreamFields(upstream.headers, ctx.options.forwardCdnCacheControl, upstream.status);
  const refused = tee !== undefined && !tee.storing ? { detail: status.detail ?? (tee.notStoredBecause === 'overflow' ? 'too-large' : tee.notStoredBecause) } : {};
  res.writeHead(upstream.status, labelResponse(ex, headers, ctx.labels, cacheStatusWith(status, { fwdStatus: upstream.status, stored: tee?.storing || undefined, ...refused })) as Record<string, string | string[]>);
  if (!tee) return streamUnstored(upstream.body, res, ctx.budget, ctx.labels.send);
  if (!tee.attach(res)) res.destroy();
}

/** Streams the response while keeping it to answer later GETs (unless a bound says no). */
function storingTee(ctx: NodeContext, ex: Exchange, upstream: UpstreamResponse): BodyTee {
  const fields = withoutUnsharedFields(responseFields(upstream), ctx.options.freshness);
  return new BodyTee(upstream.body, {
    buffer: true,
    maxBytes: bodyRoom(ctx.options.maxObjectBytes, ex.primaryKey, fields),
    expectedBytes: contentLength(fields),
    budget: ctx.budget,
    send: ctx.labels.send,
    onComplete: (body) => ctx.cache.put(ex.primaryKey, newEntry(upstream, fields, body, ex.forwardedHeaders)),
    onDone: () => undefined,
  });
}

/** RFC 9111 §4: a POST response may answer a later GET when it says it is that URL's representation. */
function postAnswersGet(ctx: NodeContext, ex: Exchange, upstream: UpstreamResponse): boolean {
  if (upstream.status !== 200) return false;
  const location = upstream.headers['content-location'];
  if (typeof location !== 'string') return false;
  let target: string;
  try {
    target = new URL(location, urlOf(ex)).href;
  } catch {
    return false;
  }
  // Compared in the spelling keys use: Content-Location '/%70' names the request's '/p'.
  if (!target.startsWith('http:') || primaryKeyOfUrl(target) !== primaryKeyOfUrl(urlOf(ex))) return false;
  const fields = responseFields(upstream);
  if (!hasExplicitFreshness(fields, ctx.options.freshness)) return false;
  const declared = contentLength(fields);
  if (declared !== undefined && declared > bodyRoom(ctx.options.maxObjectBytes, ex.primaryKey, fields)) return false;
  return checkStorable(storableRequestOf(ex, ctx.options.consistency.mode), { status: upstream.status, headers: fields }, ctx.options.freshness).storable;
}
