// miss: every URL is new, so every request goes through the proxy to the origin. Measured twice
// per target: one request at a time (the path's own latency) and at a fixed rate the servers can
// carry over 10 connections (autocannon sends each second's share in a burst, so this one includes
// queueing behind the burst). The same stream of new URLs goes to the origin directly in the same run.
import type autocannon from 'autocannon';
import { runLoad } from '../load.js';
import { readOriginStats } from '../nodes.js';
import type { LoadResult } from '../load.js';
import { fixed, judge, median, shuffled } from '../stats.js';
import { startTargets } from '../targets.js';
import type { TargetKind } from '../targets.js';
import type { GoalResult, Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const TARGETS: TargetKind[] = ['origin direct', 'mini-cdn', 'nginx', 'varnish'];
const RATE = 500;
const LOADS = [
  { name: 'sequential', connections: 1, rate: undefined },
  { name: `${RATE} req/s`, connections: 10, rate: RATE },
] as const;
type LoadName = (typeof LOADS)[number]['name'];

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
  const runs = new Map<string, LoadResult[]>();
  const keyOf = (target: TargetKind, load: LoadName): string => `${target}|${load}`;
  let originCounted = 0;
  let sent = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const load of LOADS) {
        for (const target of shuffled(set.targets)) {
          const result = await runLoad({ label: `round ${round}/${rounds} ${target.name} ${load.name}`, url: target.url, connections: load.connections, ...(load.rate ? { overallRate: load.rate } : {}), durationS, requests: freshUrls(`miss-${round}-${load.connections}-${target.name.replace(/\W/g, '')}`), serverPid: target.pid, progress: ctx.progress });
          runs.set(keyOf(target.name, load.name), [...(runs.get(keyOf(target.name, load.name)) ?? []), result]);
          sent += result.total;
          if (result.errors + result.non2xx) notes.push(`${target.name} ${load.name} round ${round}: ${result.errors + result.non2xx} errors or non-2xx answers`);
        }
      }
    }
    originCounted = (await readOriginStats(set.origin)).requests;
  } finally {
    await set.stopAll();
  }
  const summary = LOADS.flatMap((load) =>
    set.targets.map((t) => {
      const list = runs.get(keyOf(t.name, load.name)) ?? [];
      const cpu = list.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined);
      return { target: t.name, load: load.name, p50: median(list.map((r) => r.p50Ms)), p90: median(list.map((r) => r.p90Ms)), p99: median(list.map((r) => r.p99Ms)), rps: median(list.map((r) => r.requestsPerSec)), cpu: cpu.length ? median(cpu) : undefined };
    }),
  );
  const find = (target: TargetKind, load: LoadName) => summary.find((s) => s.target === target && s.load === load);
  if (originCounted < sent) notes.push(`the origin counted ${originCounted} requests for ${sent} sent: some misses did not reach it`);
  return {
    scenario: 'miss',
    title: 'Cache misses: every URL new',
    method: `A new URL per request (1 KiB objects), for ${durationS} s per target and load: one request at a time over 1 connection, and a fixed ${RATE} req/s over 10 connections (sent in bursts each second); ${rounds} round(s), targets in a new order each; medians of the rounds' percentiles (latency to the microsecond). Proxies and origin share core 1, so a proxy's figure includes the origin's work; CPU is the proxy's (or the origin's) own.`,
    columns: [
      { key: 'target', label: 'target' },
      { key: 'load', label: 'load' },
      { key: 'rps', label: 'req/s' },
      { key: 'p50', label: 'p50 ms' },
      { key: 'p90', label: 'p90 ms' },
      { key: 'p99', label: 'p99 ms' },
      { key: 'addedP50', label: 'added p50 ms' },
      { key: 'cpu', label: 'CPU µs/req' },
    ],
    rows: summary.map((s) => {
      const origin = find('origin direct', s.load);
      return { target: s.target, load: s.load, rps: Math.round(s.rps), p50: round3(s.p50), p90: round3(s.p90), p99: round3(s.p99), addedP50: origin && s !== origin ? round3(s.p50 - origin.p50) : null, cpu: s.cpu === undefined ? null : Math.round(s.cpu) };
    }),
    charts: LOADS.map((load) => ({ kind: 'bar' as const, title: `Miss latency, ${load.name}`, unit: 'ms', groups: (['p50', 'p90', 'p99'] as const).map((p) => ({ label: p, bars: summary.filter((s) => s.load === load.name).map((s) => ({ name: s.target, value: round3(s[p]) })) })) })),
    goals: goals(find, set.skipped),
    notes,
    durationS: (Date.now() - began) / 1000,
  };
}

/** At one connection the path's own latency must stay under 0.15 ms; at 500 req/s queueing behind the bursts counts too. */
const ADDED_P50_LIMIT_MS: Record<LoadName, number> = { sequential: 0.15, [`${RATE} req/s`]: 1 };

function goals(find: (target: TargetKind, load: LoadName) => { p50: number; cpu: number | undefined } | undefined, skipped: string[]): GoalResult[] {
  const nginxMissing = skipped.find((s) => s.startsWith('nginx')) ?? 'nginx did not run';
  return LOADS.flatMap((load) => {
    const origin = find('origin direct', load.name);
    const cdn = find('mini-cdn', load.name);
    const nginx = find('nginx', load.name);
    const cpuKnown = cdn?.cpu !== undefined && nginx?.cpu !== undefined && nginx.cpu > 0;
    return [
      judge(`miss path adds at p50 over the origin direct, ${load.name}`, origin && cdn ? cdn.p50 - origin.p50 : undefined, ADDED_P50_LIMIT_MS[load.name], { atLeast: false, unit: 'ms', detail: origin && cdn ? `${fixed(cdn.p50, 3)} − ${fixed(origin.p50, 3)} ms` : '' }),
      judge(`CPU per miss vs nginx, ${load.name}`, cpuKnown ? (cdn.cpu as number) / (nginx.cpu as number) : undefined, 1.3, { atLeast: false, detail: cpuKnown ? `${fixed(cdn.cpu)} / ${fixed(nginx.cpu)} µs/req` : '', why: nginx ? 'CPU not readable from /proc' : nginxMissing }),
    ];
  });
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
