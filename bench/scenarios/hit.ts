// hit-small and hit-large: one cached object served over and over, by mini-cdn and by every
// baseline, at 50 and 200 connections. Targets alternate in a new order each round and the median
// round counts, since this machine is shared and noisy.
import { runLoad } from '../load.js';
import type { LoadResult } from '../load.js';
import { fixed, judge, median, shuffled } from '../stats.js';
import { startTargets, warm } from '../targets.js';
import type { Target, TargetKind } from '../targets.js';
import type { Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult, Series } from '../types.js';

const CONNECTIONS = [50, 200];
const TARGETS: TargetKind[] = ['bare node', 'origin direct', 'mini-cdn', 'mini-cdn +metrics', 'nginx', 'varnish'];

interface Measured extends LoadResult {
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
      if (!ctx.quick) for (const target of set.targets) await runLoad({ label: `${target.name} @${connections} warm-up`, url: target.url + path, connections, durationS: 1, progress: ctx.progress });
      for (let round = 1; round <= rounds; round++) {
        for (const target of shuffled(set.targets)) {
          const result = await runLoad({ label: `round ${round}/${rounds} ${target.name} @${connections}`, url: target.url + path, connections, durationS, serverPid: target.pid, progress: ctx.progress });
          perTarget.set(target.name, [...(perTarget.get(target.name) ?? []), { ...result, target: target.name, connections }]);
        }
      }
      for (const target of set.targets) {
        const runs = perTarget.get(target.name) ?? [];
        const mid = medianRun(runs);
        measured.push(mid);
        if (connections === CONNECTIONS[CONNECTIONS.length - 1]) overTime.push({ ...mid.throughput, name: target.name });
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
    method: `GET ${path} from a warm cache; autocannon for ${durationS} s per target at ${CONNECTIONS.join(' and ')} connections, ${rounds} round(s) in a new order each, median round by throughput; every server on core 1, the load generator on core 0${ctx.pinned ? '' : ' (not pinned here: taskset missing)'}. mini-cdn runs without its access log; "+metrics" also keeps its Prometheus metrics (admin API on). The goals judge the cache alone.`,
    columns: [
      { key: 'target', label: 'target' },
      { key: 'connections', label: 'conns' },
      { key: 'rps', label: 'req/s' },
      { key: 'p50', label: 'p50 ms' },
      { key: 'p99', label: 'p99 ms' },
      { key: 'cpu', label: 'CPU µs/req' },
      { key: 'vsBare', label: 'vs bare node' },
      { key: 'vsNginx', label: 'vs nginx' },
      { key: 'vsOrigin', label: 'vs origin' },
    ],
    rows: measured.map((m) => {
      const ratio = (base: TargetKind): number | null => {
        const b = find(measured, base, m.connections);
        return b ? Number((m.requestsPerSec / b.requestsPerSec).toFixed(2)) : null;
      };
      return { target: m.target, connections: m.connections, rps: Math.round(m.requestsPerSec), p50: round2(m.p50Ms), p99: round2(m.p99Ms), cpu: m.cpuUsPerRequest === undefined ? null : round2(m.cpuUsPerRequest), vsBare: ratio('bare node'), vsNginx: ratio('nginx'), vsOrigin: ratio('origin direct') };
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

function goals(measured: Measured[], skipped: string[]): GoalResult[] {
  const results: GoalResult[] = [];
  const nginxMissing = skipped.find((s) => s.startsWith('nginx')) ?? 'nginx did not run';
  for (const connections of CONNECTIONS) {
    const cdn = find(measured, 'mini-cdn', connections);
    const bare = find(measured, 'bare node', connections);
    const nginx = find(measured, 'nginx', connections);
    const vs = (base: Measured | undefined): number | undefined => (cdn && base ? cdn.requestsPerSec / base.requestsPerSec : undefined);
    const detail = (base: Measured | undefined): string => (cdn && base ? `${Math.round(cdn.requestsPerSec)} / ${Math.round(base.requestsPerSec)} req/s` : '');
    results.push(judge(`hit throughput vs bare node @${connections}`, vs(bare), 0.9, { atLeast: true, detail: detail(bare) }));
    results.push(judge(`hit throughput vs nginx @${connections}`, vs(nginx), 1.0, { atLeast: true, detail: detail(nginx), why: nginxMissing }));
  }
  const cdn = find(measured, 'mini-cdn', 200);
  const nginx = find(measured, 'nginx', 200);
  const p99Ratio = cdn && nginx ? cdn.p99Ms / nginx.p99Ms : undefined;
  results.push(judge('hit p99 latency vs nginx @200', p99Ratio, 1.5, { atLeast: false, detail: cdn && nginx ? `${fixed(cdn.p99Ms)} / ${fixed(nginx.p99Ms)} ms` : '', why: nginxMissing }));
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
    { kind: 'line', title: 'Throughput over time at 200 connections (median round)', unit: 'req/s', series: overTime },
  ];
}
