// Writing responses: from a stored entry (hit, 304, HEAD), and error answers with their code.
import { ERROR_CODES } from '../../common/errors.js';
import type { MiniCdnError } from '../../common/errors.js';
import { cacheStatusWith, clientConditionalResult, notModifiedHeaders } from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import type { CacheEntry, HeaderMap } from '../types.js';
import type { Exchange } from './exchange.js';
import { appendField, statusHasContent } from './forwarding.js';
import type { ProxyOptions } from './options.js';
import { cacheStatusMember } from './outcome.js';
import type { OutcomeSlot } from './outcome.js';
import { sendStoredBody } from './paced-send.js';
import type { SendLimit } from './paced-send.js';
import { sendRange } from './range-response.js';

/** What writing a response needs from the options; rebuilt by a reload. */
export interface ResponseLabels {
  cacheName: string;
  forwardCdnCacheControl: boolean;
  /** A client whose socket takes nothing of a body for sendTimeoutMs is cut. */
  send: SendLimit;
}

export function responseLabels(options: ProxyOptions, onCut: () => void = () => undefined): ResponseLabels {
  return { cacheName: options.cacheName, forwardCdnCacheControl: options.forwardCdnCacheControl, send: { timeoutMs: options.sendTimeoutMs, onCut } };
}

/**
 * Adds Via and this cache's Cache-Status member (RFC 9211 §2: appended after upstream caches'),
 * and records the decision on the slot (the exchange) for the access log and the metrics.
 */
export function labelResponse(slot: OutcomeSlot, headers: HeaderMap, labels: ResponseLabels, status: CacheStatusFields): HeaderMap {
  headers['via'] = appendField(headers['via'], `1.1 ${labels.cacheName}`);
  headers['cache-status'] = appendField(headers['cache-status'], cacheStatusMember(slot, labels.cacheName, status));
  return headers;
}

/**
 * The fields every use of an entry sends, as a flat [name, value, ...] list, built once per
 * entry: stored fields, Content-Length from the body, Via. Age and Cache-Status vary per use.
 */
const fieldsByEntry = new WeakMap<CacheEntry, string[]>();
const PER_USE_FIELDS = new Set(['content-length', 'via', 'age', 'cache-status']);

function entryFields(entry: CacheEntry, labels: ResponseLabels): string[] {
  let fields = fieldsByEntry.get(entry);
  if (fields) return fields;
  fields = [];
  for (const name in entry.headers) {
    const value = entry.headers[name];
    if (value === undefined || PER_USE_FIELDS.has(name)) continue;
    if (name === 'cdn-cache-control' && !labels.forwardCdnCacheControl) continue;
    if (typeof value === 'string') fields.push(name, value);
    else for (const line of value) fields.push(name, line);
  }
  // No Content-Length where the status has no content (RFC 9110 §8.6: a server MUST NOT send it in a 1xx or 204).
  if (statusHasContent(entry.status)) fields.push('content-length', String(entry.body.length));
  fields.push('via', appendField(entry.headers['via'], `1.1 ${labels.cacheName}`));
  fieldsByEntry.set(entry, fields);
  return fields;
}

/** The fields for one use of an entry: its served fields plus Age and this use's Cache-Status (recorded on the slot). */
export function servedFields(slot: OutcomeSlot, entry: CacheEntry, ageMs: number, labels: ResponseLabels, status: CacheStatusFields): string[] {
  const fields = entryFields(entry, labels).slice();
  const age = String(Math.max(0, Math.floor(ageMs / 1000)));
  fields.push('age', age, 'cache-status', appendField(entry.headers['cache-status'], cacheStatusMember(slot, labels.cacheName, status)));
  return fields;
}

/**
 * Answers from a stored entry with its current Age; a 304 when the client's own conditional
 * matches it (RFC 9110 §13.2.2), a 206 or 416 for a Range (range-response.ts), headers alone for HEAD.
 */
export function sendEntry(ex: Exchange, entry: CacheEntry, ageMs: number, labels: ResponseLabels, status: CacheStatusFields): void {
  const { res } = ex;
  if ((ex.headers['if-none-match'] !== undefined || ex.headers['if-modified-since'] !== undefined) && clientConditionalResult(ex, entry) === 'not-modified') {
    const headers = notModifiedHeaders(entry.headers);
    headers['age'] = String(Math.max(0, Math.floor(ageMs / 1000)));
    res.writeHead(304, labelResponse(ex, headers, labels, status) as Record<string, string | string[]>);
    res.end();
    return;
  }
  const fields = servedFields(ex, entry, ageMs, labels, status);
  if (ex.method === 'GET' && ex.headers['range'] !== undefined && sendRange(res, ex.headers, entry, fields)) return;
  res.writeHead(entry.status, fields as unknown as Record<string, string>);
  if (ex.method === 'HEAD') res.end();
  else sendStoredBody(res, entry.body, labels.send);
}

/** A clear error answer; when headers already went out, the connection is cut instead. */
export function sendError(slot: OutcomeSlot, err: MiniCdnError, labels: ResponseLabels, status: CacheStatusFields): void {
  const { res } = slot;
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const httpStatus = ERROR_CODES[err.code].status || 502;
  const body = `${httpStatus} ${err.code}: ${err.message}\n`;
  const headers: HeaderMap = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-mini-cdn-error': err.code,
  };
  // Every origin down: tell clients when to come back instead of hammering (RFC 9110 §10.2.3).
  if (httpStatus === 503) headers['retry-after'] = '5';
  res.writeHead(httpStatus, labelResponse(slot, headers, labels, cacheStatusWith(status, { detail: err.code })) as Record<string, string | string[]>);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}
