// `mini-cdn bench [SCENARIO...]`: runs the named scenarios (all by default) one after another,
// each starting its own processes on 127.0.0.1, then writes the report as JSON and Markdown (and
// HTML with --report). Figures are ratios against baselines measured in the same run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pinSelf } from './processes.js';
import { createProgress } from './progress.js';
import { renderHtml } from './report/html.js';
import { renderMarkdown } from './report/markdown.js';
import { HIT_SCENARIOS, SCENARIOS } from './scenarios/index.js';
import { findWrk, wrkVersion } from './wrk.js';
import type { BenchReport, Scenario, ScenarioResult } from './types.js';

export const BENCH_USAGE = `mini-cdn bench [SCENARIO...] [--quick] [--duration S] [--client auto|wrk|autocannon] [--out DIR] [--report FILE.html] [--list]
  Runs load scenarios against real processes on 127.0.0.1 (all of them when none is named) and
  writes DIR/report.json and DIR/report.md (DIR: bench-results). --quick: seconds-long smoke runs
  whose figures are not meant to be read. --duration: seconds per measured load run. --client:
  the hit scenarios' load generator (auto: wrk when installed, else autocannon).`;

const CLIENTS = ['auto', 'wrk', 'autocannon'] as const;

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '?';
  } catch {
    return '?';
  }
}

const INSTALL_HINT = 'apt-get install wrk, or scripts/install-baselines.sh';

/** Thrown for a bad command line; the CLI prints it with MCDN_USAGE. */
export class BenchUsageError extends Error {}

export async function runBench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      report: { type: 'string' },
      list: { type: 'boolean', default: false },
      client: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(18)} ${s.title}\n`);
    return 0;
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new BenchUsageError(`unknown scenario ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && !(durationS >= 1 && durationS <= 3600)) throw new BenchUsageError('--duration must be a number of seconds in 1..3600');
  const chosen: Scenario[] = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS;
  const client = values.client as (typeof CLIENTS)[number];
  if (!CLIENTS.includes(client)) throw new BenchUsageError(`--client must be one of ${CLIENTS.join(', ')}`);
  const wrk = client === 'autocannon' ? undefined : await findWrk();
  if (client === 'wrk' && !wrk) throw new BenchUsageError(`--client wrk: wrk is not installed (${INSTALL_HINT})`);

  const progress = createProgress();
  const pinned = pinSelf(0);
  progress.line(pinned ? 'load generator pinned to core 0, measured servers to core 1' : 'taskset not found: processes are not pinned');
  const hitClient = wrk ? `${await wrkVersion(wrk)} (${wrk})` : `autocannon (${client === 'autocannon' ? 'chosen with --client' : `wrk not installed: ${INSTALL_HINT}`}; on 256 KiB hits it measures itself)`;
  if (chosen.some((s) => HIT_SCENARIOS.includes(s.name))) progress.line(`hit scenarios load with ${hitClient}`);
  const redis = hasRedisServer();
  const report: BenchReport = {
    tool: 'mini-cdn bench',
    version: packageVersion(),
    startedAt: new Date().toISOString(),
    host: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, pinned },
    settings: { quick: values.quick === true, scenarios: chosen.map((s) => s.name), ...(chosen.some((s) => HIT_SCENARIOS.includes(s.name)) ? { hitClient } : {}) },
    scenarios: [],
  };
  let failed = 0;
  for (const scenario of chosen) {
    const began = Date.now();
    progress.line(`== ${scenario.name}: ${scenario.title}`);
    let result: ScenarioResult;
    if (scenario.needsRedis && !redis) {
      result = skippedResult(scenario, 'redis-server is not installed: skipped (install it, e.g. apt-get install redis-server)', began);
    } else {
      try {
        result = await scenario.run({ quick: values.quick === true, ...(durationS !== undefined ? { durationS } : {}), progress, pinned, ...(wrk ? { wrk } : {}) });
      } catch (err) {
        failed++;
        result = skippedResult(scenario, `failed: ${err instanceof Error ? err.message : String(err)}`, began);
      }
    }
    for (const note of result.notes) progress.line(`  note: ${note}`);
    for (const goal of result.goals) progress.line(`  goal ${goal.status.padEnd(7)} ${goal.goal}: ${goal.measured} (${goal.threshold})${goal.note ? ` — ${goal.note}` : ''}`);
    report.scenarios.push(result);
  }

  const outDir = values.out ?? 'bench-results';
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(report);
  writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.md'), markdown);
  if (values.report) {
    mkdirSync(dirname(values.report), { recursive: true });
    writeFileSync(values.report, renderHtml(report));
  }
  process.stdout.write(markdown);
  progress.line(`wrote ${join(outDir, 'report.json')}, ${join(outDir, 'report.md')}${values.report ? `, ${values.report}` : ''}`);
  return failed ? 1 : 0;
}

function skippedResult(scenario: Scenario, why: string, began: number): ScenarioResult {
  return { scenario: scenario.name, title: scenario.title, method: '-', columns: [], rows: [], charts: [], goals: [], notes: [why], durationS: (Date.now() - began) / 1000 };
}
