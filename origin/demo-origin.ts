// The demo origin: a real node:http server with settable resources, exact caching headers and
// RFC 9110 §13 conditional requests. The CLI's `mini-cdn origin` and every proxy integration
// test talk to it, so it counts and logs every request it receives.
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { MiniCdnError } from '../common/errors.js';
import { evaluateRange, formatContentRange } from '../proxy/policy/index.js';
import type { ByteRange } from '../proxy/policy/index.js';
import { computeEtag, handleSpecial, readBody, seedResources, toBuffer } from './resources.js';
import type { OutHeaders, RequestContext, SeedSpec } from './resources.js';

export interface ResourceSpec {
  /** Default 200; 200..599. */
  status?: number;
  /** Extra or overriding response fields (cache-control, vary, expires, ...); Content-Length is always computed. */
  headers?: Record<string, string | string[]>;
  /** Default ''. */
  body?: string | Buffer;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Default: a strong ETag from a hash of body and version; a string is used as given (quoted if bare); false sends none. */
  etag?: string | false;
  /** Default true: send Last-Modified, the time the resource was last set. */
  lastModified?: boolean;
  /** A per-request body (e.g. per Accept-Language); the computed ETag then follows the body sent. */
  varyBody?: (req: IncomingMessage) => string | Buffer;
}

export interface DemoOriginOptions {
  /** Default true: the built-in resources and special paths. */
  seed?: boolean;
  /** The clock for Date, Last-Modified and Expires; default Date.now. */
  nowMs?: () => number;
}

export interface LogRecord {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** 0 until the response head is sent (and for /hang, forever). */
  status: number;
}

export interface DemoOrigin {
  readonly server: http.Server;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setResource(path: string, spec: ResourceSpec): void;
  deleteResource(path: string): void;
  onChange(listener: (path: string) => void): () => void;
  /** Requests received, by path-with-query and method; no arguments = total. */
  count(path?: string, method?: string): number;
  /** Every request, in order; the last 10_000 are kept. */
  readonly log: LogRecord[];
  /** Clears the counts and the log. */
  resetCounts(): void;
}

const LOG_LIMIT = 10_000;
const NO_BODY_STATUSES = new Set([204, 304]);
/** Fields a 304 carries over from the 200 it stands for (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary'];

interface Stored {
  spec: SeedSpec;
  version: number;
  /** Last-Modified, whole seconds since the epoch. */
  lastModifiedSec: number;
  /** The computed strong ETag of the static body. */
  etag: string;
}

/** Entity-tags of an If-None-Match value; commas inside quotes are part of a tag. */
function parseEntityTags(value: string): string[] {
  const tags: string[] = [];
  for (const m of value.matchAll(/(?:W\/)?"([^"]*)"/g)) tags.push(m[1] ?? '');
  return tags;
}

/** RFC 9110 §13.1.2 with weak comparison; `*` matches any current representation. */
function noneMatchHits(value: string, etag: string | undefined): boolean {
  if (value.trim() === '*') return true;
  if (etag === undefined) return false;
  const own = parseEntityTags(etag)[0];
  return own !== undefined && parseEntityTags(value).includes(own);
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

export function createDemoOrigin(opts: DemoOriginOptions = {}): DemoOrigin {
  const nowMs = opts.nowMs ?? Date.now;
  const seed = opts.seed ?? true;
  const resources = new Map<string, Stored>();
  // Last-Modified per path survives deletes, so a re-created resource still gets a later one.
  const lastModifiedByPath = new Map<string, number>();
  const listeners = new Set<(path: string) => void>();
  const counts = new Map<string, number>();
  const log: LogRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let version = 0;
  let closing: Promise<void> | undefined;

  function notify(path: string): void {
    for (const listener of [...listeners]) {
      try {
        listener(path);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'DemoOriginListenerError');
      }
    }
  }

  function put(path: string, spec: SeedSpec, fire: boolean): void {
    if (!path.startsWith('/')) throw new TypeError(`DemoOrigin: a resource path must start with '/', got ${path}`);
    const status = spec.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`DemoOrigin: status must be an integer in 200..599, got ${status}`);
    }
    version++;
    // Whole seconds, and always later than the previous version's, so If-Modified-Since sees
    // every change even when two sets fall within one second.
    const previous = lastModifiedByPath.get(path);
    const nowSec = Math.floor(nowMs() / 1000);
    const lastModifiedSec = previous !== undefined && previous >= nowSec ? previous + 1 : nowSec;
    lastModifiedByPath.set(path, lastModifiedSec);
    resources.set(path, { spec, version, lastModifiedSec, etag: computeEtag(toBuffer(spec.body), version) });
    if (fire) notify(path);
  }

  function remove(path: string): boolean {
    const existed = resources.delete(path);
    if (existed) notify(path);
    return existed;
  }

  function wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      if (ms <= 0) return resolve(!res.destroyed);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(!res.destroyed);
      }, ms);
      const onClose = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      timers.add(timer);
      res.once('close', onClose);
    });
  }

  function buildHeaders(stored: Stored, body: Buffer, now: number): OutHeaders {
    const { spec } = stored;
    const headers: OutHeaders = {
      date: new Date(now).toUTCString(),
      'content-type': typeof spec.body === 'string' || spec.body === undefined ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    };
    if (spec.etag !== false) {
      if (typeof spec.etag === 'string') headers.etag = /^(W\/)?"/.test(spec.etag) ? spec.etag : `"${spec.etag}"`;
      // A per-request body is a distinct representation: its strong ETag must differ too.
      else headers.etag = spec.varyBody ? computeEtag(body, stored.version) : stored.etag;
    }
    if (spec.lastModified !== false) headers['last-modified'] = new Date(stored.lastModifiedSec * 1000).toUTCString();
    if (spec.headersAt) Object.assign(headers, spec.headersAt(now));
    for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = value;
    delete headers['content-length'];
    if (!NO_BODY_STATUSES.has(spec.status ?? 200)) headers['content-length'] = String(body.length);
    return headers;
  }

  /** 304 when the request's validators match (RFC 9110 §13.2.2: If-None-Match first). */
  function notModified(req: IncomingMessage, headers: OutHeaders): boolean {
    const inm = headerString(req.headers['if-none-match']);
    if (inm !== undefined) return noneMatchHits(inm, headerString(headers.etag));
    const ims = headerString(req.headers['if-modified-since']);
    const lm = headerString(headers['last-modified']);
    if (ims === undefined || lm === undefined) return false;
    const imsMs = Date.parse(ims);
    const lmMs = Date.parse(lm);
    if (Number.isNaN(imsMs) || Number.isNaN(lmMs)) return false;
    return lmMs <= imsMs;
  }

  async function serveResource(ctx: RequestContext, path: string, stored: Stored): Promise<void> {
    const { req, res, method } = ctx;
    if (method === 'PUT') return putResource(ctx, path);
    if (method === 'DELETE') {
      remove(path);
      return ctx.respond(204, {});
    }
    if (method === 'POST') {
      const body = await readBody(req);
      if (body === undefined) return ctx.respond(413, { 'content-type': 'text/plain' }, 'request body too large');
      const echo = JSON.stringify({ method, path, bodyBytes: body.length });
      return ctx.respond(200, { 'content-type': 'application/json' }, echo);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      return ctx.respond(405, { allow: 'GET, HEAD, POST, PUT, DELETE', 'content-type': 'text/plain' }, 'method not allowed');
    }
    const { spec } = stored;
    if (spec.delayMs !== undefined && spec.delayMs > 0 && !(await wait(spec.delayMs, res))) return;
    const body = spec.varyBody ? toBuffer(spec.varyBody(req)) : toBuffer(spec.body);
    const headers = buildHeaders(stored, body, nowMs());
    const status = spec.status ?? 200;
    if (status >= 200 && status < 300 && notModified(req, headers)) {
      const kept: OutHeaders = {};
      for (const name of NOT_MODIFIED_FIELDS) {
        const value = headers[name];
        if (value !== undefined) kept[name] = value;
      }
      ctx.head(304, kept);
      res.end();
      return;
    }
    const part = status === 200 && method === 'GET' ? singleRange(req, headers, body.length) : undefined;
    if (part) {
      // RFC 9110 §14: one range as 206 (several ranges are answered whole, which §14.2 allows).
      ctx.head(206, { ...headers, 'content-range': formatContentRange(part, body.length), 'content-length': String(part.end - part.start + 1) });
      res.end(body.subarray(part.start, part.end + 1));
      return;
    }
    ctx.head(status, headers);
    if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) res.end();
    else res.end(body);
  }

  function singleRange(req: IncomingMessage, headers: OutHeaders, length: number): ByteRange | undefined {
    const range = req.headers.range;
    if (range === undefined) return undefined;
    const ifRange = req.headers['if-range'];
    if (ifRange !== undefined && ifRange !== headers['etag']) return undefined;
    const wanted = evaluateRange(range, length);
    return wanted.kind === 'ranges' && wanted.ranges.length === 1 ? wanted.ranges[0] : undefined;
  }

  async function putResource(ctx: RequestContext, path: string): Promise<void> {
    const body = await readBody(ctx.req);
    if (body === undefined) return ctx.respond(413, { 'content-type': 'text/plain' }, 'request body too large');
    const old = resources.get(path);
    // Keep the old caching fields; the body (and so any per-request body) and its type are replaced.
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(old?.spec.headers ?? {})) {
      if (name.toLowerCase() !== 'content-type') headers[name] = value;
    }
    headers['content-type'] = ctx.req.headers['content-type'] ?? 'application/octet-stream';
    const spec: SeedSpec = { ...old?.spec, varyBody: undefined, body, headers };
    put(path, spec, true);
    ctx.respond(old ? 204 : 201, {});
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://origin.invalid');
    } catch {
      url = new URL('http://origin.invalid/');
    }
    // Origin-form targets match exactly as sent; absolute-form ones by their path and query.
    const path = rawUrl.startsWith('/') ? rawUrl : url.pathname + url.search;
    const record: LogRecord = { method, path, headers: req.headers, status: 0 };
    log.push(record);
    if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
    const countKey = `${method} ${path}`;
    counts.set(countKey, (counts.get(countKey) ?? 0) + 1);

    const ctx: RequestContext = {
      req,
      res,
      method,
      url,
      nowMs,
      wait: (ms) => wait(ms, res),
      readBody: () => readBody(req),
      head(status, headers) {
        record.status = status;
        res.writeHead(status, { date: new Date(nowMs()).toUTCString(), ...headers });
      },
      respond(status, headers, body) {
        const buf = toBuffer(body);
        ctx.head(status, NO_BODY_STATUSES.has(status) ? headers : { ...headers, 'content-length': String(buf.length) });
        if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) res.end();
        else res.end(buf);
      },
    };

    try {
      const stored = resources.get(path);
      if (stored) return await serveResource(ctx, path, stored);
      if (seed && (await handleSpecial(ctx))) return;
      if (method === 'PUT') return await putResource(ctx, path);
      ctx.respond(404, { 'content-type': 'text/plain', 'cache-control': 'max-age=10' }, 'not found');
    } catch (err) {
      // A bug or a throwing varyBody answers 500 (and is logged as such), never takes the origin down.
      if (res.headersSent) res.destroy();
      else ctx.respond(500, { 'content-type': 'text/plain' }, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  // Requests the parser rejects (unknown method, bad header): answer 400, never throw.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && socket.bytesWritten === 0 && err.code !== 'ECONNRESET') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
  // CONNECT bypasses the request handler; an origin does not tunnel.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', () => socket.destroy());
  });

  if (seed) {
    const listPaths = (): string[] => [...resources.keys()].sort();
    for (const [path, spec] of seedResources({ nowMs, startMs: nowMs(), listPaths })) put(path, spec, false);
  }

  return {
    server,
    log,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => {
          reject(new MiniCdnError('MCDN_LISTEN_FAILED', `demo origin cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
        };
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address();
          const actualPort = typeof address === 'object' && address !== null ? address.port : port;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`);
        });
      });
    },
    close() {
      closing ??= new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        // The callback gets an error when the server never listened: closing is still done.
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    setResource: (path, spec) => put(path, spec, true),
    deleteResource: (path) => void remove(path),
    onChange(listener) {
      const own = (path: string): void => listener(path);
      listeners.add(own);
      return () => listeners.delete(own);
    },
    count(path, method) {
      let total = 0;
      for (const [key, n] of counts) {
        const space = key.indexOf(' ');
        const methodOk = method === undefined || key.slice(0, space) === method.toUpperCase();
        if (methodOk && (path === undefined || key.slice(space + 1) === path)) total += n;
      }
      return total;
    },
    resetCounts() {
      counts.clear();
      log.length = 0;
    },
  };
}
