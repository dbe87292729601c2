// Which stored entries a purge names. URLs and prefixes match on path and query, whatever the
// host (an edge fronts one site; the origin names its own URLs), tags through the tag index.
import type { VariantCache } from '../store/variant-cache.js';

/** What to invalidate; the same shape as the bus's InvalidationRequest (the proxy does not import edge/). */
export interface PurgeRequest {
  urls?: readonly string[];
  prefixes?: readonly string[];
  tags?: readonly string[];
  all?: boolean;
  soft?: boolean;
}

export interface PurgeTargets {
  /** URLs (primary keys): every variant of each. */
  urls: Set<string>;
  /** Single stored entries (from tags). */
  storedKeys: Set<string>;
  /** Paths and path prefixes named, for matching fetches under way (their URLs are not stored yet). */
  paths: Set<string>;
  pathPrefixes: string[];
  all: boolean;
}

export function purgeTargets(cache: VariantCache, request: PurgeRequest, keyPathOf: (path: string) => string = (path) => path): PurgeTargets {
  const targets: PurgeTargets = { urls: new Set(), storedKeys: new Set(), paths: new Set(), pathPrefixes: [], all: request.all === true };
  for (const url of request.urls ?? []) {
    const given = pathOfUrl(url);
    if (given === undefined) continue;
    const path = keyPathOf(given);
    targets.paths.add(given);
    for (const key of cache.urlsWithPath(path)) targets.urls.add(key);
  }
  for (const prefix of request.prefixes ?? []) {
    const path = pathOfUrl(prefix);
    if (path === undefined) continue;
    targets.pathPrefixes.push(path);
    for (const key of cache.urlsWithPathPrefix(path)) targets.urls.add(key);
  }
  for (const tag of request.tags ?? []) for (const key of cache.keysWithTag(tag)) targets.storedKeys.add(key);
  return targets;
}

/** Path and query of an absolute URL, or of a path given as is. */
export function pathOfUrl(url: string): string | undefined {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return undefined;
  }
}
