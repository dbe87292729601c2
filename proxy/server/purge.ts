// Which stored entries a purge names. URLs and prefixes match on path and query, whatever the
// host (an edge fronts one site; the origin names its own URLs), tags through the tag index.
// URLs and prefixes are read in the spelling requests are keyed by (canonical-target.ts), so a
// purge of '/p' reaches what was asked for as '/./p' or '/%70', and a purge of '/%70' reaches '/p'.
import type { VariantCache } from '../store/variant-cache.js';
import { canonicalPrefix, canonicalTarget } from './canonical-target.js';

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
    const path = prefixPathOf(prefix);
    if (path === undefined) continue;
    targets.pathPrefixes.push(path);
    for (const key of cache.urlsWithPathPrefix(path)) targets.urls.add(key);
  }
  for (const tag of request.tags ?? []) for (const key of cache.keysWithTag(tag)) targets.storedKeys.add(key);
  return targets;
}

/** Canonical path and query of an absolute URL, or of a path (starting with '/'). */
export function pathOfUrl(url: string): string | undefined {
  const given = rawPathOf(url);
  return given === undefined ? undefined : canonicalTarget(given);
}

/** The canonical form of a purge prefix given as an absolute URL or a path. */
export function prefixPathOf(prefix: string): string | undefined {
  const given = rawPathOf(prefix);
  return given === undefined ? undefined : canonicalPrefix(given);
}

/**
 * Path and query as written, without the fragment. Not the URL parser's pathname: that removes a
 * trailing dot segment and an empty query, which a prefix must keep ('/a/.' starts '/a/.well-known').
 * A string starting with '/' is a path, so '//a//b' is the path '/a//b', never a host 'a'.
 */
function rawPathOf(given: string): string | undefined {
  const url = given.trim();
  let path: string;
  if (url.startsWith('/')) path = url;
  else {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    const authority = url.indexOf(':') + 3;
    if (url.slice(authority - 2, authority) !== '//') path = parsed.pathname + parsed.search;
    else {
      const end = url.slice(authority).search(/[/?#]/);
      path = end < 0 ? '/' : url[authority + end] === '/' ? url.slice(authority + end) : `/${url.slice(authority + end)}`;
    }
  }
  const hash = path.indexOf('#');
  return hash < 0 ? path : path.slice(0, hash);
}
