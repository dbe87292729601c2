// Builds one proxy node: store, variant index, origin client, engine and the node:http server
// that joins them. The factory does not listen; `listen` does, so tests use port 0.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { listenFailed, MiniCdnError } from '../../common/errors.js';
import { MemoryStore } from '../store/memory-store.js';
import { VariantCache } from '../store/variant-cache.js';
import { OriginPool } from '../upstream/origin-pool.js';
import { formatCacheStatus } from '../policy/index.js';
import type { CacheStatusFields } from '../policy/index.js';
import { CacheEngine } from './cache-engine.js';
import { createExchange } from './exchange.js';
import type { Exchange } from './exchange.js';
import { NO_CALLBACKS, resolveProxyOptions } from './options.js';
import type { ProxyHooks, ProxyOptions } from './options.js';
import { rawOutcome, watchOutcome } from './outcome.js';
import type { Outcome, OutcomeSlot } from './outcome.js';
import { sendError } from './respond.js';
import { createUpgradeTunnel } from './upgrade.js';
import { compileRoutes } from './routes.js';

export interface ProxyNode {
  readonly server: http.Server;
  readonly engine: CacheEngine;
  readonly store: MemoryStore;
  readonly cache: VariantCache;
  readonly options: ProxyOptions;
  /**
   * Applies new options without dropping the cache or in-flight requests. Returns the settings
   * that changed but need a restart to take effect (origins, cache bounds, limits).
   */
  reconfigure(given: Partial<ProxyOptions> & { origin: string }): string[];
  /** Listens (port 0 picks a free one); resolves the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Stops accepting; requests in flight may finish for up to graceMs (default 0: cut at once),
   * then every connection is closed, and the origin pool with them.
   */
  close(graceMs?: number): Promise<void>;
}

const SAFE_FOR_CACHE = new Set(['GET', 'HEAD']);
/** Settings a reload applies by building a new origin pool. */
const UPSTREAM_SETTINGS = ['origin', 'origins', 'pool', 'upstream'] as const;
/**
 * Settings fixed when the node is built (the store's bounds, node's parser limit): a reload
 * reports them instead of applying them, since changing them would mean dropping the cache.
 */
const RESTART_SETTINGS = ['maxBytes', 'maxObjectBytes', 'maxVariantsPerUrl', 'tagFields', 'maxRequestHeaderBytes'] as const;

function changed(a: ProxyOptions, b: ProxyOptions, name: keyof ProxyOptions): boolean {
  return JSON.stringify(a[name]) !== JSON.stringify(b[name]);
}

function buildPool(options: ProxyOptions): OriginPool {
  const pool = new OriginPool({ ...options.pool, origins: options.origins ?? [{ url: options.origin, weight: 1 }], client: options.upstream });
  pool.start();
  return pool;
}

/** Closes a replaced pool once the requests it carries are done (at most a minute). */
async function retire(pool: OriginPool): Promise<void> {
  for (let waited = 0; waited < 60_000 && pool.stats().running + pool.stats().pending > 0; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100).unref());
  }
  // The node may be closing it at the same moment: a second close must not throw.
  await pool.close().catch(() => undefined);
}

/**
 * `onOutcome`, when given, is called once per finished client request (access logs, metrics):
 * one 'close' listener per request then; none without it.
 */
export function createProxyNode(given: Partial<ProxyOptions> & { origin: string }, hooks: ProxyHooks = NO_CALLBACKS, onOutcome?: (outcome: Outcome) => void): ProxyNode {
  const resolved = resolveProxyOptions(given);
  const store = new MemoryStore({ maxBytes: resolved.maxBytes, maxObjectBytes: resolved.maxObjectBytes });
  // Header maps hold lower-case names: the configured field names are matched in that case.
  const cache = new VariantCache(store, { maxVariantsPerUrl: resolved.maxVariantsPerUrl, tagFields: resolved.tagFields.map((name) => name.toLowerCase()) });
  let client = buildPool(resolved);
  const retiring = new Set<OriginPool>();
  const engine = new CacheEngine(resolved, cache, client, hooks);
  let options = resolved;
  let routes = compileRoutes(options.routes);

  const server = http.createServer({
    maxHeaderSize: resolved.maxRequestHeaderBytes,
    // Host is checked in createExchange, so that its absence gets the same coded answer as other faults.
    requireHostHeader: false,
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // Timeouts are enforced by a periodic sweep (default every 30 s): sweep often enough that
    // a slow client is cut close to headersTimeoutMs.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(resolved.headersTimeoutMs / 4) || 30_000)),
  });

  /** Serves one request; returns where its decision is kept (the Exchange, or a stand-in for a refused one). */
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): OutcomeSlot => {
    let ex: Exchange;
    try {
      ex = createExchange(req, res, routes, options.maxUrlBytes);
    } catch (err) {
      const refused: OutcomeSlot = { res, cacheStatus: undefined };
      sendError(refused, asMiniCdnError(err), engine.labels, { fwd: 'bypass' });
      return refused;
    }
    const fail = (err: unknown): void => sendError(ex, asMiniCdnError(err), engine.labels, { fwd: 'bypass' });
    try {
      // The hit path answers synchronously; only trips to the origin return a promise.
      const work = SAFE_FOR_CACHE.has(ex.method) ? engine.serveCacheable(ex) : engine.passThrough(ex, { fwd: 'method' });
      if (work) work.catch(fail);
    } catch (err) {
      fail(err);
    }
    return ex;
  };
  // Access logs and per-request metrics: one outcome when the response is done. Without them,
  // requests are served with no listener and no closure of their own.
  server.on(
    'request',
    onOutcome
      ? (req: http.IncomingMessage, res: http.ServerResponse) => {
          // The listener reads the slot when the response is done, long after serve() returned it.
          watchOutcome(req, res, () => slot, onOutcome);
          const slot = serve(req, res);
        }
      : serve,
  );

  // Upgrades go to the first origin: tunnels are long-lived and not balanced.
  const firstOrigin = options.origins?.[0];
  const upgrades = createUpgradeTunnel({ origin: firstOrigin?.url ?? options.origin, hostHeader: firstOrigin?.hostHeader ?? undefined, forwarding: () => engine.forwarding });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => upgrades.handle(req, socket, head));

  /**
   * A response written on the raw socket (node parsed no request the engine could take): it
   * carries Cache-Status like every other, serialised from the same decision the outcome records.
   */
  const writeRaw = (socket: Duplex, status: number, reason: string, code: 'MCDN_METHOD_NOT_ALLOWED' | 'MCDN_REQUEST_INVALID', body: string, req?: http.IncomingMessage): void => {
    const cache: CacheStatusFields = { fwd: 'bypass', detail: code };
    const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Mini-Cdn-Error: ${code}\r\nCache-Status: ${formatCacheStatus(engine.labels.cacheName, cache)}\r\nConnection: close\r\n\r\n`;
    socket.end(head + body);
    if (!onOutcome) return;
    const remote = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '';
    try {
      onOutcome(rawOutcome({ method: req?.method ?? '', path: req?.url ?? '', remote, status, bytes: head.length + body.length, bodyBytes: body.length, cache, req }));
    } catch {
      // A failing log or metric must not take the proxy down.
    }
  };

  // A reverse proxy does not open tunnels.
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    writeRaw(socket, 405, 'Method Not Allowed', 'MCDN_METHOD_NOT_ALLOWED', 'MCDN_METHOD_NOT_ALLOWED: CONNECT is not proxied\n', req);
  });

  // Requests node cannot parse never reach the engine: a clear 4xx and the connection closes.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    // Pipelined behind a response still being written: a 400 now would land inside that
    // response (or be taken for it). Let it finish, then close without answering the bad one.
    if (responseInProgress(socket)) {
      closeAfterResponses(socket);
      return;
    }
    const [status, reason] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout']
      : [400, 'Bad Request'];
    writeRaw(socket, status, reason, 'MCDN_REQUEST_INVALID', `${status} MCDN_REQUEST_INVALID: ${err.code ?? 'malformed request'}\n`);
  });

  return {
    server,
    engine,
    store,
    cache,
    get options() {
      return options;
    },
    reconfigure(next) {
      const fresh = resolveProxyOptions(next);
      // First: it throws on an invalid trusted-proxy list before anything has changed.
      engine.updateOptions(fresh);
      // Origins and how they are reached: a new pool takes new requests; the old one drains.
      if (UPSTREAM_SETTINGS.some((name) => changed(fresh, options, name))) {
        const old = client;
        client = buildPool(fresh);
        engine.replaceUpstream(client);
        retiring.add(old);
        void retire(old).then(() => retiring.delete(old));
      }
      server.headersTimeout = fresh.headersTimeoutMs;
      server.requestTimeout = fresh.requestTimeoutMs;
      server.keepAliveTimeout = fresh.keepAliveTimeoutMs;
      const needRestart = RESTART_SETTINGS.filter((name) => changed(fresh, resolved, name));
      options = fresh;
      routes = compileRoutes(fresh.routes);
      return needRestart;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(listenFailed('proxy', host, port, err));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shown}:${address.port}`);
        });
      });
    },
    async close(graceMs = 0) {
      await new Promise<void>((resolve) => {
        // Stops accepting; resolves once every connection has ended.
        server.close(() => resolve());
        upgrades.close();
        if (graceMs <= 0) {
          server.closeAllConnections();
          return;
        }
        // Requests in flight may finish: connections are closed as soon as they fall idle
        // (swept here rather than tracked per request, to keep the hot path free of listeners),
        // and whatever is still busy at the deadline is cut.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        server.once('close', () => {
          clearInterval(sweep);
          clearTimeout(deadline);
        });
      });
      await Promise.all([client, ...retiring].map((pool) => pool.close().catch(() => undefined)));
    },
  };
}

/**
 * The response node is writing on a socket, if any. node:http keeps it in `socket._httpMessage`
 * (its own clientError fallback checks the same field); there is no public accessor.
 */
function responseOn(socket: Duplex): http.ServerResponse | undefined {
  const message = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
  return message instanceof http.ServerResponse ? message : undefined;
}

/**
 * True while the answer to an earlier request on this socket is being written. An earlier request
 * was parsed whole before the bad one; the response of the bad request itself (node may have made
 * one when the fault shows only after its headers, e.g. a wrong Transfer-Encoding) does not count.
 */
function responseInProgress(socket: Duplex): boolean {
  const res = responseOn(socket);
  return res !== undefined && !res.writableFinished && res.req.complete;
}

/** Sockets already set to close once their responses are out (node may report several parse errors). */
const closing = new WeakSet<Duplex>();

/**
 * Ends the connection once no response is in progress on it: node attaches a pipelined request's
 * response when the one before finishes, so each is waited for in turn (bounded by the requests
 * parsed before the error). A response cut short closes the socket too, at once.
 */
function closeAfterResponses(socket: Duplex): void {
  if (closing.has(socket)) return;
  closing.add(socket);
  // Nothing more is read from this client: what follows the bad request is not HTTP we can trust.
  socket.pause();
  const next = (): void => {
    const res = responseOn(socket);
    if (res === undefined || res.writableFinished) {
      socket.end();
      return;
    }
    res.once('close', () => (res.writableFinished ? setImmediate(next) : socket.destroy()));
  };
  next();
}

function asMiniCdnError(err: unknown): MiniCdnError {
  if (err instanceof MiniCdnError) return err;
  return new MiniCdnError('MCDN_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}
