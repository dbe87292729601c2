// One record per finished client request, for access logs and per-request metrics. The proxy
// node builds it (watchResponse) only when it was given an onResponse hook; accessLine turns it
// into the flat object that gets logged, with this cache's Cache-Status result parsed out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseCacheStatus } from '../policy/index.js';

export interface AccessRecord {
  /** When the request arrived (epoch ms). */
  time: number;
  method: string;
  /** The request target as received. */
  path: string;
  host: string;
  status: number;
  /** Bytes written to the connection for this response, header section included (approximate for pipelined requests). */
  bytes: number;
  durationMs: number;
  /** The Cache-Status field as sent: upstream caches' members, then this cache's (the last). */
  cacheStatus: string;
  remote: string;
  /** Present when the connection closed before the response was complete. */
  aborted?: true;
}

/** What this cache did, from its own (the last) Cache-Status member. */
export interface CacheResult {
  /** `hit`, or `fwd=<reason>` (uri-miss, vary-miss, stale, request, method, bypass, ...), or `none` without a member. */
  cache: string;
  fwdStatus?: number;
  ttl?: number;
  stored?: true;
  collapsed?: true;
  detail?: string;
}

export function cacheResult(cacheStatus: string): CacheResult {
  if (cacheStatus === '') return { cache: 'none' };
  const members = parseCacheStatus(cacheStatus);
  const own = members[members.length - 1];
  if (!own) return { cache: 'none' };
  const p = own.params;
  const result: CacheResult = { cache: p['hit'] === true ? 'hit' : typeof p['fwd'] === 'string' ? `fwd=${p['fwd']}` : 'none' };
  if (typeof p['fwd-status'] === 'number') result.fwdStatus = p['fwd-status'];
  if (typeof p['ttl'] === 'number') result.ttl = p['ttl'];
  if (p['stored'] === true) result.stored = true;
  if (p['collapsed'] === true) result.collapsed = true;
  if (typeof p['detail'] === 'string') result.detail = p['detail'];
  return result;
}

/**
 * How the request went to the origin, for the origin latency histogram: the status class of the
 * origin's answer ('2xx'...), 'error' when the origin failed, undefined when it was not asked
 * (a hit, a collapsed wait, a request refused before forwarding).
 */
export function originOutcome(result: CacheResult): string | undefined {
  if (result.cache === 'hit' || result.cache === 'none' || result.collapsed) return undefined;
  if (result.fwdStatus !== undefined) return `${Math.floor(result.fwdStatus / 100)}xx`;
  const d = result.detail;
  if (d !== undefined && (d.startsWith('MCDN_UPSTREAM_') || d === 'MCDN_NO_HEALTHY_ORIGIN' || d === 'stale-if-error')) return 'error';
  return undefined;
}

/**
 * The logged object: one flat JSON object per request. No `time` of its own: the logger stamps
 * the line when the response finished, and durationMs says how long it took.
 */
export function accessLine(record: AccessRecord): Record<string, string | number | boolean> {
  const result = cacheResult(record.cacheStatus);
  const line: Record<string, string | number | boolean> = {
    method: record.method,
    path: record.path,
    host: record.host,
    status: record.status,
    bytes: record.bytes,
    durationMs: record.durationMs,
    remote: record.remote,
    cache: result.cache,
  };
  if (result.fwdStatus !== undefined) line['fwdStatus'] = result.fwdStatus;
  if (result.ttl !== undefined) line['ttl'] = result.ttl;
  if (result.stored) line['stored'] = true;
  if (result.collapsed) line['collapsed'] = true;
  if (result.detail !== undefined) {
    if (result.detail.startsWith('MCDN_')) line['error'] = result.detail;
    else line['detail'] = result.detail;
  }
  if (record.aborted) line['aborted'] = true;
  return line;
}

type HeaderArgument = Record<string, unknown> | unknown[];

function isCacheStatus(name: string): boolean {
  return name.length === 12 && name.toLowerCase() === 'cache-status';
}

/** The Cache-Status value among writeHead's headers (an object, or a flat [name, value, ...] list). */
function cacheStatusIn(headers: HeaderArgument | undefined): string | undefined {
  if (headers === undefined) return undefined;
  const values: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) for (const v of value) values.push(String(v));
  };
  // The length first: toLowerCase allocates a copy of every other name.
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (isCacheStatus(String(headers[i]))) add(headers[i + 1]);
  } else {
    for (const name in headers) if (isCacheStatus(name)) add(headers[name]);
  }
  return values.length > 0 ? values.join(', ') : undefined;
}

/**
 * Calls onResponse once when the response is done (finished, or cut off). The engine sends its
 * fields through writeHead, which getHeader() cannot see afterwards, so writeHead is wrapped for
 * this one response to read the Cache-Status it sends.
 */
export function watchResponse(req: IncomingMessage, res: ServerResponse, onResponse: (record: AccessRecord) => void): void {
  const time = Date.now();
  const started = performance.now();
  const socket = req.socket;
  const bytesBefore = socket.bytesWritten;
  const remote = socket.remoteAddress ?? '';
  let sent: string | undefined;
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]): ServerResponse => {
    const headers = args.findLast((a) => typeof a === 'object' && a !== null) as HeaderArgument | undefined;
    sent = cacheStatusIn(headers) ?? sent;
    return writeHead.apply(res, args);
  }) as ServerResponse['writeHead'];
  res.once('close', () => {
    const set = res.getHeader('cache-status');
    const record: AccessRecord = {
      time,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      // 0: the client left before any response was sent.
      status: res.headersSent ? res.statusCode : 0,
      bytes: Math.max(0, socket.bytesWritten - bytesBefore),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      cacheStatus: set === undefined ? (sent ?? '') : Array.isArray(set) ? set.join(', ') : String(set),
      remote,
    };
    if (!res.writableFinished) record.aborted = true;
    try {
      onResponse(record);
    } catch {
      // A failing log or metric must not take the proxy down.
    }
  });
}
