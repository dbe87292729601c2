// Routes: the operator's per-path rules. The first rule whose `match` fits the request's path
// (a prefix, or a glob where * matches within one path segment) decides the consistency mode,
// an edge TTL, a freshness override, a bypass, and what goes into the cache key.
import type { HeaderMap } from '../types.js';
import type { ConsistencyMode } from './options.js';

export interface RouteRule {
  match: string;
  mode: ConsistencyMode;
  edgeTtlMs: number;
  /** Freshness to use instead of the origin's, for responses that may be stored; null keeps the origin's. */
  ttlOverrideMs: number | null;
  /** Never cache: every request passes through. */
  bypass: boolean;
  cacheKey: {
    /** Query parameters left out of the key (tracking parameters). */
    ignoreQuery: readonly string[];
    /** Key on the parameters in sorted order, so ?a=1&b=2 and ?b=2&a=1 share an entry. */
    sortQuery: boolean;
    /** Request fields whose values become part of the key. */
    headers: readonly string[];
    /** Cookies whose values become part of the key (and only those: other cookies never split it). */
    cookies: readonly string[];
  };
}

export interface Route extends RouteRule {
  matches(path: string): boolean;
}

export function compileRoutes(rules: readonly RouteRule[]): Route[] {
  return rules.map((rule) => {
    if (!rule.match.includes('*')) return { ...rule, matches: (path: string) => path.startsWith(rule.match) };
    const source = rule.match.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
    const pattern = new RegExp(`^${source}`);
    return { ...rule, matches: (path: string) => pattern.test(path) };
  });
}

/** The first route whose match fits the path (query excluded). */
export function routeFor(routes: readonly Route[], pathWithQuery: string): Route | undefined {
  if (routes.length === 0) return undefined;
  const q = pathWithQuery.indexOf('?');
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q);
  return routes.find((route) => route.matches(path));
}

/** The path and query as they enter the cache key under the route's rules. */
export function keyPath(pathWithQuery: string, route: Route | undefined): string {
  const q = pathWithQuery.indexOf('?');
  if (!route || q < 0 || (route.cacheKey.ignoreQuery.length === 0 && !route.cacheKey.sortQuery)) return pathWithQuery;
  const params = pathWithQuery
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair !== '' && !route.cacheKey.ignoreQuery.includes(decodeName(pair)));
  if (route.cacheKey.sortQuery) params.sort();
  return params.length === 0 ? pathWithQuery.slice(0, q) : `${pathWithQuery.slice(0, q)}?${params.join('&')}`;
}

/** Values of the route's key headers and cookies, encoded so they contain no '/' (see exchange.ts). */
export function keyExtras(headers: HeaderMap, route: Route | undefined): string {
  if (!route || (route.cacheKey.headers.length === 0 && route.cacheKey.cookies.length === 0)) return '';
  const parts: string[] = [];
  for (const name of route.cacheKey.headers) {
    const value = headers[name.toLowerCase()];
    parts.push(`${name.toLowerCase()}=${value === undefined ? '' : String(value)}`);
  }
  if (route.cacheKey.cookies.length > 0) {
    const jar = parseCookies(headers['cookie']);
    for (const name of route.cacheKey.cookies) parts.push(`cookie:${name}=${jar.get(name) ?? ''}`);
  }
  return encodeURIComponent(parts.join('&'));
}

function decodeName(pair: string): string {
  const eq = pair.indexOf('=');
  const name = eq < 0 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

function parseCookies(value: HeaderMap[string]): Map<string, string> {
  const jar = new Map<string, string>();
  const text = value === undefined ? '' : typeof value === 'string' ? value : value.join('; ');
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return jar;
}
