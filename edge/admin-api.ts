// The edge admin API, on its own port: purges (published on the bus, so every edge applies them),
// the live edges, stats. Every route but /healthz needs `Authorization: Bearer <token>`.
//   POST  /purge          {"urls":[...],"prefixes":[...],"tags":[...],"all":true,"soft":true,"waitMs":500}
//   PURGE /some/path?soft=1&wait=500   purges that path and query, as written (every variant, any
//                                      host; '//a//b' is the path '/a//b', the admin Host is never used)
//   GET   /edges  GET /stats  GET /metrics (Prometheus text, when the edge keeps metrics)  GET /healthz
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { ERROR_CODES, listenFailed, MiniCdnError } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import { canonicalTarget } from '../proxy/server/canonical-target.js';
import { publishInvalidation } from './bus/receipts.js';
import type { InvalidationRequest } from './bus/types.js';
import type { EdgeNode } from './edge-node.js';

const MAX_BODY_BYTES = 64 * 1024;
/** Bytes of an oversized body still read (and dropped) so the client reads the 413; a close with unread bytes resets the connection and loses it. */
const MAX_DISCARD_BYTES = 1024 * 1024;
const MAX_WAIT_MS = 30_000;
/** The host of URLs the PURGE verb publishes: purges by URL match path and query on every host. */
const ANY_HOST = 'http://any-host.invalid';
/** Query parameters of PURGE that steer the purge and are not part of the purged URL. */
const PURGE_CONTROLS = ['soft', 'wait'];

export interface AdminServer {
  readonly server: http.Server;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createAdminServer(edge: EdgeNode, options: { token: string }): AdminServer {
  const expected = Buffer.from(`Bearer ${options.token}`);
  const server = http.createServer({ maxHeaderSize: 8 * 1024, requestTimeout: 30_000 + MAX_WAIT_MS }, (req, res) => {
    handle(req, res).catch((err: unknown) => sendError(req, res, err));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // The target as written: a URL parser would read '//a//b' as host 'a' and re-encode the query.
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    if (req.method === 'GET' && pathname === '/healthz') return sendJson(res, 200, { ok: true, id: edge.id, bus: edge.bus.state() });
    const given = Buffer.from(req.headers.authorization ?? '');
    if (options.token === '' || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MiniCdnError('MCDN_UNAUTHORIZED', 'missing or wrong bearer token');
    }
    if (req.method === 'GET' && pathname === '/stats') {
      return sendJson(res, 200, { edge: edge.stats(), engine: edge.proxy.engine.stats(), store: edge.proxy.store.stats(), bus: edge.bus.stats() });
    }
    if (req.method === 'GET' && pathname === '/metrics') return sendMetrics(res);
    if (req.method === 'GET' && pathname === '/edges') return sendJson(res, 200, { edges: await edge.bus.liveEdges() });
    if (req.method === 'POST' && pathname === '/purge') {
      const body = parseJson(await readBody(req));
      const { waitMs, ...request } = body as InvalidationRequest & { waitMs?: unknown };
      return purge(res, request, waitMs);
    }
    if (req.method === 'PURGE') {
      if (!pathname.startsWith('/')) throw new MiniCdnError('MCDN_INVALIDATION_INVALID', 'PURGE takes a path starting with /');
      const { kept, controls } = splitQuery(query, PURGE_CONTROLS);
      // Canonical before it becomes a URL, so the URL parser finds nothing to rewrite (a backslash would become '/').
      const path = canonicalTarget(kept === '' ? pathname : `${pathname}?${kept}`);
      return purge(res, { urls: [`${ANY_HOST}${path}`], soft: controls.get('soft') === '1' }, controls.get('wait'));
    }
    return sendJson(res, 404, { error: 'not found', routes: ['POST /purge', 'PURGE /path', 'GET /edges', 'GET /stats', 'GET /metrics', 'GET /healthz'] });
  }

  async function sendMetrics(res: http.ServerResponse): Promise<void> {
    if (!edge.metrics) return sendJson(res, 404, { error: 'not found', message: 'this edge keeps no metrics' });
    const text = await edge.metrics.text();
    res.writeHead(200, { 'content-type': edge.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  async function purge(res: http.ServerResponse, request: InvalidationRequest, wait: unknown): Promise<void> {
    const waitMs = wait === undefined ? 0 : Number(wait);
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) {
      throw new MiniCdnError('MCDN_INVALIDATION_INVALID', `waitMs must be a whole number of ms from 0 to ${MAX_WAIT_MS}`);
    }
    const { message, receipt } = await publishInvalidation(edge.bus, request, { waitMs });
    sendJson(res, 202, { id: message.id, seq: message.seq, epoch: message.epoch, receipt });
  }

  return {
    server,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(listenFailed('admin API', host, port, err));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(`http://${host}:${(server.address() as AddressInfo).port}`);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The query without the named parameters, every other pair kept byte for byte, and the named ones' values. */
function splitQuery(query: string, names: readonly string[]): { kept: string; controls: Map<string, string> } {
  const controls = new Map<string, string>();
  const kept: string[] = [];
  for (const pair of query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (names.includes(name)) controls.set(name, eq < 0 ? '' : pair.slice(eq + 1));
    else kept.push(pair);
  }
  return { kept: kept.join('&'), controls };
}

/**
 * The body as text. One over MAX_BODY_BYTES is read to its end and dropped, up to
 * MAX_DISCARD_BYTES more, before the 413: the client, still sending, then reads the answer.
 */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = (): MiniCdnError => new MiniCdnError('MCDN_BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_BODY_BYTES + MAX_DISCARD_BYTES) {
        req.pause();
        reject(tooLarge());
      }
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MiniCdnError('MCDN_INVALIDATION_INVALID', 'the body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MiniCdnError('MCDN_INVALIDATION_INVALID', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  const code: ErrorCode = err instanceof MiniCdnError ? err.code : 'MCDN_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  // A body too large even to drop ends the connection: the rest of it cannot be read as a next request.
  sendJson(res, ERROR_CODES[code].status || 500, { error: code, message }, code === 'MCDN_BODY_TOO_LARGE' && !req.complete);
}
