// The outcome of one client request: this cache's decision (the fields its Cache-Status member
// is serialised from), kept on the exchange when the response head is written, and, when the
// response is done, one typed record for the access log and the metrics. Nothing re-reads a header.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { formatCacheStatus } from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';

/** Where a response's decision is kept: the Exchange, or a stand-in for errors before one exists. */
export interface OutcomeSlot {
  readonly res: ServerResponse;
  /** This cache's decision as its Cache-Status member says; undefined until a head is labelled. */
  cacheStatus: CacheStatusFields | undefined;
}

/** Records the decision on the slot and serialises it: this cache's Cache-Status member. */
export function cacheStatusMember(slot: OutcomeSlot, cacheName: string, fields: CacheStatusFields): string {
  slot.cacheStatus = fields;
  return formatCacheStatus(cacheName, fields);
}

/** One finished client request, as the access log and the metrics read it. */
export interface Outcome {
  /** When the request arrived (epoch ms). */
  time: number;
  method: string;
  /** The request target as received. */
  path: string;
  host: string;
  httpVersion: string;
  remote: string;
  referer: string | undefined;
  userAgent: string | undefined;
  /** The status sent; 0 when the client left before any response. */
  status: number;
  /** Bytes written to the connection for this response, header section included (approximate for pipelined requests). */
  bytes: number;
  /** Of those, the ones after the header section (the body, with any chunk framing). */
  bodyBytes: number;
  durationMs: number;
  /** This cache's decision, undefined when no labelled head was sent. */
  cache: CacheStatusFields | undefined;
  /** What the origin answered, when this response was forwarded and it answered. */
  originStatus: number | undefined;
  /** The connection closed before the response was complete. */
  aborted: boolean;
}

/** The status class labels: 0 (no response) to 5. */
const CODE_LABELS = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** The metric code label of a status: '2xx', ..., 'none' when nothing was sent. */
export function codeLabel(status: number): string {
  return CODE_LABELS[Math.floor(status / 100)] ?? 'none';
}

const FWD_LABELS: Record<NonNullable<CacheStatusFields['fwd']>, string> = {
  'uri-miss': 'fwd=uri-miss',
  'vary-miss': 'fwd=vary-miss',
  miss: 'fwd=miss',
  request: 'fwd=request',
  stale: 'fwd=stale',
  partial: 'fwd=partial',
  bypass: 'fwd=bypass',
  method: 'fwd=method',
};

/** What this cache did, in one word: `hit`, `fwd=<reason>` (uri-miss, stale, ...), or `none`. */
export function cacheLabel(fields: CacheStatusFields | undefined): string {
  if (fields === undefined) return 'none';
  if (fields.hit === true) return 'hit';
  return fields.fwd === undefined ? 'none' : FWD_LABELS[fields.fwd];
}

/**
 * How the request went to the origin, for the origin latency histogram: the status class of the
 * origin's answer ('2xx'...), 'error' when the origin failed, undefined when it was not asked
 * (a hit, a collapsed wait, a request refused before forwarding).
 */
export function originOutcome(fields: CacheStatusFields | undefined): string | undefined {
  if (fields === undefined || fields.hit === true || fields.fwd === undefined || fields.collapsed === true) return undefined;
  if (fields.fwdStatus !== undefined && Number.isInteger(fields.fwdStatus)) return `${Math.floor(fields.fwdStatus / 100)}xx`;
  const d = fields.detail;
  if (d !== undefined && (d.startsWith('MCDN_UPSTREAM_') || d === 'MCDN_NO_HEALTHY_ORIGIN' || d === 'stale-if-error')) return 'error';
  return undefined;
}

/** The header section node wrote for a response (kept in `_header`; there is no public accessor). */
function headerBytes(res: ServerResponse): number {
  const header = (res as ServerResponse & { _header?: unknown })._header;
  return typeof header === 'string' ? header.length : 0;
}

/**
 * Calls onOutcome once when the response is done (finished, or cut off), with the decision the
 * slot holds by then. One 'close' listener: only installed when a log or metrics read outcomes.
 */
export function watchOutcome(req: IncomingMessage, res: ServerResponse, slotOf: () => OutcomeSlot | undefined, onOutcome: (outcome: Outcome) => void): void {
  const time = Date.now();
  const started = performance.now();
  const socket = req.socket;
  const bytesBefore = socket.bytesWritten;
  const remote = socket.remoteAddress ?? '';
  res.once('close', () => {
    const cache = slotOf()?.cacheStatus;
    const status = res.headersSent ? res.statusCode : 0;
    const bytes = Math.max(0, socket.bytesWritten - bytesBefore);
    const outcome: Outcome = {
      time,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      httpVersion: req.httpVersion,
      remote,
      referer: req.headers.referer,
      userAgent: req.headers['user-agent'],
      status,
      bytes,
      bodyBytes: status === 0 ? 0 : Math.max(0, bytes - headerBytes(res)),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      cache,
      originStatus: cache?.fwdStatus,
      aborted: !res.writableFinished,
    };
    try {
      onOutcome(outcome);
    } catch {
      // A failing log or metric must not take the proxy down.
    }
  });
}

/**
 * The outcome of a response node's parser refused or the node wrote itself on the raw socket
 * (clientError, CONNECT): no Exchange, no ServerResponse; the request line is unknown for a parse error.
 */
export function rawOutcome(args: { method: string; path: string; remote: string; status: number; bytes: number; bodyBytes: number; cache: CacheStatusFields; req?: IncomingMessage }): Outcome {
  const { req } = args;
  return {
    time: Date.now(),
    method: args.method,
    path: args.path,
    host: req?.headers.host ?? '',
    httpVersion: req?.httpVersion ?? '1.1',
    remote: args.remote,
    referer: req?.headers.referer,
    userAgent: req?.headers['user-agent'],
    status: args.status,
    bytes: args.bytes,
    bodyBytes: args.bodyBytes,
    durationMs: 0,
    cache: args.cache,
    originStatus: undefined,
    aborted: false,
  };
}
