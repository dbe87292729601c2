// The servers a comparison runs against, under one shape: the bench origin fetched directly, the
// bare Node ceiling, a mini-cdn edge, and nginx and Varnish when they are installed (each skipped
// with a line saying why otherwise).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isCacheHit, startNginx, startVarnish } from './baselines.js';
import { startBareServer, startBenchOrigin, startEdge, startPlainEdge } from './nodes.js';
import type { Started } from './processes.js';

/**
 * 'mini-cdn' is the cache alone, without its access log; 'mini-cdn +log' is the edge as
 * shipped, its access log on (to a file); 'mini-cdn +metrics' keeps Prometheus metrics (admin
 * API on), without the log. 'nginx' runs without access log, 'nginx +log' with it, as shipped.
 */
export type TargetKind = 'origin direct' | 'bare node' | 'mini-cdn' | 'mini-cdn +log' | 'mini-cdn +metrics' | 'nginx' | 'nginx +log' | 'varnish';

const CACHE_STATUS_HIT = (h: Headers): boolean => /;\s*hit\b/.test(h.get('cache-status') ?? '');

export interface Target {
  name: TargetKind;
  url: string;
  /** The process serving requests, for CPU per request. */
  pid: number | undefined;
  /** Whether a response was a cache hit; undefined for targets that are not caches. */
  isHit(headers: Headers): boolean | undefined;
  stop(): Promise<void>;
}

function fromStarted(name: TargetKind, started: Started, isHit: Target['isHit']): Target {
  return { name, url: started.url, pid: started.child.pid, isHit, stop: () => started.stop() };
}

export interface TargetSet {
  origin: Target;
  targets: Target[];
  /** Why a baseline is missing from `targets`. */
  skipped: string[];
  stopAll(): Promise<void>;
}

/**
 * Starts the origin and the wanted targets, all on core `cpu` when pinning. `bareBodyBytes` sizes
 * the bare server's answer (it should match the measured object). Stops what it started if any
 * start fails.
 */
export async function startTargets(wanted: TargetKind[], options: { cpu?: number; bareBodyBytes: number; edgeArgs?: string[] }): Promise<TargetSet> {
  const cpu = options.cpu !== undefined ? { cpu: options.cpu } : {};
  const started: Target[] = [];
  const skipped: string[] = [];
  const stopAll = async (): Promise<void> => {
    for (const target of [...started].reverse()) await target.stop();
  };
  try {
    const origin = fromStarted('origin direct', await startBenchOrigin(cpu), () => undefined);
    started.push(origin);
    for (const kind of wanted) {
      if (kind === 'origin direct') continue;
      if (kind === 'bare node') started.push(fromStarted(kind, await startBareServer(options.bareBodyBytes, cpu), () => undefined));
      if (kind === 'mini-cdn' || kind === 'mini-cdn +metrics') {
        const edgeOptions = { ...cpu, name: kind, ...(options.edgeArgs ? { args: options.edgeArgs } : {}) };
        const edge = kind === 'mini-cdn' ? await startPlainEdge(origin.url, edgeOptions) : await startEdge(origin.url, edgeOptions);
        started.push(fromStarted(kind, edge, CACHE_STATUS_HIT));
      }
      if (kind === 'mini-cdn +log') {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'mini-cdn-edge-log-'));
        try {
          const edge = await startPlainEdge(origin.url, { ...cpu, name: kind, accessLogFile: path.join(dir, 'access.log'), ...(options.edgeArgs ? { args: options.edgeArgs } : {}) });
          started.push({ ...fromStarted(kind, edge, CACHE_STATUS_HIT), stop: () => edge.stop().finally(() => rm(dir, { recursive: true, force: true })) });
        } catch (err) {
          await rm(dir, { recursive: true, force: true });
          throw err;
        }
      }
      if (kind === 'nginx' || kind === 'nginx +log' || kind === 'varnish') {
        const result = kind === 'varnish' ? await startVarnish(origin.url, cpu) : await startNginx(origin.url, { ...cpu, accessLog: kind === 'nginx +log' });
        if ('skipped' in result) {
          if (!skipped.includes(result.skipped)) skipped.push(result.skipped);
        } else started.push({ name: kind, url: result.started.url, pid: result.started.pid, isHit: (h) => isCacheHit(kind === 'varnish' ? 'varnish' : 'nginx', h), stop: () => result.started.stop() });
      }
    }
    const targets = started.filter((t) => wanted.includes(t.name)).sort((a, b) => wanted.indexOf(a.name) - wanted.indexOf(b.name));
    return { origin, targets, skipped, stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** GETs `path` from a target until it answers from cache (at most a few tries); false if it never does. */
export async function warm(target: Target, path: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    const res = await fetch(target.url + path);
    await res.arrayBuffer();
    const hit = target.isHit(res.headers);
    if (hit !== false) return true;
  }
  return false;
}
