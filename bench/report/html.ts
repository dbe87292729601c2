// The HTML report (--report FILE.html): one self-contained page, inline CSS and inline SVG, no
// script and nothing fetched, so it can be mailed or attached as is. All report text is escaped:
// notes carry error messages verbatim. The CSP forbids scripts and loads should escaping ever slip.
import { fixed } from '../stats.js';
import type { BenchReport, GoalResult, ScenarioResult } from '../types.js';
import { QUICK_WARNING, cellText, goalCounts, hostLine } from './markdown.js';
import { escapeHtml as esc, renderChart } from './svg.js';

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1d;background:#fff;margin:0}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.3em;margin:40px 0 8px;padding-top:8px;border-top:1px solid #ddd}
h2 code{font-size:.8em;color:#555}
.meta{color:#555;margin:0 0 8px}
.banner{padding:10px 14px;border-left:5px solid;margin:12px 0}
.quick{background:#fdf0e6;border-color:#D55E00;font-weight:600}
.full{background:#eef5fb;border-color:#0072B2}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}
th,td{border:1px solid #d5d5d5;padding:4px 8px;text-align:left;vertical-align:top;white-space:pre-line}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{font-weight:700;white-space:nowrap}
tr.met .st{color:#0072B2}
tr.missed{background:#fdf0e6}
tr.missed .st{color:#b34700}
tr.skipped .st{color:#6b6b6b}
.why{display:block;color:#555;font-size:13px}
.notes li{white-space:pre-wrap;overflow-wrap:anywhere}
figure{margin:16px 0}
figcaption{font-weight:600;margin-bottom:4px}
svg{max-width:100%;height:auto;display:block;font-family:inherit}
svg text{fill:#333}
svg text.unit{fill:#555;font-style:italic}
nav ul{margin:4px 0;padding-left:20px}
`;

// The mark makes the status readable without colour.
const STATUS: Record<GoalResult['status'], string> = { met: '✓ met', missed: '✗ MISSED', skipped: '– skipped' };

/** An id for a section: safe characters only, numbered so that it is unique. */
function anchor(s: ScenarioResult, i: number): string {
  return `s${i + 1}-${s.scenario.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40)}`;
}

function goalsTable(report: BenchReport): string {
  const rows = report.scenarios.flatMap((s) =>
    s.goals.map((g) => {
      const status = STATUS[g.status] ?? String(g.status);
      const cls = g.status in STATUS ? g.status : 'skipped';
      const why = g.note ? `<span class="why">${esc(g.note)}</span>` : '';
      return `<tr class="${cls}"><td><code>${esc(s.scenario)}</code></td><td>${esc(g.goal)}</td><td>${esc(g.threshold)}</td><td>${esc(g.measured)}</td><td><span class="st">${esc(status)}</span>${why}</td></tr>`;
    }),
  );
  if (!rows.length) return '<p class="meta">No goals were judged in this run.</p>';
  return `<p class="meta">${esc(goalCounts(report))}.</p>\n<table><thead><tr><th>scenario</th><th>goal</th><th>threshold</th><th>measured</th><th>status</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function figuresTable(s: ScenarioResult): string {
  if (!s.columns.length || !s.rows.length) return '<p class="meta">No figures.</p>';
  const head = s.columns.map((c) => `<th>${esc(c.label)}</th>`).join('');
  const body = s.rows.map((r) => {
    const cells = s.columns.map((c) => {
      const v = r[c.key];
      return `<td${typeof v === 'number' ? ' class="num"' : ''}>${esc(cellText(v))}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

function section(s: ScenarioResult, i: number): string {
  const parts = [
    `<section id="${anchor(s, i)}">`,
    `<h2>${esc(s.title)} <code>${esc(s.scenario)}</code></h2>`,
    `<p>${s.method.trim() === '-' ? '' : `${esc(s.method)} `}<span class="meta">(took ${esc(fixed(s.durationS, 1))} s)</span></p>`,
    figuresTable(s),
  ];
  if (s.notes.length) parts.push(`<ul class="notes">${s.notes.map((n) => `<li>${esc(n.trim())}</li>`).join('')}</ul>`);
  for (const chart of s.charts) parts.push(`<figure><figcaption>${esc(chart.title)}</figcaption>\n${renderChart(chart)}\n</figure>`);
  parts.push('</section>');
  return parts.join('\n');
}

export function renderHtml(report: BenchReport): string {
  const title = `${report.tool} ${report.version} — ${report.startedAt}`;
  const banner = report.settings.quick ? `<p class="banner quick">${esc(QUICK_WARNING)}</p>` : '<p class="banner full">Full run (not quick mode).</p>';
  const toc = report.scenarios.length
    ? `<nav><ul>${report.scenarios.map((s, i) => `<li><a href="#${anchor(s, i)}">${esc(s.title)}</a> <code>${esc(s.scenario)}</code></li>`).join('')}</ul></nav>`
    : '<p class="meta">No scenarios ran.</p>';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    `<h1>${esc(title)}</h1>`,
    `<p class="meta">${esc(hostLine(report))}</p>`,
    banner,
    toc,
    '<h2>Goals</h2>',
    goalsTable(report),
    ...report.scenarios.map(section),
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}
