// The bench reports: Markdown and HTML rendered from one synthetic report that carries the awkward
// cases a real run can produce (hostile text in notes, NaN values, empty series, skipped goals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtml } from '../../bench/report/html.js';
import { mdCell, renderMarkdown } from '../../bench/report/markdown.js';
import { niceTicks, renderChart } from '../../bench/report/svg.js';
import type { BenchReport, Chart, ScenarioResult } from '../../bench/types.js';

const HOSTILE = 'origin failed: <script>alert(1)</script> | pipe & "quotes"';

const hitScenario: ScenarioResult = {
  scenario: 'hit',
  title: 'Cache hit throughput',
  method: 'Requests per second for a cached 1 KiB object, proxy against a bare server.',
  columns: [
    { key: 'target', label: 'target' },
    { key: 'rps', label: 'req/s' },
    { key: 'p99', label: 'p99 ms' },
    { key: 'comment', label: 'comment' },
  ],
  rows: [
    { target: 'bare', rps: 14500, p99: 2.345, comment: null },
    { target: 'mini-cdn', rps: 12034.5, p99: NaN, comment: `a | b\nsecond line` },
    { target: 'missing cells' },
  ],
  charts: [
    {
      kind: 'bar',
      title: 'Throughput by target',
      unit: 'req/s',
      groups: [
        { label: '1 KiB', bars: [{ name: 'bare', value: 14500 }, { name: 'mini-cdn', value: 12034 }] },
        { label: '100 KiB', bars: [{ name: 'bare', value: 3200 }, { name: 'mini-cdn', value: NaN }] },
      ],
    },
    {
      kind: 'line',
      title: 'Latency over time <p99>',
      unit: 'ms',
      series: [
        { name: 'bare', points: [{ t: 0, value: 1.2 }, { t: 1, value: 1.4 }, { t: 2, value: NaN }, { t: 3, value: 1.1 }] },
        { name: 'mini-cdn', points: [{ t: 0.5, value: 2.2 }, { t: Infinity, value: 3 }, { t: 2.5, value: 2.9 }] },
        { name: 'empty series', points: [] },
      ],
    },
  ],
  goals: [
    { goal: 'hit ratio vs bare', threshold: '≥ 0.80', measured: '0.83 (12034 / 14500 req/s)', status: 'met' },
    { goal: 'p99 vs bare', threshold: '≤ 2.00', measured: '2.35', status: 'missed', note: HOSTILE },
  ],
  notes: [HOSTILE, 'a second note\nwith a second line', 'first\n- looks like a bullet'],
  durationS: 61.25,
};

const purgeScenario: ScenarioResult = {
  scenario: 'purge',
  title: 'Purge propagation',
  method: '-',
  columns: [],
  rows: [],
  charts: [],
  goals: [{ goal: 'purge reaches all edges', threshold: '< 1.00 s', measured: '-', status: 'skipped', note: 'redis-server is not installed' }],
  notes: ['redis-server is not installed: skipped'],
  durationS: 0.01,
};

function report(overrides: Partial<BenchReport> = {}): BenchReport {
  return {
    tool: 'mini-cdn bench',
    version: '0.1.0',
    startedAt: '2025-01-02T03:04:05.000Z',
    host: { node: 'v20.20.2', platform: 'linux 6.1', cpus: 8, pinned: true },
    settings: { quick: false, scenarios: ['hit', 'purge'] },
    scenarios: [hitScenario, purgeScenario],
    ...overrides,
  };
}

const chartCount = (r: BenchReport): number => r.scenarios.reduce((n, s) => n + s.charts.length, 0);
/** Column separators in a Markdown table line: pipes not preceded by a backslash. */
const columnPipes = (line: string): number => (line.match(/(?<!\\)\|/g) ?? []).length;

test('markdown goals table: one row per goal with its status word', () => {
  const md = renderMarkdown(report());
  const cases: Array<[goal: string, scenario: string, status: RegExp]> = [
    ['hit ratio vs bare', 'hit', /\| met \|$/],
    ['p99 vs bare', 'hit', /\| MISSED — origin failed: /],
    ['purge reaches all edges', 'purge', /\| skipped — redis-server is not installed \|$/],
  ];
  for (const [goal, scenario, status] of cases) {
    const rows = md.split('\n').filter((l) => l.startsWith(`| ${scenario} | ${goal} |`));
    assert.equal(rows.length, 1, `one goals row for ${goal}`);
    assert.match(rows[0] as string, status, goal);
  }
  assert.match(md, /^\| scenario \| goal \| threshold \| measured \| status \|$/m);
  assert.match(md, /1 met, 1 missed, 1 skipped/);
});

test('markdown tables: escaped pipes and newlines keep every row at the header column count', () => {
  const md = renderMarkdown(report());
  const lines = md.split('\n');
  const tables: string[][] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith('|')) continue;
    if (!lines[i - 1]?.startsWith('|')) tables.push([]);
    tables.at(-1)?.push(line);
  }
  assert.equal(tables.length, 2, 'goals table and the hit table');
  for (const table of tables) {
    const want = columnPipes(table[0] as string);
    for (const line of table) assert.equal(columnPipes(line), want, line);
  }
  assert.ok(md.includes('a \\| b<br>second line'), 'pipe escaped, newline turned into <br>');
  assert.ok(md.includes('<script>alert(1)</script> \\| pipe'), 'pipe in a goal note escaped');
});

test('markdown scenario sections: heading, method, cells in column order, notes as bullets', () => {
  const md = renderMarkdown(report());
  const cases: Array<[what: string, expected: string]> = [
    ['heading', '## Cache hit throughput (`hit`)'],
    ['method', 'Requests per second for a cached 1 KiB object'],
    ['header in column order', '| target | req/s | p99 ms | comment |'],
    ['numbers via fixed(), null and NaN as -', '| bare | 14500 | 2.35 | - |'],
    ['missing cells as -', '| missing cells | - | - | - |'],
    ['numeric columns right-aligned', '| --- | ---: | ---: | --- |'],
    ['note bullet', `- ${HOSTILE}`],
    ['multi-line note stays in its bullet', '- a second note\n  with a second line'],
    ['skipped scenario: no method "-", so no stray bullet', '## Purge propagation (`purge`)\n\n_(took 0.0 s)_\n'],
    ['a note line that looks like a list item is escaped', '- first\n  \\- looks like a bullet'],
    ['host line', 'Node v20.20.2 on linux 6.1, 8 CPUs, load generator pinned'],
  ];
  for (const [what, expected] of cases) assert.ok(md.includes(expected), `${what}: ${expected}`);
});

test('quick mode says the figures are not meant to be read, in both outputs', () => {
  const quick = report({ settings: { quick: true, scenarios: ['hit'] } });
  for (const [name, out] of [['markdown', renderMarkdown(quick)], ['html', renderHtml(quick)]] as const) {
    assert.match(out, /smoke-run figures/, name);
    assert.match(out, /not meant to be read/, name);
  }
  assert.doesNotMatch(renderMarkdown(report()), /smoke-run/);
});

test('html: one <svg> per chart, and a figure caption with each chart title', () => {
  const r = report();
  const html = renderHtml(r);
  assert.equal((html.match(/<svg[\s>]/g) ?? []).length, chartCount(r));
  assert.equal(chartCount(r), 2);
  assert.ok(html.includes('<figcaption>Throughput by target</figcaption>'));
  assert.ok(html.includes('<figcaption>Latency over time &lt;p99&gt;</figcaption>'), 'chart title escaped');
});

test('html: self-contained, nothing executable or fetched', () => {
  const html = renderHtml(report());
  const forbidden: Array<[what: string, pattern: RegExp]> = [
    ['script element', /<script/i],
    ['external src', /src\s*=\s*["']?\s*(https?:)?\/\//i],
    ['external href', /href\s*=\s*["']?\s*(https?:)?\/\//i],
    ['css import or url()', /@import|url\(/i],
    ['event handler attribute', /\son[a-z]+\s*=/i],
  ];
  for (const [what, pattern] of forbidden) assert.doesNotMatch(html, pattern, what);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<style>[\s\S]+<\/style>/);
});

test('html: report text is escaped (notes, goal notes, cells, series names)', () => {
  const html = renderHtml(report());
  const escaped = 'origin failed: &lt;script&gt;alert(1)&lt;/script&gt; | pipe &amp; &quot;quotes&quot;';
  assert.equal(html.split(escaped).length - 1, 2, 'the note and the goal note, both escaped');
  assert.ok(html.includes('<li>a second note\nwith a second line</li>'), 'multi-line note kept, pre-wrap shows it');
  assert.ok(html.includes('<td>a | b\nsecond line</td>'));
  assert.ok(html.includes('empty series (no data)'), 'an empty series is in the legend, marked');
  assert.match(html, /<tr class="missed">[\s\S]*?✗ MISSED/);
  assert.match(html, /<tr class="skipped">[\s\S]*?– skipped/);
  assert.match(html, /<tr class="met">[\s\S]*?✓ met/);
});

test('no NaN or undefined in either output', () => {
  for (const r of [report(), report({ settings: { quick: true, scenarios: [] } })]) {
    for (const [name, out] of [['markdown', renderMarkdown(r)], ['html', renderHtml(r)]] as const) {
      assert.doesNotMatch(out, /NaN|undefined|Infinity/, name);
    }
  }
});

test('a report with zero scenarios renders', () => {
  const empty = report({ scenarios: [], settings: { quick: false, scenarios: [] } });
  const md = renderMarkdown(empty);
  const html = renderHtml(empty);
  assert.match(md, /^# mini-cdn bench 0\.1\.0/);
  assert.match(md, /No goals were judged/);
  assert.match(md, /No scenarios ran/);
  assert.match(html, /No goals were judged/);
  assert.doesNotMatch(html, /<svg/);
  assert.ok(html.trimEnd().endsWith('</html>'));
});

test('charts: edge cases draw without NaN in any attribute', () => {
  const cases: Array<[what: string, chart: Chart, expect: RegExp]> = [
    ['no groups', { kind: 'bar', title: 't', unit: 'u', groups: [] }, /no data/],
    ['all-zero bars', { kind: 'bar', title: 't', unit: 'u', groups: [{ label: 'a', bars: [{ name: 'x', value: 0 }, { name: 'y', value: 0 }] }] }, /<rect [^>]*height="1"/],
    ['only NaN bars', { kind: 'bar', title: 't', unit: 'u', groups: [{ label: 'a', bars: [{ name: 'x', value: NaN }] }] }, /n\/a/],
    ['an infinite bar is skipped, the finite one keeps the scale', { kind: 'bar', title: 't', unit: 'u', groups: [{ label: 'a', bars: [{ name: 'x', value: 50 }, { name: 'y', value: Infinity }] }] }, /text-anchor="end">50<\/text>[\s\S]*n\/a/],
    ['negative bars', { kind: 'bar', title: 't', unit: 'u', groups: [{ label: 'a', bars: [{ name: 'x', value: -5 }, { name: 'y', value: 3 }] }] }, /<rect /],
    ['no series', { kind: 'line', title: 't', unit: 'u', series: [] }, /no series/],
    ['only empty series', { kind: 'line', title: 't', unit: 'u', series: [{ name: 's', points: [] }] }, /no data/],
    ['a single point', { kind: 'line', title: 't', unit: 'u', series: [{ name: 's', points: [{ t: 4, value: 7 }] }] }, /<circle /],
    ['all-zero line', { kind: 'line', title: 't', unit: 'u', series: [{ name: 's', points: [{ t: 0, value: 0 }, { t: 1, value: 0 }] }] }, /<polyline /],
    ['only non-finite points', { kind: 'line', title: 't', unit: 'u', series: [{ name: 's', points: [{ t: NaN, value: 1 }, { t: 1, value: -Infinity }] }] }, /no data/],
  ];
  for (const [what, chart, expect] of cases) {
    const svg = renderChart(chart);
    assert.equal((svg.match(/<svg[\s>]/g) ?? []).length, 1, what);
    assert.match(svg, expect, what);
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/, what);
    for (const [, value] of svg.matchAll(/\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height|points)="([^"]*)"/g)) {
      assert.match(value as string, /^[-\d., ]+$/, `${what}: numeric attribute ${value}`);
    }
  }
});

test('niceTicks: 4 to 6 evenly spaced ticks covering the range', () => {
  const ranges: Array<[lo: number, hi: number]> = [[0, 1], [0, 7], [0, 11], [0, 14500], [0, 0.003], [-5, 3], [0, 0], [2, 2], [-3, -3], [0, 101], [1.9, 10.1], [0, 999999], [0, 1e9]];
  for (let i = 1; i < 200; i++) ranges.push([0, i * 1.37], [i, i * 3.1]);
  for (const [lo, hi] of ranges) {
    const ticks = niceTicks(lo, hi);
    const what = `[${lo}, ${hi}] → ${ticks.join(', ')}`;
    assert.ok(ticks.length >= 4 && ticks.length <= 6, what);
    assert.ok((ticks[0] as number) <= lo && (ticks.at(-1) as number) >= hi, what);
    const step = (ticks[1] as number) - (ticks[0] as number);
    for (let k = 1; k < ticks.length; k++) assert.ok(Math.abs((ticks[k] as number) - (ticks[k - 1] as number) - step) < step * 1e-6, what);
  }
});

test('mdCell escapes pipes and newlines', () => {
  const cases: Array<[input: string, expected: string]> = [
    ['a|b', 'a\\|b'],
    ['one\ntwo\r\nthree', 'one<br>two<br>three'],
    ['  padded  ', 'padded'],
    ['C:\\dir\\', 'C:\\dir\\'],
  ];
  for (const [input, expected] of cases) assert.equal(mdCell(input), expected, JSON.stringify(input));
});
