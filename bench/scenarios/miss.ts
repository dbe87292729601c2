// miss: every URL is new, so every request goes through the proxy to the origin. Measured at a
// fixed request rate the servers can carry, so latency is the cost of the path, not queueing; the
// same stream of new URLs is sent to the origin directly in the same run.
import type autocannon from 'autocannon';
import { runLoad } from '../load.js';
import type { LoadResult } from '../load.js';
import { fixed, judge, median, shuffled } from '../stats.js';
import { startTargets } from '../targets.js';
import type { TargetKind } from '../targets.js';
import type { Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const TARGETS: TargetKind[] = ['origin direct', 'mini-cdn', 'nginx', 'varnish'];
const RATE = 500;
const CONNECTIONS = 10;

/** Requests for URLs never asked before: a prefix per run and a counter per request. */
function freshUrls(prefix: string): autocannon.Request[] {
  let n = 0;
  return [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/obj/${prefix}-${n++}?kb=1` }) }];
}

export const miss: Scenario = {
  name: 'miss',
  title: 'Cache misses: every URL new',
  needsRedis: false,
  run: runMiss,
};

async function runMiss(ctx: ScenarioContext): Promise<ScenarioResult> {
  const began = Date.now();
  const rounds = ctx.quick ? 1 : 3;
  const durationS = ctx.durationS ?? (ctx.quick ? 2 : 10);
  const set = await startTargets(TARGETS, { ...(ctx.pinned ? { cpu: 1 } : {}), bareBodyBytes: 1024 });
  const notes = [...set.skipped];
  const runs = new Map<TargetKind, LoadResult[]>();
  let originBefore = 0;
  let sent = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const target of shuffled(set.targets)) {
        const result = await runLoad({ label: `round ${round}/${rounds} ${target.name}`, url: target.url, connections: CONNECTIONS, overallRate: RATE, durationS, requests: freshUrls(`miss-${round}-${target.name.replace(/\W/g, '')}`), serverPid: target.pid, progress: ctx.progress });
        runs.set(target.name, [...(runs.get(target.name) ?? []), result]);
        sent += result.total;
        if (result.errors + result.non2xx) notes.push(`${target.name} round ${round}: ${result.errors + result.non2xx} errors or non-2xx answers`);
      }
    }
    originBefore = await originRequests(set.origin.url);
  } finally {
    await set.stopAll();
  }
  const summary = set.targets.map((t) => {
    const list = runs.get(t.name) ?? [];
    const cpu = list.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined);
    return { target: t.name, p50: median(list.map((r) => r.p50Ms)), p90: median(list.map((r) => r.p90Ms)), p99: median(list.map((r) => r.p99Ms)), rps: median(list.map((r) => r.requestsPerSec)), cpu: cpu.length ? median(cpu) : undefined };
  });
  const origin = summary.find((s) => s.target === 'origin direct');
  const cdn = summary.find((s) => s.target === 'mini-cdn');
  const added = origin && cdn ? cdn.p50 - origin.p50 : undefined;
  if (originBefore < sent) notes.push(`the origin counted ${originBefore} requests for ${sent} sent: some misses did not reach it`);
  return {
    scenario: 'miss',
    title: 'Cache misses: every URL new',
    method: `A new URL per request (1 KiB objects) at a fixed ${RATE} req/s over ${CONNECTIONS} connections for ${durationS} s per target, ${rounds} round(s) in a new order each; medians of the rounds' percentiles (latency to the microsecond). Proxies and origin share core 1, so a proxy's figure includes the origin's work.`,
    columns: [
      { key: 'target', label: 'target' },
      { key: 'rps', label: 'req/s' },
      { key: 'p50', label: 'p50 ms' },
      { key: 'p90', label: 'p90 ms' },
      { key: 'p99', label: 'p99 ms' },
      { key: 'addedP50', label: 'added p50 ms' },
      { key: 'cpu', label: 'proxy CPU µs/req' },
    ],
    rows: summary.map((s) => ({ target: s.target, rps: Math.round(s.rps), p50: round3(s.p50), p90: round3(s.p90), p99: round3(s.p99), addedP50: origin && s !== origin ? round3(s.p50 - origin.p50) : null, cpu: s.cpu === undefined ? null : Math.round(s.cpu) })),
    charts: [{ kind: 'bar', title: 'Miss latency', unit: 'ms', groups: (['p50', 'p90', 'p99'] as const).map((p) => ({ label: p, bars: summary.map((s) => ({ name: s.target, value: round3(s[p]) })) })) }],
    goals: [judge('miss path adds at p50 over the origin direct', added, 1, { atLeast: false, unit: 'ms', detail: origin && cdn ? `${fixed(cdn.p50, 3)} − ${fixed(origin.p50, 3)} ms` : '' })],
    notes,
    durationS: (Date.now() - began) / 1000,
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

async function originRequests(originUrl: string): Promise<number> {
  const res = await fetch(`${originUrl}/__stats`);
  return ((await res.json()) as { requests: number }).requests;
}
