// One origin, reached through an undici keep-alive pool: connect, headers and body timeouts,
// a retry of idempotent requests whose reused connection was closed under them, and every
// failure turned into a stable MiniCdnError code.
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { MiniCdnError } from '../../common/errors.js';
import type { HeaderMap } from '../types.js';

export interface OriginClientOptions {
  /** Base URL of the origin, e.g. http://127.0.0.1:8080 */
  origin: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Upper bound on sockets to this origin. */
  connections: number;
  keepAliveTimeoutMs: number;
  maxResponseHeaderBytes: number;
  /** Host sent to this origin instead of the client's (origins[].hostHeader); also what health checks send. */
  hostHeader?: string;
}

export const DEFAULT_ORIGIN_CLIENT: Omit<OriginClientOptions, 'origin'> = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  connections: 128,
  keepAliveTimeoutMs: 4_000,
  maxResponseHeaderBytes: 64 * 1024,
};

export interface UpstreamRequest {
  method: string;
  /** Path and query, starting with '/'. */
  path: string;
  headers: HeaderMap;
  body?: Readable | null;
  signal?: AbortSignal;
  /** 1xx interim responses, as they arrive. */
  onInfo?: (status: number, headers: HeaderMap) => void;
}

export interface UpstreamResponse {
  status: number;
  headers: HeaderMap;
  body: Dispatcher.ResponseData['body'];
  /** When the request was sent and its response headers arrived (RFC 9111 §4.2.3). */
  requestTimeMs: number;
  responseTimeMs: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors that mean a reused keep-alive socket was closed by the origin before it answered. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

export class OriginClient {
  readonly origin: string;
  /** The Host this origin gets, when it is not the client's. */
  readonly hostHeader: string | undefined;
  private readonly pool: Pool;
  private readonly options: OriginClientOptions;

  constructor(options: OriginClientOptions) {
    this.options = options;
    this.origin = new URL(options.origin).origin;
    this.hostHeader = options.hostHeader;
    this.pool = new Pool(this.origin, {
      connections: options.connections,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      maxHeaderSize: options.maxResponseHeaderBytes,
    });
  }

  /**
   * Sends the request; resolves at the response's headers; rejects with a MiniCdnError.
   * Promise chains rather than async functions: this runs for every origin request, and each
   * async layer costs a promise, a frame and microtask turns.
   */
  request(req: UpstreamRequest): Promise<UpstreamResponse> {
    // Only a request without a body can be sent again: a streamed body is consumed.
    const retryable = IDEMPOTENT.has(req.method) && !req.body;
    return this.send(req).catch((err: unknown) => {
      if (retryable && isStaleSocket(err) && !req.signal?.aborted) return this.send(req).catch(rethrowClassified);
      throw classifyUpstreamError(err);
    });
  }

  private send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const requestTimeMs = Date.now();
    let sent: Promise<Dispatcher.ResponseData>;
    try {
      sent = this.pool.request({
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        // undici sends a `host` field as the request's Host (else the origin's authority). A copy,
        // not a change in place: the pool may send the same fields to an origin without override.
        headers: (this.hostHeader === undefined ? req.headers : { ...req.headers, host: this.hostHeader }) as Record<string, string | string[]>,
        body: req.body ?? null,
        signal: req.signal ?? null,
        ...(req.onInfo ? { onInfo: (info: { statusCode: number; headers: Record<string, string | string[]> }) => req.onInfo?.(info.statusCode, info.headers) } : {}),
      });
    } catch (err) {
      return Promise.reject(err);
    }
    return sent.then((res) => {
      const responseTimeMs = Date.now();
      if (res.statusCode === 304 || res.statusCode === 204 || req.method === 'HEAD') {
        // These carry no body. undici reports a 304 whose Content-Length announces the
        // representation's size as a length mismatch after the headers; that must not fail a
        // revalidation, so the empty body is drained and its error ignored.
        res.body.on('error', ignore);
        res.body.resume();
      }
      return { status: res.statusCode, headers: res.headers as HeaderMap, body: res.body, requestTimeMs, responseTimeMs };
    });
  }

  stats(): { connected: number; running: number; pending: number } {
    const s = this.pool.stats;
    return { connected: s.connected, running: s.running, pending: s.pending };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

function ignore(): void {}

function isStaleSocket(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && STALE_SOCKET_CODES.has(code);
}

function rethrowClassified(err: unknown): never {
  throw classifyUpstreamError(err);
}

/** Maps undici and socket errors to the error table: what the client is told and why. */
export function classifyUpstreamError(err: unknown): MiniCdnError {
  if (err instanceof MiniCdnError) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new MiniCdnError('MCDN_UPSTREAM_TIMEOUT', 'the origin did not accept the connection in time', { cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new MiniCdnError('MCDN_UPSTREAM_TIMEOUT', 'the origin did not send response headers in time', { cause: err });
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new MiniCdnError('MCDN_UPSTREAM_TIMEOUT', 'the origin stopped sending the response body', { cause: err });
  }
  if (err instanceof undiciErrors.HTTPParserError || code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INFO') {
    return new MiniCdnError('MCDN_UPSTREAM_PROTOCOL', `the origin's response is not valid HTTP/1.1 (${code})`, { cause: err });
  }
  if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_SOCKET'].includes(code)) {
    return new MiniCdnError('MCDN_UPSTREAM_CONNECT', `the origin could not be reached or closed the connection (${code})`, { cause: err });
  }
  return new MiniCdnError('MCDN_UPSTREAM_FAILED', `the request to the origin failed: ${message}`, { cause: err });
}
