// One client request as the proxy sees it: the parsed target, the cache key and the header map
// the policy reads. Built once per request; a malformed target is refused here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MiniCdnError } from '../../common/errors.js';
import { forwardedView } from '../policy/index.js';
import type { CacheStatusFields, StorableRequest } from '../policy/index.js';
import type { HeaderMap } from '../types.js';
import { canonicalTarget } from './canonical-target.js';
import { REPLACED_BY_NODE } from './forwarding.js';
import type { ConsistencyMode } from './options.js';
import type { OutcomeSlot } from './outcome.js';
import { keyExtras, keyPath, routeFor } from './routes.js';
import type { Route } from './routes.js';

export interface Exchange extends OutcomeSlot {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /**
   * Path and query in their one spelling (canonical-target.ts), starting with '/' (or '*' for
   * OPTIONS): what is keyed, matched against routes and purges, and forwarded, so what is stored
   * is what the origin was asked for.
   */
  path: string;
  /** Lower-case host[:port] the client asked for. */
  host: string;
  /** The URL part of the cache key. */
  primaryKey: string;
  /** Request fields as node parsed them: list fields joined with ", ", Set-Cookie an array. */
  headers: HeaderMap;
  /**
   * The fields as forwarded (without hop-by-hop and Connection-named ones): what picks the
   * variant and decides sharing, since the origin answered for these. `headers` itself unless
   * Connection names a field.
   */
  forwardedHeaders: HeaderMap;
  /** The operator's rule for this path, if any. */
  route: Route | undefined;
  /**
   * This cache's decision for the response, as its Cache-Status member says it: set where the
   * head is labelled (respond.ts), read by the access log and the metrics when it is done.
   */
  cacheStatus: CacheStatusFields | undefined;
}

const DEFAULT_PORT = ':80';

function hostLines(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === 'host') count++;
  return count;
}

export function createExchange(req: IncomingMessage, res: ServerResponse, routes: readonly Route[] = [], maxUrlBytes = Infinity): Exchange {
  const method = req.method ?? 'GET';
  const target = req.url ?? '';
  if (target.length > maxUrlBytes) throw new MiniCdnError('MCDN_URI_TOO_LONG', `the request target is longer than ${maxUrlBytes} bytes`);
  // RFC 9112 §3.2: more than one Host field line is a 400 (node would keep the first).
  if (hostLines(req.rawHeaders) > 1) throw new MiniCdnError('MCDN_REQUEST_INVALID', 'the request has more than one Host header field');
  let path: string;
  let host: string;
  if (target.startsWith('/')) {
    path = canonicalTarget(target);
    host = normalizeHost(req.headers.host ?? '');
  } else if (target === '*' && method === 'OPTIONS') {
    path = '*';
    host = normalizeHost(req.headers.host ?? '');
  } else if (/^https?:\/\//i.test(target)) {
    // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host.
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      throw new MiniCdnError('MCDN_REQUEST_INVALID', 'the request target is not a valid URL');
    }
    path = canonicalTarget(parsed.pathname + parsed.search);
    host = normalizeHost(parsed.host);
  } else {
    throw new MiniCdnError('MCDN_REQUEST_INVALID', 'the request target must be an absolute path');
  }
  // RFC 9112 §3.2: HTTP/1.1 requires Host; an HTTP/1.0 request without one shares one placeholder host.
  if (host === '' && req.httpVersion === '1.0') host = '-';
  if (host === '' || /[^a-z0-9.\-:[\]_]/.test(host)) {
    throw new MiniCdnError('MCDN_REQUEST_INVALID', 'the Host header is missing or malformed');
  }
  const headers = req.headers as HeaderMap;
  const route = routeFor(routes, path);
  const extras = keyExtras(headers, route);
  return {
    req,
    res,
    method,
    path,
    host,
    // Key extras sit between host and path, encoded (no '/'), so purges by path still find the key.
    primaryKey: primaryKeyOf(extras === '' ? host : `${host}#${extras}`, keyPath(path, route)),
    headers,
    forwardedHeaders: forwardedView(headers, REPLACED_BY_NODE),
    route,
    cacheStatus: undefined,
  };
}

/** The request as the storability rules see it (a GET for the key), with its route's keying and lifetime. */
export function storableRequestOf(ex: Exchange, defaultMode: ConsistencyMode): StorableRequest {
  const route = ex.route;
  return {
    method: 'GET',
    headers: ex.forwardedHeaders,
    keyedCookies: route?.cacheKey.cookies,
    // A TTL override or callback mode gives a lifetime the response itself lacks.
    operatorLifetime: (route?.mode ?? defaultMode) === 'callback' || (route !== undefined && route.ttlOverrideMs !== null),
  };
}

/** The absolute URL the client asked for (for invalidation targets, RFC 9111 §4.4). */
export function urlOf(ex: Exchange): string {
  return `http://${ex.host}${ex.path === '*' ? '/' : ex.path}`;
}

/** The URL part of the cache key: host and the canonical path with query. */
export function primaryKeyOf(host: string, path: string): string {
  return host + path;
}

/** The cache key of an absolute URL (for invalidations by URL, RFC 9111 §4.4): its path in the spelling requests are keyed by. */
export function primaryKeyOfUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    return primaryKeyOf(normalizeHost(u.host), canonicalTarget(u.pathname + u.search));
  } catch {
    return undefined;
  }
}

function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.endsWith(DEFAULT_PORT) ? lower.slice(0, -DEFAULT_PORT.length) : lower;
}
