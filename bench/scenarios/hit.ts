// hit-small and hit-large: one cached object served over and over, by mini-cdn and by every
// baseline, at 50 and 200 connections. Targets alternate in a new order each round and the median
// round counts, since this machine is shared and noisy. The load comes from wrk when it is
// installed (autocannon cannot read 256 KiB answers as fast as a server on one core writes them).
import { runLoad } from '../load.js';
import type { LoadResult } from '../load.js';
import { fixed, judge, median, shuffled } from '../stats.js';
import { startTargets, warm } from '../targets.js';
import type { Target, TargetKind } from '../targets.js';
import type { Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult, Series } from '../types.js';
import { runWrk } from '../wrk.js';

const CONNECTIONS = [50, 200];
/** '+log': the access log on, to a file, as each ships; the others without access log. */
const TARGETS: TargetKind[] = ['bare node', 'mini-cdn +log', 'mini-cdn', 'nginx +log', 'nginx', 'varnish'];
/** The load generator's core when pinning (the servers are on core 1). */
const CLIENT_CPU = 0;

export interface Measured extends LoadResult {
  target: TargetKind;
  connections: number;
}

function hitScenario(name: string, kb: number): Scenario {
  return {
    name,
    title: `Cache hits, ${kb} KiB object`,
    needsRedis: false,
    run: (ctx) => runHit(ctx, name, kb),
  };
}

export const hitSmall = hitScenario('hit-small', 1);
export const hitLarge = hitScenario('hit-large', 256);

function load(ctx: ScenarioContext, target: Target, url: string, connections: number, durationS: number, label: string, measure: boolean): Promise<LoadResult> {
  const serverPid = measure ? { serverPid: target.pid } : {};
  if (ctx.wrk) return runWrk({ binary: ctx.wrk, label, url, connections, durationS, ...(ctx.pinned ? { cpu: CLIENT_CPU } : {}), ...serverPid, progress: ctx.progress });
  return runLoad({ label, url, connections, durationS, ...serverPid, progress: ctx.progress });
}

async function runHit(ctx: ScenarioContext, name: string, kb: number): Promise<ScenarioResult> {
  const began = Date.now();
  const rounds = ctx.quick ? 1 : 3;
  const durationS = ctx.durationS ?? (ctx.quick ? 1 : 5);
  const path = `/obj/hit-${kb}?kb=${kb}&ttl=3600`;
  const set = await startTargets(TARGETS, { ...(ctx.pinned ? { cpu: 1 } : {}), bareBodyBytes: kb * 1024 });
  const notes = [...set.skipped];
  const measured: Measured[] = [];
  const overTime: Series[] = [];
  try {
    for (const target of set.targets) {
      if (!(await warm(target, path))) throw new Error(`${target.name} did not cache ${path}`);
    }
    for (const connections of CONNECTIONS) {
      const perTarget = new Map<TargetKind, Measured[]>();
      // Warm-up, discarded: JIT, connection pools, page cache.
      if (!ctx.quick) for (const target of set.targets) await load(ctx, target, target.url + path, connections, 1, `${target.name} @${connections} warm-up`, false);
      for (let round = 1; round <= rounds; round++) {
        for (const target of shuffled(set.targets)) {
          const result = await load(ctx, target, target.url + path, connections, durationS, `round ${round}/${rounds} ${target.name} @${connections}`, true);
          perTarget.set(target.name, [...(perTarget.get(target.name) ?? []), { ...result, target: target.name, connections }]);
        }
      }
      for (const target of set.targets) {
        const runs = perTarget.get(target.name) ?? [];
        const mid = medianRun(runs);
        measured.push(mid);
        if (connections === CONNECTIONS[CONNECTIONS.length - 1] && !ctx.wrk) overTime.push({ ...mid.throughput, name: target.name });
        const unanswered = mid.errors + mid.non2xx;
        if (unanswered > 0) notes.push(`${target.name} @${connections}: ${unanswered} errors or non-2xx answers`);
      }
      await checkStillHit(set.targets, path, notes);
    }
  } finally {
    await set.stopAll();
  }
  return {
    scenario: name,
    title: `Cache hits, ${kb} KiB object`,
    method: `GET ${path} from a warm cache; ${ctx.wrk ? 'wrk (1 thread)' : 'autocannon'} for ${durationS} s per target at ${CONNECTIONS.join(' and ')} connections, ${rounds} round(s) in a new order each, median round by throughput (CPU: median of the rounds); every server on core 1, the load generator on core 0${ctx.pinned ? '' : ' (not pinned here: taskset missing)'}. "+log": the access log on, written to a file, as each ships (mini-cdn: its JSON line per request on stdout redirected to a file; nginx: access_log FILE combined, unbuffered); the others run without access log. "vs nginx" compares with nginx under the same log setting.${ctx.wrk ? '' : ' autocannon is a JavaScript client: on large objects it measures itself, not the servers.'}`,
    columns: [
      { key: 'target', label: 'target' },
      { key: 'connections', label: 'conns' },
      { key: 'rps', label: 'req/s' },
      { key: 'p50', label: 'p50 ms' },
      { key: 'p99', label: 'p99 ms' },
      { key: 'cpu', label: 'CPU µs/req' },
      { key: 'vsBare', label: 'vs bare node' },
      { key: 'cpuVsBare', label: 'CPU vs bare node' },
      { key: 'vsNginx', label: 'vs nginx' },
    ],
    rows: measured.map((m) => {
      const ratio = (base: TargetKind, of: (x: Measured) => number | undefined): number | null => {
        const b = find(measured, base, m.connections);
        const mine = of(m);
        const theirs = b ? of(b) : undefined;
        return mine !== undefined && theirs !== undefined && theirs > 0 && m.target !== base ? Number((mine / theirs).toFixed(2)) : null;
      };
      const rps = (x: Measured): number => x.requestsPerSec;
      const cpu = (x: Measured): number | undefined => x.cpuUsPerRequest;
      return { target: m.target, connections: m.connections, rps: Math.round(m.requestsPerSec), p50: round2(m.p50Ms), p99: round2(m.p99Ms), cpu: m.cpuUsPerRequest === undefined ? null : round2(m.cpuUsPerRequest), vsBare: ratio('bare node', rps), cpuVsBare: ratio('bare node', cpu), vsNginx: m.target.startsWith('nginx') ? null : ratio(m.target.endsWith('+log') ? 'nginx +log' : 'nginx', rps) };
    }),
    charts: charts(measured, overTime),
    goals: goals(measured, set.skipped),
    notes,
    durationS: (Date.now() - began) / 1000,
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function find(list: Measured[], target: TargetKind, connections: number): Measured | undefined {
  return list.find((m) => m.target === target && m.connections === connections);
}

/** The median round by throughput, with the median CPU per request over all rounds. */
function medianRun(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  const mid = sorted[Math.floor(sorted.length / 2)] as Measured;
  const cpu = runs.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined);
  return { ...mid, cpuUsPerRequest: cpu.length ? median(cpu) : undefined };
}

/** A load run must not have evicted or expired the object: hits measured must be hits. */
async function checkStillHit(targets: Target[], path: string, notes: string[]): Promise<void> {
  for (const target of targets) {
    const res = await fetch(target.url + path);
    await res.arrayBuffer();
    if (target.isHit(res.headers) === false) notes.push(`${target.name}: the object was no longer a hit after the load`);
  }
}

/** The hit goals, each a ratio of two targets measured in this run. */
export function goals(measured: Measured[], skipped: string[]): GoalResult[] {
  const results: GoalResult[] = [];
  const nginxMissing = skipped.find((s) => s.startsWith('nginx')) ?? 'nginx did not run';
  const ratio = (goal: string, mine: TargetKind, base: TargetKind, connections: number, of: 'rps' | 'cpu' | 'p99', limit: number, why?: string): GoalResult => {
    const a = find(measured, mine, connections);
    const b = find(measured, base, connections);
    const value = (m: Measured): number | undefined => (of === 'rps' ? m.requestsPerSec : of === 'cpu' ? m.cpuUsPerRequest : m.p99Ms);
    const va = a ? value(a) : undefined;
    const vb = b ? value(b) : undefined;
    const unit = of === 'rps' ? 'req/s' : of === 'cpu' ? 'µs/req' : 'ms';
    const detail = va !== undefined && vb !== undefined ? `${fixed(of === 'rps' ? Math.round(va) : va)} / ${fixed(of === 'rps' ? Math.round(vb) : vb)} ${unit}` : '';
    const measuredRatio = va !== undefined && vb !== undefined && vb > 0 ? va / vb : undefined;
    return judge(goal, measuredRatio, limit, { atLeast: of === 'rps', detail, why: why ?? (of === 'cpu' ? 'CPU not readable from /proc' : `${mine} or ${base} did not run`) });
  };
  for (const c of CONNECTIONS) {
    results.push(ratio(`hit throughput as shipped (log on) vs bare node @${c}`, 'mini-cdn +log', 'bare node', c, 'rps', 0.9));
    results.push(ratio(`hit throughput, log off, vs bare node @${c}`, 'mini-cdn', 'bare node', c, 'rps', 0.95));
  }
  results.push(ratio('CPU per hit as shipped (log on) vs bare node @200', 'mini-cdn +log', 'bare node', 200, 'cpu', 1.15));
  results.push(ratio('CPU per hit, log off, vs bare node @200', 'mini-cdn', 'bare node', 200, 'cpu', 1.15));
  for (const c of CONNECTIONS) {
    results.push(ratio(`hit throughput vs nginx @${c}, both logging`, 'mini-cdn +log', 'nginx +log', c, 'rps', 1.0, nginxMissing));
    results.push(ratio(`hit throughput vs nginx @${c}, neither logging`, 'mini-cdn', 'nginx', c, 'rps', 1.0, nginxMissing));
  }
  results.push(ratio('hit p99 latency vs nginx @200, both logging', 'mini-cdn +log', 'nginx +log', 200, 'p99', 1.5, nginxMissing));
  results.push(ratio('hit p99 latency vs nginx @200, neither logging', 'mini-cdn', 'nginx', 200, 'p99', 1.5, nginxMissing));
  return results;
}

function charts(measured: Measured[], overTime: Series[]): Chart[] {
  const targets = [...new Set(measured.map((m) => m.target))];
  return [
    {
      kind: 'bar',
      title: 'Throughput (median round)',
      unit: 'req/s',
      groups: CONNECTIONS.map((c) => ({ label: `${c} connections`, bars: targets.map((t) => ({ name: t, value: Math.round(find(measured, t, c)?.requestsPerSec ?? 0) })) })),
    },
    {
      kind: 'bar',
      title: 'Latency percentiles at 200 connections',
      unit: 'ms',
      groups: (['p50Ms', 'p90Ms', 'p99Ms'] as const).map((p) => ({ label: p.slice(0, 3), bars: targets.map((t) => ({ name: t, value: round2(find(measured, t, 200)?.[p] ?? 0) })) })),
    },
    // wrk reports no per-second figures: the line chart is autocannon's.
    ...(overTime.length ? [{ kind: 'line' as const, title: 'Throughput over time at 200 connections (median round)', unit: 'req/s', series: overTime }] : []),
  ];
}
