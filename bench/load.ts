// One load run with autocannon against one target: totals, percentiles, per-second throughput and
// latency (for the charts), the server's CPU per request, and progress while it runs.
import autocannon from 'autocannon';
import { cpuSeconds } from './processes.js';
import { percentile } from './stats.js';
import type { Progress, Series } from './types.js';

export interface LoadOptions {
  /** Shown in progress lines, e.g. "mini-cdn @200". */
  label: string;
  url: string;
  connections: number;
  durationS: number;
  /** Per-request paths and headers; the URL's own path when absent. */
  requests?: autocannon.Request[];
  /** A fixed overall request rate (req/s): latency at a load the server can carry, not at saturation. */
  overallRate?: number;
  /** The measured server's PID, for CPU per request. */
  serverPid?: number;
  progress: Progress;
}

export interface LoadResult {
  requestsPerSec: number;
  total: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  /** Server CPU (user + system) per request in µs, when /proc tells. */
  cpuUsPerRequest: number | undefined;
  /** Requests completed in each second. */
  throughput: Series;
  /** p99 latency of the responses completed in each second (ms). */
  p99: Series;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = cpuSeconds(options.serverPid);
  const startedAt = Date.now();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
    ...(options.requests ? { requests: options.requests } : {}),
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  }) as unknown as Promise<autocannon.Result>;
  // Without a callback autocannon returns its instance, which is an event emitter and a promise.
  const events = instance as unknown as autocannon.Instance;
  const throughput: Series = { name: options.label, points: [] };
  const p99: Series = { name: options.label, points: [] };
  let second: number[] = [];
  // Every response time, to the microsecond: autocannon's own histogram has millisecond steps,
  // too coarse for "adds at most 1 ms".
  const all: number[] = [];
  events.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
    second.push(responseTimeMs);
    all.push(responseTimeMs);
  });
  events.on('tick', () => {
    const t = Math.round((Date.now() - startedAt) / 1000);
    const sorted = second.sort((a, b) => a - b);
    second = [];
    // autocannon's last tick carries the partial second at the end: not a second's throughput.
    if (t === throughput.points.at(-1)?.t) return;
    throughput.points.push({ t, value: sorted.length });
    p99.points.push({ t, value: sorted.length ? percentile(sorted, 99) : 0 });
    options.progress.status(`${options.label}: ${t}/${options.durationS} s, ${sorted.length} req/s`);
  });
  const result = await instance;
  const cpuAfter = cpuSeconds(options.serverPid);
  const total = result.requests.total;
  all.sort((a, b) => a - b);
  return {
    requestsPerSec: result.requests.average,
    total,
    p50Ms: percentile(all, 50),
    p90Ms: percentile(all, 90),
    p99Ms: percentile(all, 99),
    maxMs: all.length ? (all[all.length - 1] as number) : NaN,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuUsPerRequest: cpuBefore === undefined || cpuAfter === undefined || total === 0 ? undefined : ((cpuAfter - cpuBefore) * 1e6) / total,
    throughput,
    p99,
  };
}
