// Answering from a stored entry outside the plain hit path (after a 304 or a HEAD refresh, or as
// a stale copy when the origin failed), with its current age and remaining freshness.
import { cacheStatusWith, currentAgeMs, freshnessLifetimeMs } from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import type { CacheEntry } from '../types.js';
import type { NodeContext } from './context.js';
import type { Exchange } from './exchange.js';
import { sendEntry } from './respond.js';

export function serveStored(ctx: NodeContext, ex: Exchange, entry: CacheEntry, status: CacheStatusFields): void {
  const ageMs = currentAgeMs(entry, Date.now());
  const ttlMs = freshnessLifetimeMs(entry.status, entry.headers, ctx.options.freshness).lifetimeMs - ageMs;
  sendEntry(ex, entry, ageMs, ctx.labels, cacheStatusWith(status, { ttlMs }));
}
