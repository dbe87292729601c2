// The demo origin's built-in content: seeded resources showing a mix of caching headers, and
// special paths generated per request (echo, slow, big, chunked, status, hang).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceSpec } from './demo-origin.js';

export type OutHeaders = Record<string, string | string[]>;

/** A seeded resource may compute fields per response (e.g. Expires = now + 30 s). */
export interface SeedSpec extends ResourceSpec {
  headersAt?: (nowMs: number) => OutHeaders;
}

/** What the server hands a special path's handler. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  nowMs: () => number;
  /** Resolves false when the response closed first. */
  wait(ms: number): Promise<boolean>;
  /** The request body; undefined when too large or aborted. */
  readBody(): Promise<Buffer | undefined>;
  /** Sends the head (Date from nowMs unless given) and records the status in the log. */
  head(status: number, headers: OutHeaders): void;
  /** A complete response with Content-Length; no body for HEAD, 204 and 304. */
  respond(status: number, headers: OutHeaders, body?: string | Buffer): void;
}

const CHUNK_BYTES = 16 * 1024;
const MAX_KB = 1024 * 1024; // 1 GiB
const MAX_SLOW_MS = 600_000;
const TEXT = 'text/plain; charset=utf-8';

const MAX_REQUEST_BODY = 64 * 1024 * 1024;

export function toBuffer(body: string | Buffer | undefined): Buffer {
  return body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** A strong ETag from the body and the resource version, so a re-set of the same body still changes it. */
export function computeEtag(body: Buffer, version: number): string {
  return `"${createHash('sha256').update(body).update(`\0${version}`).digest('hex').slice(0, 20)}"`;
}

/** The whole request body; undefined when larger than 64 MiB or aborted. */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_REQUEST_BODY ? Buffer.concat(chunks) : undefined));
    req.on('error', () => resolve(undefined));
    // An aborted upload never ends; 'close' after 'end' is a no-op (already resolved).
    req.on('close', () => resolve(undefined));
  });
}

/** The byte /big and /chunked send at offset i: fixed, so tests can compare byte for byte. */
export function deterministicBytes(offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let j = 0; j < length; j++) {
    const i = offset + j;
    buf[j] = (i * 31 + (i >>> 10)) & 0xff;
  }
  return buf;
}

/** Paths served per request when seeding is on (not stored resources). */
export const SPECIAL_PATHS = ['/echo', '/slow?ms=N', '/big?kb=N', '/chunked?kb=N', '/status/N', '/hang'] as const;

/** An integer query parameter in [min, max]; the default when absent; undefined when malformed. */
function intParam(url: URL, name: string, fallback: number, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

function badRequest(ctx: RequestContext, why: string): void {
  ctx.respond(400, { 'content-type': TEXT, 'cache-control': 'no-store' }, `bad request: ${why}`);
}

function methodNotAllowed(ctx: RequestContext): void {
  ctx.respond(405, { allow: 'GET, HEAD', 'content-type': TEXT }, 'method not allowed');
}

async function streamBytes(ctx: RequestContext, total: number, withLength: boolean): Promise<void> {
  const { res } = ctx;
  const headers: OutHeaders = { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' };
  if (withLength) headers['content-length'] = String(total);
  ctx.head(200, headers);
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  for (let offset = 0; offset < total; offset += CHUNK_BYTES) {
    if (res.destroyed) return;
    // Respect backpressure so a slow reader does not make the origin buffer the whole body.
    if (!res.write(deterministicBytes(offset, Math.min(CHUNK_BYTES, total - offset)))) {
      const drained = await new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => (): void => {
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(ok);
        };
        const onDrain = done(true);
        const onClose = done(false);
        res.once('drain', onDrain);
        res.once('close', onClose);
      });
      if (!drained) return;
    }
  }
  res.end();
}

/** Serves a special path; false when the path is not one. */
export async function handleSpecial(ctx: RequestContext): Promise<boolean> {
  const { url, method } = ctx;
  const readOnly = method === 'GET' || method === 'HEAD';
  const statusMatch = /^\/status\/(\d+)$/.exec(url.pathname);
  if (statusMatch) {
    const status = Number(statusMatch[1]);
    if (status < 200 || status > 599) {
      badRequest(ctx, 'status must be in 200..599');
      return true;
    }
    const headers: OutHeaders = { 'content-type': TEXT };
    const cc = url.searchParams.get('cc');
    if (cc !== null) headers['cache-control'] = cc;
    ctx.respond(status, headers, `status ${status}`);
    return true;
  }
  switch (url.pathname) {
    case '/echo': {
      const body = await ctx.readBody();
      if (body === undefined) {
        ctx.respond(413, { 'content-type': TEXT }, 'request body too large');
        return true;
      }
      const echo = { method, url: ctx.req.url ?? '', headers: ctx.req.headers, body: body.toString('utf8') };
      ctx.respond(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(echo));
      return true;
    }
    case '/slow': {
      const ms = intParam(url, 'ms', 1000, 0, MAX_SLOW_MS);
      if (!readOnly) methodNotAllowed(ctx);
      else if (ms === undefined) badRequest(ctx, `ms must be an integer in 0..${MAX_SLOW_MS}`);
      else if (await ctx.wait(ms)) ctx.respond(200, { 'content-type': TEXT, 'cache-control': 'max-age=60' }, 'slow');
      return true;
    }
    case '/big':
    case '/chunked': {
      const kb = intParam(url, 'kb', 1024, 0, MAX_KB);
      if (!readOnly) methodNotAllowed(ctx);
      else if (kb === undefined) badRequest(ctx, `kb must be an integer in 0..${MAX_KB}`);
      else await streamBytes(ctx, kb * 1024, url.pathname === '/big');
      return true;
    }
    case '/hang':
      // Never answered: the client's timeout or the origin's close() ends it.
      return true;
    default:
      return false;
  }
}

function indexHtml(paths: readonly string[]): string {
  const items = [...paths, ...SPECIAL_PATHS]
    .map((p) => `    <li><a href="${p.replace(/N$/, '1')}">${p}</a></li>`)
    .join('\n');
  return `<!doctype html>\n<html>\n<head><title>mini-cdn demo origin</title></head>\n<body>\n  <h1>mini-cdn demo origin</h1>\n  <ul>\n${items}\n  </ul>\n</body>\n</html>\n`;
}

const LANGUAGES: Record<string, string> = { en: 'hello', fr: 'bonjour', de: 'hallo' };

/** The primary subtag of the first Accept-Language member (no q-value ranking: the demo is about Vary). */
export function firstLanguage(header: string | undefined): string {
  const first = (header ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() ?? '';
  const primary = first.split('-')[0] ?? '';
  return primary in LANGUAGES ? primary : 'en';
}

export interface SeedOptions {
  nowMs: () => number;
  /** When the origin started: Last-Modified of /heuristic is 10 days before it. */
  startMs: number;
  /** The stored resource paths now, for the index page. */
  listPaths: () => string[];
}

/** The seeded resources, one per kind of caching behaviour. */
export function seedResources(opts: SeedOptions): Array<[string, SeedSpec]> {
  const tenDaysMs = 10 * 24 * 60 * 60 * 1000;
  return [
    ['/', {
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'max-age=5' },
      varyBody: () => indexHtml(opts.listPaths()),
    }],
    ['/static/app.js', {
      headers: { 'content-type': 'application/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' },
      body: "console.log('mini-cdn demo app');\n",
    }],
    ['/news', {
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'max-age=5' },
      body: '<!doctype html>\n<h1>News</h1>\n<p>Fresh for five seconds.</p>\n',
    }],
    ['/api/time', {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      varyBody: () => JSON.stringify({ now: opts.nowMs(), iso: new Date(opts.nowMs()).toISOString() }),
    }],
    ['/account', {
      headers: { 'content-type': 'application/json', 'cache-control': 'private, max-age=60' },
      body: JSON.stringify({ user: 'demo', plan: 'free' }),
    }],
    ['/heuristic', {
      // No explicit freshness and no ETag: caches may only use a heuristic from Last-Modified.
      headers: { 'content-type': TEXT, 'last-modified': new Date(opts.startMs - tenDaysMs).toUTCString() },
      etag: false,
      body: 'heuristically fresh: only Last-Modified\n',
    }],
    ['/expires', {
      headers: { 'content-type': TEXT },
      // Per response, so the resource stays fresh for 30 s after each fetch on the origin's clock.
      headersAt: (now) => ({ expires: new Date(now + 30_000).toUTCString() }),
      body: 'fresh until Expires\n',
    }],
    ['/lang', {
      headers: { 'content-type': TEXT, 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      varyBody: (req) => LANGUAGES[firstLanguage(req.headers['accept-language'])] ?? 'hello',
    }],
    ['/no-cache', {
      headers: { 'content-type': TEXT, 'cache-control': 'no-cache' },
      body: 'always revalidated\n',
    }],
    ['/products/7', {
      headers: { 'content-type': TEXT, 'cache-control': 'max-age=600', 'surrogate-key': 'product-7 products' },
      body: 'product 7\n',
    }],
  ];
}
