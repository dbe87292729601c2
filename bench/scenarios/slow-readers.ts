// slow-readers: clients that ask for large bodies and never read them, against an edge with a
// bounded cache. Two phases on one edge, RSS read from /proc before and after each: many
// two-range requests on one cached large object (answered from the stored copy, so they should
// cost next to nothing), then fills of distinct large objects whose clients stall (what the edge
// keeps of a body a client does not take is the fill path's bound). The goal of issue 10: the
// edge's peak RSS minus its start RSS stays within cache.maxBytes plus a fixed overhead.
import net from 'node:net';
import { startBenchOrigin, startEdge } from '../nodes.js';
import { peakRssBytes, rssBytes } from '../processes.js';
import type { Started } from '../processes.js';
import { fixed, judge } from '../stats.js';
import type { Chart, GoalResult, Scenario, ScenarioContext, ScenarioResult, Series } from '../types.js';

const MIB = 1024 * 1024;
/** As in `mixed`: heap growth to its working size, Buffers awaiting GC, socket buffers, fragmentation. */
const OVERHEAD_BYTES = 128 * MIB;
/** Bounds on waiting for the edge to settle after a phase's clients have stalled. */
const SETTLE_MAX_MS = 20_000;
const SETTLE_QUIET_MS = 1_500;
const SETTLE_QUIET_BYTES = 2 * MIB;

interface Shape {
  cacheBytes: number;
  objectKb: number;
  fills: number;
  rangeClients: number;
  /** Two ranges of the object, inclusive: [start, end]. */
  ranges: Array<[number, number]>;
}

const FULL: Shape = { cacheBytes: 64 * MIB, objectKb: 15_000, fills: 40, rangeClients: 60, ranges: [[0, 1_000_000], [5_000_000, 9_000_000]] };
const QUICK: Shape = { cacheBytes: 16 * MIB, objectKb: 2_048, fills: 6, rangeClients: 10, ranges: [[0, 100_000], [500_000, 900_000]] };

export const slowReaders: Scenario = {
  name: 'slow-readers',
  title: 'Slow readers: stalled range and fill clients against a bounded cache',
  needsRedis: false,
  run: runSlowReaders,
};

interface Stalled {
  began: number;
  heads: string[];
  close(): void;
}

/**
 * `count` raw connections, each sending its request, reading the first chunk of the answer (so
 * we know it began) and then nothing more. Waits until every answer began, up to `timeoutMs`.
 */
async function stalledClients(url: string, requests: string[], timeoutMs: number): Promise<Stalled> {
  const { hostname, port } = new URL(url);
  const sockets: net.Socket[] = [];
  const heads: string[] = [];
  await Promise.all(
    requests.map(
      (request) =>
        new Promise<void>((resolve) => {
          const socket = net.connect(Number(port), hostname);
          sockets.push(socket);
          const timer = setTimeout(resolve, timeoutMs);
          const done = (): void => {
            clearTimeout(timer);
            resolve();
          };
          socket.on('error', done);
          socket.once('data', (chunk: Buffer) => {
            socket.pause(); // from here on, the client reads nothing
            heads.push(chunk.toString('latin1', 0, Math.min(chunk.length, 200)));
            done();
          });
          socket.write(request);
        }),
    ),
  );
  return { began: heads.length, heads, close: () => sockets.forEach((s) => s.destroy()) };
}

/** Waits until the edge's RSS has not grown for a while (bounded), sampling into `samples`. */
async function settle(pid: number | undefined, sample: () => void): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let last = rssBytes(pid) ?? 0;
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < SETTLE_QUIET_MS) {
    await new Promise((r) => setTimeout(r, 250));
    sample();
    const now = rssBytes(pid) ?? 0;
    if (now > last + SETTLE_QUIET_BYTES) quietSince = Date.now();
    last = Math.max(last, now);
  }
}

/** The parts of a multipart/byteranges body (RFC 9110 §14.6) as [start, end, bytes]. */
function byteranges(body: Buffer, contentType: string): Array<{ start: number; end: number; bytes: Buffer }> {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return [];
  const delimiter = `--${boundary}`;
  const parts: Array<{ start: number; end: number; bytes: Buffer }> = [];
  let at = body.indexOf(delimiter);
  for (let guard = 0; at >= 0 && guard < 100; guard++) {
    const headEnd = body.indexOf('\r\n\r\n', at);
    const range = /Content-Range: bytes (\d+)-(\d+)\//i.exec(body.toString('latin1', at, headEnd));
    if (headEnd < 0 || !range) break;
    const start = Number(range[1]);
    const end = Number(range[2]);
    parts.push({ start, end, bytes: body.subarray(headEnd + 4, headEnd + 4 + end - start + 1) });
    at = body.indexOf(delimiter, headEnd + 4 + end - start + 1);
  }
  return parts;
}

async function runSlowReaders(ctx: ScenarioContext): Promise<ScenarioResult> {
  const began = Date.now();
  const shape = ctx.quick ? QUICK : FULL;
  const objectBytes = shape.objectKb * 1024;
  const cpu = ctx.pinned ? { cpu: 1 } : {};
  const started: Started[] = [];
  const rss: Series = { name: 'RSS', points: [] };
  const notes: string[] = [];
  try {
    const origin = await startBenchOrigin(cpu);
    started.push(origin);
    const edge = await startEdge(origin.url, { ...cpu, args: ['--max-bytes', String(shape.cacheBytes), '--max-object-bytes', String(Math.min(shape.cacheBytes, 16 * MIB))] });
    started.push(edge);
    const pid = edge.child.pid;
    const t0 = Date.now();
    const sample = (): void => {
      const value = rssBytes(pid);
      if (value !== undefined) rss.points.push({ t: Math.round((Date.now() - t0) / 100) / 10, value: Math.round((value / MIB) * 10) / 10 });
    };
    const host = new URL(edge.url).host;
    const path = (id: string): string => `/obj/${id}?kb=${shape.objectKb}&ttl=3600`;
    await new Promise((r) => setTimeout(r, 500)); // start-up work settles before the base reading
    const baseRss = rssBytes(pid);
    sample();

    // Phase 1: one large object cached, then clients that ask for two ranges and stall.
    ctx.progress.line(`slow-readers: ${shape.rangeClients} stalled two-range clients on one cached ${fixed(objectBytes / MIB, 1)} MiB object, then ${shape.fills} stalled fills; cache ${shape.cacheBytes / MIB} MiB`);
    const warm = await fetch(edge.url + path('ranged'));
    const warmBody = Buffer.from(await warm.arrayBuffer());
    const rangeField = `bytes=${shape.ranges.map(([a, b]) => `${a}-${b}`).join(',')}`;
    const rangesStartRss = rssBytes(pid);
    sample();
    ctx.progress.status('phase 1: two-range clients');
    const ranged = await stalledClients(edge.url, Array.from({ length: shape.rangeClients }, () => `GET ${path('ranged')} HTTP/1.1\r\nHost: ${host}\r\nRange: ${rangeField}\r\n\r\n`), 30_000);
    await settle(pid, sample);
    const rangesPeak = Math.max(peakRssBytes(pid) ?? 0, rssBytes(pid) ?? 0) || undefined;
    // A client that reads gets both parts in full.
    const reader = await fetch(edge.url + path('ranged'), { headers: { range: rangeField } });
    const parts = byteranges(Buffer.from(await reader.arrayBuffer()), reader.headers.get('content-type') ?? '');
    const rangesOk =
      reader.status === 206 &&
      parts.length === shape.ranges.length &&
      shape.ranges.every(([a, b], i) => parts[i]?.start === a && parts[i]?.end === b && parts[i]?.bytes.equals(warmBody.subarray(a, b + 1)));
    const ranged206 = ranged.heads.filter((h) => h.startsWith('HTTP/1.1 206 ')).length;
    ranged.close();
    await new Promise((r) => setTimeout(r, 500));
    sample();

    // Phase 2: fills of distinct large objects whose clients stall.
    const fillsStartRss = rssBytes(pid);
    ctx.progress.status('phase 2: stalled fills');
    const fills = await stalledClients(edge.url, Array.from({ length: shape.fills }, (_, i) => `GET ${path(`fill-${i}`)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`), 30_000);
    await settle(pid, sample);
    const fillsPeak = Math.max(peakRssBytes(pid) ?? 0, rssBytes(pid) ?? 0) || undefined;
    const fill200 = fills.heads.filter((h) => h.startsWith('HTTP/1.1 200 ')).length;
    // A client that reads one of the stalled URLs gets it whole.
    const fillReader = await fetch(edge.url + path('fill-0'));
    const fillBody = Buffer.from(await fillReader.arrayBuffer());
    const fillOk = fillReader.status === 200 && fillBody.length === objectBytes && fillBody.equals(warmBody);
    fills.close();
    await new Promise((r) => setTimeout(r, 500));
    sample();
    const endRss = rssBytes(pid);

    const mib = (b: number | undefined): string => (b === undefined ? '-' : fixed(b / MIB, 1));
    const growth = (peak: number | undefined, from: number | undefined): number | undefined => (peak === undefined || from === undefined ? undefined : peak - from);
    const allowance = shape.cacheBytes + OVERHEAD_BYTES;
    const totalGrowth = growth(fillsPeak, baseRss);
    const rangesGrowth = growth(rangesPeak, baseRss);
    const fillsGrowth = growth(fillsPeak, fillsStartRss);
    const readersOk = (rangesOk ? 1 : 0) + (fillOk ? 1 : 0);
    if (!rangesOk) notes.push(`the reading two-range client got ${reader.status} with ${parts.length} parts, not both ranges in full`);
    if (!fillOk) notes.push(`the reading fill client got ${fillReader.status} with ${fillBody.length} of ${objectBytes} bytes`);
    if (ranged206 < shape.rangeClients) notes.push(`${ranged206} of ${shape.rangeClients} two-range clients saw a 206 begin`);
    if (fill200 < shape.fills) notes.push(`${fill200} of ${shape.fills} fill clients saw a 200 begin`);
    const row = (metric: string, value: string | number): Record<string, string | number> => ({ metric, value });
    const rows = [
      row('cache.maxBytes MiB', shape.cacheBytes / MIB),
      row('object MiB', fixed(objectBytes / MIB, 1)),
      row('RSS MiB at start (idle, empty cache)', mib(baseRss)),
      row(`phase 1: ${shape.rangeClients} stalled clients, Range: ${rangeField}`, `${ranged206} answers began with 206`),
      row('phase 1: RSS MiB at its start (one object cached) / peak', `${mib(rangesStartRss)} / ${mib(rangesPeak)}`),
      row('phase 1: peak − start RSS MiB', mib(rangesGrowth)),
      row(`phase 2: ${shape.fills} stalled fills of distinct objects`, `${fill200} answers began with 200`),
      row('phase 2: RSS MiB at its start / peak', `${mib(fillsStartRss)} / ${mib(fillsPeak)}`),
      row('phase 2: peak − phase start RSS MiB', mib(fillsGrowth)),
      row('peak − start RSS MiB (both phases)', mib(totalGrowth)),
      row('RSS MiB at end (clients gone)', mib(endRss)),
      row('reading clients answered in full', `${readersOk} of 2`),
    ];
    const why = 'RSS is read from /proc (Linux only)';
    const allowanceText = `${shape.cacheBytes / MIB} MiB cache + ${OVERHEAD_BYTES / MIB} MiB fixed overhead`;
    const goals: GoalResult[] = [
      judge('memory within cache bytes plus bounded overhead: peak RSS − start RSS', totalGrowth === undefined ? undefined : totalGrowth / MIB, allowance / MIB, { atLeast: false, unit: 'MiB', detail: `peak ${mib(fillsPeak)} − start ${mib(baseRss)}; allowance ${allowanceText}`, why }),
      judge('phase 1 (stalled two-range clients): peak RSS − start RSS', rangesGrowth === undefined ? undefined : rangesGrowth / MIB, allowance / MIB, { atLeast: false, unit: 'MiB', detail: `peak ${mib(rangesPeak)} − start ${mib(baseRss)}`, why }),
      judge('phase 2 (stalled fills): peak RSS − RSS at the phase start', fillsGrowth === undefined ? undefined : fillsGrowth / MIB, allowance / MIB, { atLeast: false, unit: 'MiB', detail: `peak ${mib(fillsPeak)} − ${mib(fillsStartRss)}`, why }),
      judge('reading clients answered in full while others stall', readersOk, 2, { atLeast: true, detail: `${readersOk} of 2` }),
    ];
    if (ctx.quick) notes.push(`quick: ${shape.rangeClients} range clients and ${shape.fills} fills of ${fixed(objectBytes / MIB, 1)} MiB objects over a ${shape.cacheBytes / MIB} MiB cache, far below the full run's load`);
    const charts: Chart[] = [
      { kind: 'line', title: 'Edge RSS (phase 1: stalled range clients, then phase 2: stalled fills)', unit: 'MiB', series: [rss, { name: 'start + cache + overhead', points: baseRss === undefined ? [] : rss.points.map((p) => ({ t: p.t, value: Math.round(((baseRss + allowance) / MIB) * 10) / 10 })) }] },
    ];
    return {
      scenario: 'slow-readers',
      title: slowReaders.title,
      method:
        `An edge started through the CLI with --max-bytes ${shape.cacheBytes / MIB} MiB; the bench origin serves ${fixed(objectBytes / MIB, 1)} MiB objects. ` +
        `Phase 1: one object cached, then ${shape.rangeClients} raw TCP clients send Range: ${rangeField} and stop reading after the first chunk. ` +
        `Phase 2: ${shape.fills} raw TCP clients each ask for a different uncached object and stop reading. After each phase the edge settles (RSS flat for ${SETTLE_QUIET_MS / 1000} s, at most ${SETTLE_MAX_MS / 1000} s) ` +
        'and a reading client checks that it gets its answer in full. RSS from /proc; peaks are the kernel\'s high-water mark (VmHWM), start is the idle edge.',
      columns: [
        { key: 'metric', label: 'metric' },
        { key: 'value', label: 'value' },
      ],
      rows,
      charts,
      goals,
      notes,
      durationS: (Date.now() - began) / 1000,
    };
  } finally {
    for (const p of started.reverse()) await p.stop();
  }
}
