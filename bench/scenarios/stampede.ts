// stampede: N concurrent requests for one cold URL, each on its own connection, while the origin
// takes a while to answer; the origin's own count says how many fetches reached it. Repeated with
// a new URL per round, against mini-cdn and every installed baseline.
import { Pool } from 'undici';
import { fixed, judge, percentile } from '../stats.js';
import { startTargets } from '../targets.js';
import type { Target, TargetKind } from '../targets.js';
import type { GoalResult, Scenario, ScenarioContext, ScenarioResult } from '../types.js';

const TARGETS: TargetKind[] = ['mini-cdn', 'nginx', 'varnish'];
const ORIGIN_DELAY_MS = 300;

interface Round {
  target: TargetKind;
  round: number;
  originFetches: number;
  ok: number;
  failed: number;
  collapsed: number;
  p50Ms: number;
  p99Ms: number;
}

export const stampede: Scenario = {
  name: 'stampede',
  title: 'Stampede: concurrent requests for one cold URL',
  needsRedis: false,
  run: runStampede,
};

async function runStampede(ctx: ScenarioContext): Promise<ScenarioResult> {
  const began = Date.now();
  const requests = ctx.quick ? 200 : 1000;
  const rounds = ctx.quick ? 2 : 5;
  const set = await startTargets(TARGETS, { ...(ctx.pinned ? { cpu: 1 } : {}), bareBodyBytes: 1024 });
  const results: Round[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const target of set.targets) {
        ctx.progress.status(`round ${round}/${rounds}: ${requests} requests to ${target.name}`);
        const id = `stampede-${target.name.replace(/\W/g, '')}-${round}`;
        results.push({ target: target.name, round, ...(await storm(target, `/obj/${id}?kb=1&delay=${ORIGIN_DELAY_MS}`, requests)), originFetches: await originCount(set.origin.url, `/obj/${id}`) });
      }
    }
  } finally {
    await set.stopAll();
  }
  const goals: GoalResult[] = [];
  const cdn = results.filter((r) => r.target === 'mini-cdn');
  const worst = Math.max(...cdn.map((r) => r.originFetches));
  const fewest = Math.min(...cdn.map((r) => r.originFetches));
  goals.push(judge(`origin fetches per stampede of ${requests} (worst of ${rounds} rounds)`, worst, 1, { atLeast: false, detail: `fewest ${fewest}` }));
  goals.push(judge('requests answered 200 in every stampede', Math.min(...cdn.map((r) => r.ok / requests)), 1, { atLeast: true, detail: `${cdn.reduce((n, r) => n + r.ok, 0)} of ${requests * cdn.length}` }));
  goals.push(waiterP99VsVarnish(results, rounds, set.skipped));
  if (requests !== 1000) goals.push({ goal: 'a stampede of 1000 requests makes exactly one origin fetch', threshold: '= 1', measured: '-', status: 'skipped', note: `quick mode sends ${requests}` });
  return {
    scenario: 'stampede',
    title: 'Stampede: concurrent requests for one cold URL',
    method: `${requests} requests at once, each on its own connection, for one cold URL that the origin answers after ${ORIGIN_DELAY_MS} ms; ${rounds} rounds with a new URL each; origin fetches counted by the origin itself. "collapsed" counts answers whose Cache-Status says they waited on another request's fetch.`,
    columns: [
      { key: 'target', label: 'target' },
      { key: 'round', label: 'round' },
      { key: 'originFetches', label: 'origin fetches' },
      { key: 'ok', label: '200s' },
      { key: 'failed', label: 'failed' },
      { key: 'collapsed', label: 'collapsed' },
      { key: 'p50Ms', label: 'p50 ms' },
      { key: 'p99Ms', label: 'p99 ms' },
    ],
    rows: results.map((r) => ({ ...r, p50Ms: Number(fixed(r.p50Ms, 1)), p99Ms: Number(fixed(r.p99Ms, 1)) })),
    charts: [{ kind: 'bar', title: 'Origin fetches per stampede', unit: 'fetches', groups: Array.from({ length: rounds }, (_, i) => ({ label: `round ${i + 1}`, bars: results.filter((r) => r.round === i + 1).map((r) => ({ name: r.target, value: r.originFetches })) })) }],
    goals,
    notes: [...set.skipped],
    durationS: (Date.now() - began) / 1000,
  };
}

/** mini-cdn's p99 over Varnish's in the same round, the worst round judged: it must be ≤ 1 in every round. */
function waiterP99VsVarnish(results: Round[], rounds: number, skipped: string[]): GoalResult {
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const cdn = results.find((r) => r.target === 'mini-cdn' && r.round === round);
    const varnish = results.find((r) => r.target === 'varnish' && r.round === round);
    if (cdn && varnish && varnish.p99Ms > 0) ratios.push(cdn.p99Ms / varnish.p99Ms);
  }
  const why = skipped.find((s) => s.startsWith('varnishd')) ?? 'Varnish did not run';
  return judge(`stampede waiter p99 vs Varnish, worst of ${rounds} rounds`, ratios.length === rounds ? Math.max(...ratios) : undefined, 1, { atLeast: false, detail: `per round ${ratios.map((r) => fixed(r)).join(', ')}`, why });
}

/** Sends `count` requests at once on `count` connections; their outcomes and latencies. */
async function storm(target: Target, path: string, count: number): Promise<Omit<Round, 'target' | 'round' | 'originFetches'>> {
  const pool = new Pool(target.url, { connections: count, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const times: number[] = [];
  let ok = 0;
  let failed = 0;
  let collapsed = 0;
  try {
    await Promise.all(
      Array.from({ length: count }, async () => {
        const start = performance.now();
        try {
          const res = await pool.request({ path, method: 'GET' });
          const body = await res.body.arrayBuffer();
          times.push(performance.now() - start);
          if (res.statusCode === 200 && body.byteLength === 1024) ok++;
          else failed++;
          if (/collapsed/.test(String(res.headers['cache-status'] ?? ''))) collapsed++;
        } catch {
          failed++;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  times.sort((a, b) => a - b);
  return { ok, failed, collapsed, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

async function originCount(originUrl: string, path: string): Promise<number> {
  const res = await fetch(`${originUrl}/__count?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { requests: number }).requests;
}
