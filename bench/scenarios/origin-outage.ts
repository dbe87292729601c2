// origin-outage: what clients see when the origin dies. The edge holds K objects, all stale
// (ttl 1 s), most with stale-if-error and a share without; then the origin is killed and load is
// driven over those objects. The figure is the share still answered from stale copies, per class,
// so that it shows what stale-if-error buys (RFC 5861 §4).
import { once } from 'node:events';
import type autocannon from 'autocannon';
import { runLoad } from '../load.js';
import { fetchCacheStatus, readEdgeStats, startBenchOrigin, startEdge } from '../nodes.js';
import type { EdgeStats } from '../nodes.js';
import type { Started } from '../processes.js';
import { fixed, judge } from '../stats.js';
import type { Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult } from '../types.js';
import { mulberry32 } from '../zipf.js';

const CONNECTIONS = 50;
/** One object in five is cached without stale-if-error. */
const PLAIN_EVERY = 5;
const SIE_S = 600;

type ClassName = 'with stale-if-error' | 'without stale-if-error';
const CLASSES: ClassName[] = ['with stale-if-error', 'without stale-if-error'];

interface Tally {
  requests: number;
  answered: number;
  fromStale: number;
  errors: number;
  /** 5xx answers by the edge's X-Mini-Cdn-Error code. */
  codes: Map<string, number>;
}

function emptyTally(): Tally {
  return { requests: 0, answered: 0, fromStale: 0, errors: 0, codes: new Map() };
}

interface OutageObject {
  path: string;
  cls: ClassName;
}

function objects(count: number): OutageObject[] {
  return Array.from({ length: count }, (_, i) => {
    const plain = i % PLAIN_EVERY === PLAIN_EVERY - 1;
    return { path: `/obj/out${i}?kb=1&ttl=1${plain ? '' : `&sie=${SIE_S}`}`, cls: plain ? 'without stale-if-error' : 'with stale-if-error' };
  });
}

function header(headers: Record<string, unknown> | undefined, name: string): string {
  for (const key in headers ?? {}) if (key.toLowerCase() === name) return String(headers?.[key]);
  return '';
}

/**
 * Uniform over the objects. The class travels in autocannon's per-connection context (one
 * request in flight per connection), so each answer is tallied under the class it was sent for.
 */
function workload(list: OutageObject[], tallies: Map<ClassName, Tally>): autocannon.Request[] {
  const random = mulberry32(3);
  return [
    {
      method: 'GET',
      setupRequest: (req, context) => {
        const object = list[Math.floor(random() * list.length)] as OutageObject;
        (context as { cls?: ClassName }).cls = object.cls;
        return { ...req, path: object.path };
      },
      onResponse: (status, _body, context, headers) => {
        const cls = (context as { cls?: ClassName }).cls;
        const tally = cls && tallies.get(cls);
        if (!tally) return;
        tally.requests++;
        if (status >= 200 && status < 300) {
          tally.answered++;
          if (/stale-if-error/.test(header(headers, 'cache-status'))) tally.fromStale++;
        } else if (status >= 500) {
          tally.errors++;
          const code = header(headers, 'x-mini-cdn-error') || String(status);
          tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
        }
      },
    },
  ];
}

export const originOutage: Scenario = {
  name: 'origin-outage',
  title: 'Origin outage: answers from stale copies',
  needsRedis: false,
  run: runOriginOutage,
};

async function runOriginOutage(ctx: ScenarioContext): Promise<ScenarioResult> {
  const began = Date.now();
  const durationS = ctx.durationS ?? (ctx.quick ? 3 : 20);
  const list = objects(ctx.quick ? 50 : 500);
  const cpu = ctx.pinned ? { cpu: 1 } : {};
  const started: Started[] = [];
  const notes: string[] = [];
  const tallies = new Map<ClassName, Tally>(CLASSES.map((c) => [c, emptyTally()]));
  try {
    const origin = await startBenchOrigin(cpu);
    started.push(origin);
    const edge = await startEdge(origin.url, cpu);
    started.push(edge);

    const notStored = [];
    for (const object of list) {
      const status = await fetchCacheStatus(edge.url + object.path);
      if (!/stored/.test(status)) notStored.push(`${object.path}: ${status}`);
    }
    if (notStored.length) throw new Error(`the edge did not store ${notStored.length} of ${list.length} objects, e.g. ${notStored[0]}`);
    // ttl is 1 s and Date has whole seconds: 2 s after the last fill every copy is stale.
    await new Promise((r) => setTimeout(r, 2_000));
    ctx.progress.line(`origin-outage: ${list.length} stale objects on the edge; killing the origin (PID ${origin.child.pid})`);
    const exited = once(origin.child, 'exit');
    origin.child.kill('SIGKILL');
    await exited;

    const before = await readEdgeStats(edge);
    const load = await runLoad({ label: 'origin down', url: edge.url, connections: CONNECTIONS, durationS, requests: workload(list, tallies), serverPid: edge.child.pid, progress: ctx.progress });
    const after = await readEdgeStats(edge);
    return result(ctx, { began, durationS, list, tallies, load, before, after, notes });
  } finally {
    for (const p of started.reverse()) await p.stop();
  }
}

interface Measured {
  began: number;
  durationS: number;
  list: OutageObject[];
  tallies: Map<ClassName, Tally>;
  load: Awaited<ReturnType<typeof runLoad>>;
  before: EdgeStats;
  after: EdgeStats;
  notes: string[];
}

function result(ctx: ScenarioContext, m: Measured): ScenarioResult {
  const { tallies, load, before, after, notes } = m;
  const delta = (key: keyof EdgeStats['engine']): number => after.engine[key] - before.engine[key];
  const all = emptyTally();
  for (const t of tallies.values()) {
    all.requests += t.requests;
    all.answered += t.answered;
    all.fromStale += t.fromStale;
    all.errors += t.errors;
    for (const [code, n] of t.codes) all.codes.set(code, (all.codes.get(code) ?? 0) + n);
  }
  const share = (part: number, whole: number): number => (whole > 0 ? part / whole : NaN);
  const codes = (t: Tally): string => [...t.codes].map(([code, n]) => `${code} ${n}`).join(', ') || '-';
  const rowOf = (label: string, t: Tally) => ({
    class: label,
    requests: t.requests,
    answered: t.answered,
    fromStale: t.fromStale,
    staleShare: fixed(share(t.fromStale, t.requests), 3),
    errors: t.errors,
    errorCodes: codes(t),
  });
  const rows = [...CLASSES.map((c) => rowOf(c, tallies.get(c) as Tally)), rowOf('all', all)];
  // The tallies come from the client's side; the engine's counter is the edge's own account.
  if (delta('staleServed') !== all.fromStale) notes.push(`the edge counted ${delta('staleServed')} stale answers, the client ${all.fromStale} (requests cut by the end of the run can differ)`);
  if (load.errors > 0) notes.push(`${load.errors} connection errors or timeouts (not in the table)`);
  const unclassified = load.total - all.requests;
  if (unclassified > 0) notes.push(`${unclassified} responses were neither 2xx nor 5xx, or lost their class`);
  notes.push(`${Math.round(load.requestsPerSec)} req/s, p50 ${fixed(load.p50Ms, 3)} ms, p99 ${fixed(load.p99Ms, 3)} ms, ${fixed(load.cpuUsPerRequest, 0)} µs edge CPU per request while the origin was down`);
  notes.push(`edge counters during the outage: ${delta('revalidations')} revalidations, ${delta('collapsed')} collapsed, ${delta('upstreamErrors')} upstream errors, ${delta('staleServed')} stale served, ${delta('hits')} hits`);
  const chart: Chart = {
    kind: 'bar',
    title: 'Answers while the origin is down',
    unit: '% of requests',
    groups: CLASSES.map((c) => {
      const t = tallies.get(c) as Tally;
      return { label: c, bars: [{ name: 'answered from stale', value: pct(share(t.fromStale, t.requests)) }, { name: 'errors (5xx)', value: pct(share(t.errors, t.requests)) }] };
    }),
  };
  const sie = tallies.get('with stale-if-error') as Tally;
  const goals: GoalResult[] = [
    {
      ...judge('informational: objects with stale-if-error answered from stale while the origin is down', share(sie.fromStale, sie.requests), 1, { atLeast: true, detail: `${sie.fromStale} / ${sie.requests}`, why: 'no request for such objects' }),
      note: 'not a goal of the issue: RFC 5861 §4 lets a cache serve them (MAY); this one does, so anything under 1 is a fault',
    },
  ];
  return {
    scenario: 'origin-outage',
    title: originOutage.title,
    method:
      `${m.list.length} objects of 1 KiB cached with ttl 1 s (${Math.round(100 - 100 / PLAIN_EVERY)}% with stale-if-error=${SIE_S}, the rest without), left to go stale, then the origin killed (SIGKILL); ` +
      `${CONNECTIONS} connections ask for them uniformly for ${m.durationS} s. "From stale" = a 2xx whose Cache-Status says stale-if-error; errors = 5xx answers (by X-Mini-Cdn-Error code).${ctx.quick ? ' Quick run.' : ''}`,
    columns: [
      { key: 'class', label: 'objects' },
      { key: 'requests', label: 'requests' },
      { key: 'answered', label: 'answered (2xx)' },
      { key: 'fromStale', label: 'from stale' },
      { key: 'staleShare', label: 'share from stale' },
      { key: 'errors', label: 'errors (5xx)' },
      { key: 'errorCodes', label: 'error codes' },
    ],
    rows,
    charts: [chart],
    goals,
    notes,
    durationS: (Date.now() - m.began) / 1000,
  };
}

function pct(ratio: number): number {
  return Number.isFinite(ratio) ? Math.round(ratio * 1000) / 10 : 0;
}
