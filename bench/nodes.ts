// The processes scenarios measure, started as an operator would: the bench origin, mini-cdn edges
// (through the CLI), the bare Node ceiling; and what scenarios read from them over HTTP.
import { fileURLToPath } from 'node:url';
import { BIN, adminUrlOf, startNode } from './processes.js';
import type { Started } from './processes.js';

export const ADMIN_TOKEN = 'bench-admin-token';

export interface Edge extends Started {
  /** The admin API (GET /stats, /metrics), bearer ADMIN_TOKEN. */
  adminUrl: string;
}

/** The environment without MINI_CDN_* variables, so that an operator's settings do not leak in. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MINI_CDN_')) env[key] = value;
  return { ...env, ...extra };
}

export function startBenchOrigin(options: { cpu?: number } = {}): Promise<Started> {
  return startNode('origin', fileURLToPath(new URL('./origin-server.js', import.meta.url)), ['0'], { ...options, env: cleanEnv() });
}

export function startBareServer(bodyBytes: number, options: { cpu?: number } = {}): Promise<Started> {
  return startNode('bare node', fileURLToPath(new URL('./bare-server.js', import.meta.url)), ['0', String(bodyBytes)], { ...options, env: cleanEnv() });
}

/**
 * A mini-cdn edge in front of `originUrl`, without access logs (a line per request is its own
 * cost), with its admin API (and so its metrics) on a free port. `args` adds CLI flags (e.g.
 * --max-bytes, --redis).
 */
export async function startEdge(originUrl: string, options: { cpu?: number; args?: string[]; env?: NodeJS.ProcessEnv; name?: string } = {}): Promise<Edge> {
  const started = await startPlainEdge(originUrl, { ...options, args: ['--admin-port', '0', '--admin-token', ADMIN_TOKEN, ...(options.args ?? [])] });
  const adminUrl = adminUrlOf(started);
  if (!adminUrl) {
    await started.stop();
    throw new Error(`the edge printed no admin URL: ${started.banner}`);
  }
  return { ...started, adminUrl };
}

/**
 * An edge as the cache alone: no admin API, so no metrics (counting each response costs a
 * hit about a fifth of its CPU), and no access log. With `accessLogFile` it keeps its access
 * log, as shipped, with its stdout (the banner, then one JSON line per request) in that file.
 */
export function startPlainEdge(originUrl: string, options: { cpu?: number; args?: string[]; env?: NodeJS.ProcessEnv; name?: string; accessLogFile?: string } = {}): Promise<Started> {
  const args = ['edge', '--origin', originUrl, '--port', '0', ...(options.accessLogFile === undefined ? ['--no-access-log'] : []), ...(options.args ?? [])];
  return startNode(options.name ?? 'mini-cdn', BIN, args, { ...(options.cpu !== undefined ? { cpu: options.cpu } : {}), ...(options.accessLogFile !== undefined ? { stdoutFile: options.accessLogFile } : {}), env: options.env ?? cleanEnv() });
}

export interface EdgeStats {
  engine: { hits: number; misses: number; revalidations: number; notModified: number; collapsed: number; staleServed: number; passThrough: number; upstreamErrors: number };
  store: { entries: number; bytes: number; evictions: number };
}

export async function readEdgeStats(edge: Edge): Promise<EdgeStats> {
  const res = await fetch(`${edge.adminUrl}/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`${edge.adminUrl}/stats answered ${res.status}`);
  return (await res.json()) as EdgeStats;
}

export interface OriginStats {
  requests: number;
  notModified: number;
}

export async function readOriginStats(origin: { url: string }): Promise<OriginStats> {
  const res = await fetch(`${origin.url}/__stats`);
  return (await res.json()) as OriginStats;
}

export async function resetOrigin(origin: Started): Promise<void> {
  await (await fetch(`${origin.url}/__reset`, { method: 'POST' })).arrayBuffer();
}

/** GETs `url` once and returns its Cache-Status (to warm a cache, or check that it holds a URL). */
export async function fetchCacheStatus(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.headers.get('cache-status') ?? '';
}
