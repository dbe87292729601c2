// Helpers for the memory-fill attacks: an origin of large distinct bodies, an edge started as its
// own process from a config file (so its memory can be read from /proc), and raw clients that
// send a request and never read the answer.
import http from 'node:http';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakRssBytes, rssBytes } from '../../bench/processes.js';
import { startCliEdge } from './cli-edge.js';
import { parseCacheStatus } from '../../proxy/policy/index.js';
import { customOrigin, waitFor } from './harness.js';

const PREFIX_BYTES = 64;

/**
 * An origin whose every path is a distinct body of `bodyBytes`: the path in the first bytes, then
 * one preallocated filler shared by all (no per-request allocation in the test process).
 * Paths with `chunked` are answered without Content-Length, paths with `nostore` with
 * Cache-Control: no-store. Counts requests per path.
 */
export interface LargeBodyOrigin {
  url: string;
  count(path: string): number;
  total(): number;
  /** Paths with `gated` stop after half their body until released. */
  release(path: string): void;
  close(): Promise<void>;
}

export async function largeBodyOrigin(bodyBytes: number): Promise<LargeBodyOrigin> {
  const filler = Buffer.alloc(bodyBytes - PREFIX_BYTES, 'x');
  const counts = new Map<string, number>();
  const gates = new Map<string, () => void>();
  let total = 0;
  const origin = await customOrigin((req, res) => {
    const path = req.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    total++;
    const headers: http.OutgoingHttpHeaders = { 'cache-control': path.includes('nostore') ? 'no-store' : 'max-age=600', 'content-type': 'application/octet-stream' };
    if (!path.includes('chunked')) headers['content-length'] = String(bodyBytes);
    res.writeHead(200, headers);
    res.write(prefixOf(path));
    if (!path.includes('gated')) return void res.end(filler);
    const half = Math.floor(filler.length / 2);
    res.write(filler.subarray(0, half));
    gates.set(path, () => res.end(filler.subarray(half)));
  });
  return {
    url: origin.url,
    count: (path) => counts.get(path) ?? 0,
    total: () => total,
    release: (path) => gates.get(path)?.(),
    close: () => origin.close(),
  };
}

function prefixOf(path: string): Buffer {
  const prefix = Buffer.alloc(PREFIX_BYTES, ' ');
  prefix.write(path.slice(0, PREFIX_BYTES));
  return prefix;
}

/** The digest of the body largeBodyOrigin serves for `path`. */
export function expectedDigest(path: string, bodyBytes: number): string {
  return createHash('sha256').update(prefixOf(path)).update(Buffer.alloc(bodyBytes - PREFIX_BYTES, 'x')).digest('hex');
}

export function digest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface EdgeProcess {
  url: string;
  port: number;
  pid: number;
  /** Resident memory of the edge process now, and its peak so far (VmRSS, VmHWM). */
  memory(): { rssBytes: number; peakBytes: number };
  /** A series of the edge's /metrics (admin API), without labels; NaN when absent. */
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

const ADMIN_TOKEN = 'memory-fill-admin-token';

/** `mini-cdn edge --config FILE` with the given YAML lines (origins, listen and admin are added). */
export async function startEdgeProcess(originUrl: string, yamlLines: string[]): Promise<EdgeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mini-cdn-memory-fill-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, ['listen: { host: 127.0.0.1, port: 0 }', 'origins:', `  - url: ${originUrl}`, 'logging: { accessLog: false, level: warn }', `admin: { port: 0, token: ${ADMIN_TOKEN} }`, ...yamlLines, ''].join('\n'));
  const env = { ...process.env, MINI_CDN_REDIS_URL: '', MINI_CDN_ADMIN_TOKEN: ADMIN_TOKEN };
  let child: ChildProcess | undefined;
  try {
    const edge = await startCliEdge(['--config', file], env);
    child = edge.child;
    const exited = new Promise<void>((resolve) => edge.child.once('exit', () => resolve()));
    const { url, pid } = edge;
    // The banner names the admin API after the edge's own address.
    const adminUrl = /, admin (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.output())?.[1] as string;
    return {
      url,
      port: Number(new URL(url).port),
      pid,
      memory: () => ({ rssBytes: rssBytes(pid) ?? NaN, peakBytes: peakRssBytes(pid) ?? NaN }),
      async metric(name) {
        const res = await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const text = await res.text();
        return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      },
      async stop() {
        edge.child.kill('SIGKILL');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface NonReader {
  socket: net.Socket;
  /** True once the socket reached its end or was reset (only seen after resume). */
  ended: boolean;
  /** Reads what is left until the connection ends (bounded by `waitMs`); returns the bytes after the header block. */
  drain(waitMs: number): Promise<{ head: string; bodyBytes: number; ended: boolean }>;
}

/** A client that sends one GET and never reads the answer (the socket stays paused). */
export function nonReader(edgeUrl: string, path: string): Promise<NonReader> {
  const { hostname, port } = new URL(edgeUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.pause();
      // The Host a regular client sends, so that it shares cache keys with them.
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      const reader: NonReader = {
        socket,
        ended: false,
        drain: (waitMs) =>
          new Promise((done) => {
            const chunks: Buffer[] = [];
            const finish = (): void => {
              clearTimeout(timer);
              const all = Buffer.concat(chunks);
              const end = all.indexOf('\r\n\r\n');
              done({ head: all.subarray(0, Math.max(0, end)).toString('latin1'), bodyBytes: end < 0 ? 0 : all.length - end - 4, ended: reader.ended });
            };
            const timer = setTimeout(() => {
              socket.destroy();
              finish();
            }, waitMs);
            socket.on('data', (d: Buffer) => chunks.push(d));
            socket.once('end', () => (reader.ended = true));
            socket.once('error', () => (reader.ended = true));
            socket.once('close', finish);
            socket.resume();
          }),
      };
      resolve(reader);
    });
    socket.once('error', reject);
  });
}

/** The TCP state of the edge's side of each connection to `edgePort`, by client port, from /proc/net/tcp ('01' = established). */
export function edgeSideStates(edgePort: number): Map<number, string> {
  const local = `0100007F:${edgePort.toString(16).toUpperCase().padStart(4, '0')}`;
  const states = new Map<number, string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const remote = fields[2];
    if (fields[1] === local && remote !== undefined && fields[3] !== undefined) states.set(parseInt(remote.split(':')[1] ?? '0', 16), fields[3]);
  }
  return states;
}

/** Waits (bounded) until the edge has closed its side of every given client connection; returns how many it closed. */
export async function waitEdgeClosed(edgePort: number, clients: NonReader[], deadlineMs: number): Promise<number> {
  const closed = (): number => {
    const states = edgeSideStates(edgePort);
    return clients.filter((c) => states.get(c.socket.localPort ?? 0) !== '01').length;
  };
  await waitFor(() => closed() === clients.length, deadlineMs);
  return closed();
}

export interface StartedGet {
  status: number;
  /** This cache's Cache-Status member, parsed. */
  cacheStatus: Record<string, string | number | boolean>;
  /** The whole body, once read. */
  body: Promise<Buffer>;
}

/** A GET that resolves when the response headers arrive; its body is then read as fast as it comes. */
export function startGet(edgeUrl: string, path: string): Promise<StartedGet> {
  const { hostname, port } = new URL(edgeUrl);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: hostname, port, path, agent: false }, (res) => {
      const raw = res.headers['cache-status'];
      const members = raw === undefined ? [] : parseCacheStatus(Array.isArray(raw) ? raw.join(', ') : raw);
      const mine = members[members.length - 1];
      const body = new Promise<Buffer>((done, fail) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.once('end', () => done(Buffer.concat(chunks)));
        res.once('error', fail);
        res.once('aborted', () => fail(new Error('aborted')));
      });
      // Attached at once, so a failure after the headers is not an unhandled rejection.
      body.catch(() => undefined);
      resolve({ status: res.statusCode ?? 0, cacheStatus: mine ? { cache: mine.cache, ...mine.params } : {}, body });
    });
    req.once('error', reject);
  });
}

/** A client that reads, slowly: about `stepBytes` every `stepMs`; resolves with the body (after the header block). */
export function slowReader(edgeUrl: string, path: string, stepBytes: number, stepMs: number, waitMs: number): Promise<{ head: string; body: Buffer; ended: boolean }> {
  const { hostname, port } = new URL(edgeUrl);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let inStep = 0;
    const socket = net.connect(Number(port), hostname, () => {
      socket.pause();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
    });
    const step = setInterval(() => {
      inStep = 0;
      socket.resume();
    }, stepMs);
    const deadline = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      inStep += d.length;
      if (inStep >= stepBytes) socket.pause();
    });
    socket.once('end', () => (ended = true));
    socket.once('error', () => undefined);
    socket.once('close', () => {
      clearInterval(step);
      clearTimeout(deadline);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, Math.max(0, end)).toString('latin1'), body: end < 0 ? Buffer.alloc(0) : all.subarray(end + 4), ended });
    });
  });
}
