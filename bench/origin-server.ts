// The bench's origin: cheap, controllable responses so that a scenario measures the cache, not
// the origin's work. Bodies are preallocated per size; every request is counted so scenarios can
// read how many fetches reached the origin. Usage: node origin-server.js PORT
//   GET|HEAD /obj/ID?kb=N&ttl=S&sie=S&delay=MS   N KiB (default 1), Cache-Control public,
//            max-age=S (default 60)[, stale-if-error=S]; strong ETag; answers If-None-Match with 304
//   GET /__stats        {"requests": n, "notModified": n, "paths": {PATH: n}} (paths only with ?paths=1)
//   GET /__count?path=P  how many requests PATH received
//   POST /__reset       zeroes the counts
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** 32 MiB: large enough for the slow-readers scenario's 15 MB objects (one Buffer per size). */
const MAX_KB = 32 * 1024;
const MAX_DELAY_MS = 10_000;
const started = new Date();
const lastModified = started.toUTCString();
const bodies = new Map<number, Buffer>();
const counts = new Map<string, number>();
let requests = 0;
let notModified = 0;

function bodyOf(kb: number): Buffer {
  let body = bodies.get(kb);
  if (!body) {
    body = Buffer.alloc(kb * 1024, 120);
    bodies.set(kb, body);
  }
  return body;
}

function intParam(url: URL, name: string, fallback: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return n <= max ? n : undefined;
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function serveObject(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
  const kb = intParam(url, 'kb', 1, MAX_KB);
  const ttl = intParam(url, 'ttl', 60, 10 * 365 * 86_400);
  const sie = intParam(url, 'sie', 0, 10 * 365 * 86_400);
  const delay = intParam(url, 'delay', 0, MAX_DELAY_MS);
  if (kb === undefined || ttl === undefined || sie === undefined || delay === undefined) return json(res, 400, { error: `kb ≤ ${MAX_KB}, ttl, sie, delay ≤ ${MAX_DELAY_MS} must be integers` });
  const etag = `"${url.pathname.slice(5)}-${kb}"`;
  const headers: http.OutgoingHttpHeaders = {
    'cache-control': `public, max-age=${ttl}${sie ? `, stale-if-error=${sie}` : ''}`,
    etag,
    'last-modified': lastModified,
    'content-type': 'application/octet-stream',
  };
  const answer = (): void => {
    if (req.headers['if-none-match'] === etag) {
      notModified++;
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const body = bodyOf(kb);
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (delay > 0) setTimeout(answer, delay);
  else answer();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  if (url.pathname === '/__stats') return json(res, 200, { requests, notModified, ...(url.searchParams.has('paths') ? { paths: Object.fromEntries(counts) } : {}) });
  if (url.pathname === '/__count') return json(res, 200, { path: url.searchParams.get('path'), requests: counts.get(url.searchParams.get('path') ?? '') ?? 0 });
  // The edges' active health checks: answered, and not counted as the workload's requests.
  if (url.pathname === '/healthz') return json(res, 200, { ok: true });
  if (url.pathname === '/__reset' && req.method === 'POST') {
    requests = 0;
    notModified = 0;
    counts.clear();
    return json(res, 200, { reset: true });
  }
  requests++;
  counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
  if (url.pathname.startsWith('/obj/') && (req.method === 'GET' || req.method === 'HEAD')) return serveObject(req, res, url);
  json(res, 404, { error: 'not found', routes: ['GET /obj/ID?kb=N&ttl=S&sie=S&delay=MS', 'GET /__stats', 'GET /__count?path=P', 'POST /__reset'] });
});
server.keepAliveTimeout = 5_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`bench origin listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
