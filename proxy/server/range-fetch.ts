// Range requests the cache cannot answer from a complete entry (RFC 9111 §3.3, §3.4): a range
// miss is forwarded with its Range; a 206 of one part is relayed and stored as a piece of the
// representation, pieces of the same representation (same strong validator) are combined, and
// once they cover it the entry becomes complete. A partial entry answers the ranges it holds.
import { MiniCdnError } from '../../common/errors.js';
import {
  addPiece,
  cacheStatusWith,
  canCombineParts,
  checkStorable,
  decideReuse,
  evaluateRange,
  ifRangeAllows,
  isComplete,
  mayBeAnsweredNotModified,
  parseContentRange,
  singleField,
  sliceParts,
} from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import type { HeaderMap, StoredParts } from '../types.js';
import { classifyUpstreamError } from '../upstream/origin-client.js';
import type { UpstreamResponse } from '../upstream/origin-client.js';
import { BodyTee, streamUnstored } from './body-tee.js';
import type { NodeContext } from './context.js';
import { bodyRoom, contentLength, newEntry, responseFields, withoutUnsharedFields } from './entries.js';
import { storableRequestOf } from './exchange.js';
import type { Exchange } from './exchange.js';
import { downstreamFields, upstreamRequestHeaders } from './forwarding.js';
import { sendOnePart, sendUnsatisfiable } from './range-response.js';
import { labelResponse, sendError, servedFields } from './respond.js';
import { relayInterim, unexpectedNotModified } from './shared-fetch.js';
import type { StaleCopy } from './shared-fetch.js';

type Fwd = NonNullable<CacheStatusFields['fwd']>;
const EMPTY = Buffer.alloc(0);

/** A partial entry was found: serve the range from its pieces when it can, else fetch. */
export function servePartial(ctx: NodeContext, ex: Exchange, partial: StaleCopy, onlyIfCached: boolean, fullFill: (fwd: Fwd) => Promise<void>): Promise<void> | void {
  const parts = partial.entry.parts as StoredParts;
  const range = ex.method === 'GET' ? singleField(ex.headers, 'range') : undefined;
  if (range !== undefined) {
    const decision = decideReuse(partial.entry, ex, Date.now(), ctx.options.freshness);
    if (decision.action === 'serve' && ifRangeAllows(ex.headers, partial.entry.headers)) {
      const wanted = evaluateRange(range, parts.completeLength);
      const status: CacheStatusFields = { hit: true, ttlMs: decision.ttlMs, detail: 'partial' };
      if (wanted.kind === 'unsatisfiable') {
        ctx.counters.hits++;
        return sendUnsatisfiable(ex.res, servedFields(ex, partial.entry, decision.ageMs, ctx.labels, status), parts.completeLength);
      }
      const only = wanted.kind === 'ranges' && wanted.ranges.length === 1 ? wanted.ranges[0] : undefined;
      const bytes = only && sliceParts(parts, only);
      if (only && bytes) {
        ctx.counters.hits++;
        ctx.counters.rangeHits++;
        return sendOnePart(ex.res, servedFields(ex, partial.entry, decision.ageMs, ctx.labels, status), only, parts.completeLength, bytes);
      }
    }
  }
  if (onlyIfCached) {
    return sendError(ex, new MiniCdnError('MCDN_ONLY_IF_CACHED', 'only-if-cached: the stored part does not cover the request'), ctx.labels, { fwd: 'partial' });
  }
  // A HEAD, or a GET of the whole, needs the complete representation.
  if (range === undefined) return fullFill('partial');
  return rangeFetch(ctx, ex, partial, { fwd: 'partial' });
}

/** Forwards the request with its Range; relays the answer and stores what may be stored. */
export async function rangeFetch(ctx: NodeContext, ex: Exchange, partial: StaleCopy | undefined, status: CacheStatusFields): Promise<void> {
  ctx.counters.misses++;
  const { res } = ex;
  let upstream: UpstreamResponse;
  const sent = upstreamRequestHeaders(ex, ctx.forwarding, false, ctx.hooks);
  try {
    upstream = await ctx.client.request({ method: 'GET', path: ex.path, headers: sent, onInfo: relayInterim(res) });
  } catch (err) {
    ctx.counters.upstreamErrors++;
    return sendError(ex, classifyUpstreamError(err), ctx.labels, status);
  }
  // RFC 9110 §15.4.5: a 304 answers only the client's own If-None-Match / If-Modified-Since.
  if (upstream.status === 304 && !mayBeAnsweredNotModified('GET', sent)) {
    ctx.counters.upstreamErrors++;
    return sendError(ex, unexpectedNotModified(), ctx.labels, cacheStatusWith(status, { fwdStatus: 304 }));
  }
  const store = storer(ctx, ex, upstream, partial);
  const tee = store
    ? new BodyTee(upstream.body, {
        buffer: true,
        maxBytes: bodyRoom(ctx.options.maxObjectBytes, ex.primaryKey, upstream.headers as HeaderMap),
        expectedBytes: contentLength(upstream.headers as HeaderMap),
        budget: ctx.budget,
        send: ctx.labels.send,
        onComplete: store,
        onDone: () => undefined,
      })
    : undefined;
  const headers = downstreamFields(upstream.headers, ctx.options.forwardCdnCacheControl, upstream.status);
  const refused = tee !== undefined && !tee.storing ? { detail: status.detail ?? (tee.notStoredBecause === 'overflow' ? 'too-large' : tee.notStoredBecause) } : {};
  res.writeHead(upstream.status, labelResponse(ex, headers, ctx.labels, cacheStatusWith(status, { fwdStatus: upstream.status, stored: tee?.storing || undefined, ...refused })) as Record<string, string | string[]>);
  if (!tee) return streamUnstored(upstream.body, res, ctx.budget, ctx.labels.send);
  if (!tee.attach(res)) res.destroy();
}

/** How the body of this answer is stored, or undefined when it is not. */
function storer(ctx: NodeContext, ex: Exchange, upstream: UpstreamResponse, partial: StaleCopy | undefined): ((body: Buffer) => void) | undefined {
  const { freshness } = ctx.options;
  const fields = responseFields(upstream);
  // §3.3: a part is storable under the same rules as the whole representation.
  const asWhole = upstream.status === 206 ? 200 : upstream.status;
  if (!checkStorable(storableRequestOf(ex, ctx.options.consistency.mode), { status: asWhole, headers: fields }, freshness).storable) return undefined;
  const shared = withoutUnsharedFields(fields, freshness);
  if (upstream.status !== 206) return (body) => ctx.cache.put(ex.primaryKey, newEntry(upstream, shared, body, ex.forwardedHeaders));
  // One part only: a multipart/byteranges answer has no Content-Range of its own.
  const part = parseContentRange(singleField(fields, 'content-range'));
  if (!part || part.completeLength === undefined) return undefined;
  const completeLength = part.completeLength;
  const pieceFields: HeaderMap = { ...shared };
  delete pieceFields['content-range'];
  delete pieceFields['content-length'];
  return (body) => {
    if (body.length !== part.end - part.start + 1) return;
    const probe = newEntry({ ...upstream, status: 206 }, pieceFields, EMPTY, ex.forwardedHeaders);
    const current = ctx.cache.peekVariant(ex.primaryKey, probe.varyKey);
    if (current && !current.parts) return; // a complete entry arrived meanwhile: keep it
    // §3.4: pieces join only when both carry the same strong validator. The entry stored now
    // is preferred to the one looked up, in case another piece arrived meanwhile.
    const stored = current ?? partial?.entry;
    const joinable = stored?.parts && stored.parts.completeLength === completeLength && canCombineParts(stored.headers, pieceFields);
    const base: StoredParts = joinable && stored.parts ? stored.parts : { completeLength, pieces: [] };
    const parts = addPiece(base, part.start, body);
    if (isComplete(parts)) {
      ctx.cache.put(ex.primaryKey, newEntry({ ...upstream, status: 200 }, pieceFields, (parts.pieces[0] as { data: Buffer }).data, ex.forwardedHeaders));
    } else {
      ctx.cache.put(ex.primaryKey, { ...probe, parts });
    }
  };
}
