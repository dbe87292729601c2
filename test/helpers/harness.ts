// Test harness: a real demo origin and a real proxy node on port 0, and a small HTTP client.
// Every test file builds its own and closes it after, so files can run in parallel.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { request as undiciRequest, Agent } from 'undici';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyOptions } from '../../proxy/server/options.js';
import { parseCacheStatus } from '../../proxy/policy/index.js';

export interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** This cache's Cache-Status member (the last one), parsed. */
  cacheStatus: Record<string, string | number | boolean>;
}

export interface Stack {
  origin: DemoOrigin;
  originUrl: string;
  proxy: ProxyNode;
  proxyUrl: string;
  get(path: string, headers?: Record<string, string>): Promise<Fetched>;
  send(method: string, path: string, options?: { headers?: Record<string, string>; body?: string }): Promise<Fetched>;
  close(): Promise<void>;
}

const agent = new Agent({ keepAliveTimeout: 1000, connections: 256 });

export async function fetchFrom(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Fetched> {
  const res = await undiciRequest(base + path, { method: method as 'GET', headers: options.headers, body: options.body, dispatcher: agent });
  const body = Buffer.from(await res.body.arrayBuffer());
  const raw = res.headers['cache-status'];
  const members = raw === undefined ? [] : parseCacheStatus(Array.isArray(raw) ? raw.join(', ') : raw);
  const mine = members[members.length - 1];
  return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8'), cacheStatus: mine ? { cache: mine.cache, ...mine.params } : {} };
}

export async function startStack(options: Partial<ProxyOptions> = {}): Promise<Stack> {
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(0);
  const proxy = createProxyNode({ ...options, origin: options.origin ?? originUrl });
  const proxyUrl = await proxy.listen(0);
  return {
    origin,
    originUrl,
    proxy,
    proxyUrl,
    get: (path, headers) => fetchFrom(proxyUrl, 'GET', path, { headers }),
    send: (method, path, opts) => fetchFrom(proxyUrl, method, path, opts),
    async close() {
      await proxy.close();
      await origin.close();
    },
  };
}

/** A TCP server that answers every connection with `script` (raw bytes), for odd origins. */
export async function rawOrigin(script: (socket: net.Socket, request: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end >= 0) {
        const request = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        script(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A node:http origin with a handler of the test's own, counting requests and peak concurrency. */
export async function customOrigin(handler: http.RequestListener): Promise<{ url: string; stats: { requests: number; inFlight: number; peak: number }; close(): Promise<void> }> {
  const stats = { requests: 0, inFlight: 0, peak: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.inFlight++;
    stats.peak = Math.max(stats.peak, stats.inFlight);
    res.on('close', () => stats.inFlight--);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends bytes as they are and returns what came back until the server closed or `waitMs` passed. */
export function rawExchange(base: string, bytes: string, waitMs = 1000): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** Polls until the condition holds or the deadline passes (then the caller's assertion fails). */
export async function waitFor(condition: () => boolean, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

/** A pause, where a test must let something happen that it cannot observe (keep these rare and short). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
