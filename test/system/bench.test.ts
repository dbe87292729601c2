// `mini-cdn bench --quick` end to end: every scenario runs from the command line against real
// processes (and a redis-server of its own), and the reports are written. Quick figures are not
// judged here (timing belongs to the bench, not to tests), but the properties that do not depend
// on timing are: one origin fetch per stampede, no purge lost across a Redis restart, every
// receipt complete, every stale-if-error object answered while the origin is down, every slow
// reader's answer begun and the reading clients answered in full while they stall.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../bench/types.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function bench(scenarios: string[]): Promise<{ code: number | null; stderr: string; dir: string }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'mini-cdn-bench-'));
  dirs.push(dir);
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'bench', ...scenarios, '--quick', '--out', dir, '--report', join(dir, 'report.html')], { timeout: 240_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, dir });
    });
  });
}

function goal(report: BenchReport, scenario: string, name: RegExp): string {
  const found = report.scenarios.find((s) => s.scenario === scenario)?.goals.find((g) => name.test(g.goal));
  assert.ok(found, `${scenario} has a goal matching ${name}`);
  return found.status;
}

function checkReports(dir: string, scenarios: string[]): BenchReport {
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as BenchReport;
  assert.deepEqual(report.scenarios.map((s) => s.scenario), scenarios);
  for (const s of report.scenarios) {
    assert.ok(s.rows.length > 0, `${s.scenario} measured something: ${s.notes.join('; ')}`);
    assert.ok(s.charts.length > 0, `${s.scenario} has a chart`);
  }
  const markdown = readFileSync(join(dir, 'report.md'), 'utf8');
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  for (const s of report.scenarios) {
    assert.ok(markdown.includes(`(\`${s.scenario}\`)`), `report.md has ${s.scenario}`);
    assert.ok(html.includes(s.title), `report.html has ${s.title}`);
  }
  assert.equal(html.match(/<svg/g)?.length, report.scenarios.reduce((n, s) => n + s.charts.length, 0), 'one SVG per chart');
  assert.doesNotMatch(html, /<script|src="http|href="http/);
  return report;
}

test('bench --quick: the load scenarios (hits, misses, mixed) run and report', async () => {
  const scenarios = ['hit-small', 'hit-large', 'miss', 'mixed'];
  const { code, stderr, dir } = await bench(scenarios);
  assert.equal(code, 0, stderr);
  const report = checkReports(dir, scenarios);
  assert.equal(report.settings.quick, true);
  assert.match(stderr, /== hit-small/, 'progress lines on stderr');
  const hit = report.scenarios.find((s) => s.scenario === 'hit-small');
  assert.ok(hit?.rows.some((r) => r['target'] === 'mini-cdn'), 'mini-cdn measured');
  assert.ok(hit?.rows.some((r) => r['target'] === 'mini-cdn +log'), 'mini-cdn as shipped (access log on) measured');
  // wrk where installed, autocannon otherwise: either way the report and stderr say which.
  assert.match(report.settings.hitClient ?? '', /^(wrk \S+|autocannon) \(/);
  assert.match(stderr, /hit scenarios load with (wrk|autocannon)/);
  assert.notEqual(goal(report, 'hit-small', /as shipped \(log on\) vs bare node @200/), 'skipped');
  assert.notEqual(goal(report, 'hit-large', /CPU per hit as shipped/), 'skipped');
  goal(report, 'miss', /CPU per miss vs nginx, sequential/);
  assert.ok(hit?.rows.some((r) => r['target'] === 'bare node'), 'the bare Node ceiling measured in the same run');
  // nginx and Varnish: measured when installed, else a clear line says why not.
  for (const name of ['nginx', 'varnishd']) {
    const measured = hit?.rows.some((r) => String(r['target']).startsWith(name.replace(/d$/, '')));
    assert.ok(measured || hit?.notes.some((n) => n.startsWith(`${name} is not installed: skipped`)), `${name}: measured or skipped with a reason`);
  }
  assert.notEqual(goal(report, 'mixed', /memory within cache bytes/), 'skipped');
});

test('bench --quick: stampede, purges and outages keep their guarantees', async () => {
  const scenarios = ['stampede', 'purge-propagation', 'redis-outage', 'origin-outage'];
  const { code, stderr, dir } = await bench(scenarios);
  assert.equal(code, 0, stderr);
  const report = checkReports(dir, scenarios);
  assert.equal(goal(report, 'stampede', /origin fetches per stampede/), 'met');
  assert.equal(goal(report, 'stampede', /answered 200/), 'met');
  goal(report, 'stampede', /waiter p99 vs Varnish/);
  assert.equal(goal(report, 'purge-propagation', /incomplete receipts/), 'met');
  assert.equal(goal(report, 'redis-outage', /purges lost/), 'met');
  assert.equal(goal(report, 'redis-outage', /gave up/), 'met');
  assert.equal(goal(report, 'origin-outage', /stale-if-error answered from stale/), 'met');
});

test('bench --quick: slow readers: RSS measured in both phases, reading clients answered in full', async () => {
  const scenarios = ['slow-readers'];
  const { code, stderr, dir } = await bench(scenarios);
  assert.equal(code, 0, stderr);
  const report = checkReports(dir, scenarios);
  // Timing-free: the scenario ran to the end and read RSS; the figures themselves are the bench's.
  assert.notEqual(goal(report, 'slow-readers', /memory within cache bytes/), 'skipped');
  assert.notEqual(goal(report, 'slow-readers', /phase 1/), 'skipped');
  assert.notEqual(goal(report, 'slow-readers', /phase 2/), 'skipped');
  assert.equal(goal(report, 'slow-readers', /reading clients answered in full/), 'met');
  // Every stalled client saw its answer begin (206 for the ranges, 200 for the fills).
  const rows = report.scenarios[0]?.rows ?? [];
  for (const [phase, status] of [['phase 1: (\\d+) stalled clients', 206], ['phase 2: (\\d+) stalled fills', 200]] as const) {
    const row = rows.find((r) => new RegExp(phase).test(String(r['metric'])));
    const clients = new RegExp(phase).exec(String(row?.['metric']))?.[1];
    assert.equal(String(row?.['value']), `${clients} answers began with ${status}`);
  }
});
