// One load run with wrk against one target, for the hit scenarios: a C client with one thread
// keeps up with any server on one core, where autocannon (JavaScript) becomes the bottleneck on
// large bodies (every server reads about 2,000 req/s of 256 KiB through it). wrk's own summary
// is text; a Lua done() hook prints the exact figures as one JSON line, which parseWrkOutput reads.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findBinary } from './baselines.js';
import type { LoadResult } from './load.js';
import { CAN_PIN, cpuSeconds } from './processes.js';
import type { Progress } from './types.js';

/** The prefix of the line the done() hook prints. */
export const WRK_MARKER = 'MINI_CDN_WRK';

/**
 * wrk's done(summary, latency, requests): requests, duration and latency in µs, exact
 * percentiles from wrk's histogram. A run without responses has a NaN mean: printed as 0.
 */
export const WRK_SCRIPT = `-- written by mini-cdn bench (bench/wrk.ts)
done = function(summary, latency, requests)
  local e = summary.errors
  local mean = latency.mean
  if mean ~= mean then mean = 0 end
  -- %.0f, not %d: bytes pass 2^31 within seconds of 256 KiB answers.
  io.write(string.format('${WRK_MARKER} {"requests":%.0f,"durationUs":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latencyUs":{"mean":%.1f,"max":%.0f,"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    mean, latency.max, latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99)))
end
`;

export interface WrkSummary {
  requests: number;
  durationUs: number;
  bytes: number;
  /** status: answers with a status ≥ 400. */
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; max: number; p50: number; p75: number; p90: number; p99: number };
}

const ERRORS = ['connect', 'read', 'write', 'status', 'timeout'] as const;
const LATENCIES = ['mean', 'max', 'p50', 'p75', 'p90', 'p99'] as const;

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`wrk output: ${what} is ${JSON.stringify(value)}`);
  return value;
}

/** The summary from wrk's stdout (its text, then the done() line); throws, quoting it, when there is none. */
export function parseWrkOutput(stdout: string): WrkSummary {
  const line = stdout.split('\n').find((l) => l.startsWith(`${WRK_MARKER} `));
  if (!line) throw new Error(`wrk printed no ${WRK_MARKER} line (was it run with the bench's script?):\n${stdout.trim().slice(-2_000)}`);
  let raw: { errors?: Record<string, unknown>; latencyUs?: Record<string, unknown> } & Record<string, unknown>;
  try {
    raw = JSON.parse(line.slice(WRK_MARKER.length + 1)) as typeof raw;
  } catch {
    throw new Error(`wrk output: the ${WRK_MARKER} line is not JSON: ${line}`);
  }
  const errors = raw.errors ?? {};
  const latency = raw.latencyUs ?? {};
  return {
    requests: finite(raw['requests'], 'requests'),
    durationUs: finite(raw['durationUs'], 'durationUs'),
    bytes: finite(raw['bytes'], 'bytes'),
    errors: Object.fromEntries(ERRORS.map((k) => [k, finite(errors[k], `errors.${k}`)])) as WrkSummary['errors'],
    latencyUs: Object.fromEntries(LATENCIES.map((k) => [k, finite(latency[k], `latencyUs.${k}`)])) as WrkSummary['latencyUs'],
  };
}

/** wrk on the PATH, or undefined. */
export function findWrk(): Promise<string | undefined> {
  return findBinary('wrk');
}

/** "wrk 4.1.0 [epoll] ..." → "wrk 4.1.0"; wrk -v exits 1, its banner is on stdout. */
export function wrkVersion(binary: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(binary, ['-v'], (_err, stdout) => resolve(/^wrk \S+/.exec(String(stdout))?.[0] ?? 'wrk'));
  });
}

export interface WrkOptions {
  binary: string;
  label: string;
  url: string;
  connections: number;
  durationS: number;
  /** The core wrk runs on (the load generator's), with taskset when it can pin. */
  cpu?: number;
  serverPid?: number;
  progress: Progress;
}

function run(binary: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`wrk failed: ${err.message}\n${String(stdout)}${String(stderr)}`.trim()));
      else resolve(String(stdout));
    });
  });
}

/**
 * One wrk run: one thread (one core, like the autocannon it replaces) holding `connections`
 * keep-alive connections for `durationS`. wrk reports no per-second figures, so the series are empty.
 */
export async function runWrk(options: WrkOptions): Promise<LoadResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mini-cdn-wrk-'));
  try {
    const script = path.join(dir, 'done.lua');
    await writeFile(script, WRK_SCRIPT);
    const wrkArgs = ['-t', '1', '-c', String(options.connections), '-d', `${options.durationS}s`, '--timeout', '10s', '--latency', '-s', script, options.url];
    const [command, ...args] = options.cpu !== undefined && CAN_PIN ? ['taskset', '-c', String(options.cpu), options.binary, ...wrkArgs] : [options.binary, ...wrkArgs];
    options.progress.status(`${options.label}: wrk for ${options.durationS} s`);
    const cpuBefore = cpuSeconds(options.serverPid);
    const stdout = await run(command as string, args, (options.durationS + 30) * 1000);
    const cpuAfter = cpuSeconds(options.serverPid);
    return loadResultOf(parseWrkOutput(stdout), cpuBefore, cpuAfter, options.label);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A wrk summary in the shape every load run has; CPU per request from the server's CPU seconds around it. */
export function loadResultOf(summary: WrkSummary, cpuBefore: number | undefined, cpuAfter: number | undefined, label: string): LoadResult {
  const { requests, errors, latencyUs } = summary;
  return {
    requestsPerSec: summary.durationUs > 0 ? requests / (summary.durationUs / 1e6) : 0,
    total: requests,
    p50Ms: latencyUs.p50 / 1000,
    p90Ms: latencyUs.p90 / 1000,
    p99Ms: latencyUs.p99 / 1000,
    maxMs: latencyUs.max / 1000,
    errors: errors.connect + errors.read + errors.write + errors.timeout,
    non2xx: errors.status,
    cpuUsPerRequest: cpuBefore === undefined || cpuAfter === undefined || requests === 0 ? undefined : ((cpuAfter - cpuBefore) * 1e6) / requests,
    throughput: { name: label, points: [] },
    p99: { name: label, points: [] },
  };
}
