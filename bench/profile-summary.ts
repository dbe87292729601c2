// Where a process spent its CPU: the self time of each function in a `node --cpu-prof` profile,
// and per place (node internals, each package, this project), largest first.
// Usage: node dist/bench/profile-summary.js FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The parts of a .cpuprofile (V8's Profile) this reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  /** µs before each sample; a sample lasts until the next one. */
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** node:internal/..., a package under node_modules, the project's dist/, or a V8 pseudo-frame like (garbage collector). */
export function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const project = /\/dist\/(.+)$/.exec(url);
  return project ? (project[1] as string) : url;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  return frame.url ? `${name} ${placeOf(frame.url, name)}:${frame.lineNumber + 1}` : name;
}

function ranked(totals: Map<string, number>, all: number, top: number): SelfTime[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 }));
}

/** Self time per function and per place; the total sampled time in ms. */
export function summarize(profile: CpuProfile, top = 25): { totalMs: number; functions: SelfTime[]; places: SelfTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const functions = new Map<string, number>();
  const places = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame || us <= 0) return;
    all += us;
    const name = frameName(frame);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const place = placeOf(frame.url, frame.functionName);
    places.set(place, (places.get(place) ?? 0) + us);
  });
  return { totalMs: all / 1000, functions: ranked(functions, all, top), places: ranked(places, all, top) };
}

function lines(title: string, rows: SelfTime[]): string[] {
  return [title, ...rows.map((r) => `${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`)];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const summary = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(topArg ?? 25));
  process.stdout.write([`${summary.totalMs.toFixed(0)} ms sampled`, '', ...lines('self time by function:', summary.functions), '', ...lines('self time by place:', summary.places), ''].join('\n'));
}
