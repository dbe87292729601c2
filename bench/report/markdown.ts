// The Markdown report: what `mini-cdn bench` prints and writes to report.md. Charts are only in
// the HTML report; here each scenario gets its table. Text from scenarios is escaped only where
// it could break the layout (pipes and newlines in tables), so that stdout stays readable.
import { fixed } from '../stats.js';
import type { BenchReport, Cell, GoalResult, ScenarioResult } from '../types.js';

/** Text for a table cell: a `|` or a newline would otherwise end the cell or the row. */
export function mdCell(text: string): string {
  return text.trim().replace(/\|/g, '\\|').replace(/\r?\n|\r/g, '<br>');
}

/** Text for a heading or a sentence: one line. */
function oneLine(text: string): string {
  return text.replace(/\s*(\r?\n|\r)\s*/g, ' ').trim();
}

/** One line of running text; a leading `-`, `#`, `>`… would start a list, heading or quote. */
function paragraph(text: string): string {
  return oneLine(text).replace(/^([-+*#>]|\d+[.)])/, '\\$1');
}

/** Inline code whose fence is longer than any backtick run inside it. */
function code(text: string): string {
  const longest = Math.max(0, ...(oneLine(text).match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return longest ? `${fence} ${oneLine(text)} ${fence}` : `${fence}${oneLine(text)}${fence}`;
}

export function cellText(value: Cell | undefined): string {
  if (typeof value === 'number') return fixed(value);
  if (value === null || value === undefined) return '-';
  return String(value);
}

export function statusText(goal: GoalResult): string {
  const word = goal.status === 'met' ? 'met' : goal.status === 'missed' ? 'MISSED' : goal.status === 'skipped' ? 'skipped' : String(goal.status);
  return goal.note ? `${word} — ${goal.note}` : word;
}

export function goalCounts(report: BenchReport): string {
  const goals = report.scenarios.flatMap((s) => s.goals);
  const count = (status: GoalResult['status']): number => goals.filter((g) => g.status === status).length;
  return `${count('met')} met, ${count('missed')} missed, ${count('skipped')} skipped`;
}

/** The host line: where and how the figures were taken, and whether they mean anything. */
export function hostLine(report: BenchReport): string {
  const { host, settings } = report;
  const pinning = host.pinned ? 'load generator pinned to core 0, servers to core 1' : 'processes not pinned (taskset not found)';
  const scenarios = settings.scenarios.length ? settings.scenarios.join(', ') : 'none';
  const client = settings.hitClient ? `; hit scenarios loaded with ${oneLine(settings.hitClient)}` : '';
  return `Node ${host.node} on ${host.platform}, ${fixed(host.cpus)} CPUs, ${pinning}; scenarios: ${scenarios}${client}.`;
}

export const QUICK_WARNING = 'Quick mode: these are smoke-run figures that only show each scenario works; they are not meant to be read.';

function table(header: string[], rows: string[][], numeric: boolean[] = []): string[] {
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  const rule = `|${header.map((_, i) => (numeric[i] ? ' ---: ' : ' --- ')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

function scenarioSection(s: ScenarioResult): string[] {
  // run.ts gives a failed or skipped scenario the method '-': nothing to say then.
  const method = s.method.trim() === '-' ? '' : `${paragraph(s.method)} `;
  const out = [`## ${oneLine(s.title)} (${code(s.scenario)})`, '', `${method}_(took ${fixed(s.durationS, 1)} s)_`, ''];
  if (s.columns.length && s.rows.length) {
    // Right-align a column whose values are all numbers (or missing).
    const numeric = s.columns.map((c) => s.rows.every((r) => typeof r[c.key] === 'number' || r[c.key] === null || r[c.key] === undefined));
    out.push(...table(s.columns.map((c) => c.label), s.rows.map((r) => s.columns.map((c) => cellText(r[c.key]))), numeric), '');
  } else {
    out.push('_No figures._', '');
  }
  if (s.charts.length) out.push(`_Charts (in the HTML report): ${s.charts.map((c) => oneLine(c.title)).join('; ')}._`, '');
  if (s.notes.length) {
    // A multi-line note (an error with its stack) stays inside its bullet, indented.
    out.push(...s.notes.map((n) => `- ${n.trim().split(/\r?\n|\r/).map(paragraph).join('\n  ')}`), '');
  }
  return out;
}

export function renderMarkdown(report: BenchReport): string {
  const out = [`# ${report.tool} ${oneLine(report.version)} — ${oneLine(report.startedAt)}`, '', hostLine(report)];
  out.push('', report.settings.quick ? `**${QUICK_WARNING}**` : 'Full run (not quick mode).', '');
  const goals = report.scenarios.flatMap((s) => s.goals.map((g) => [s.scenario, g.goal, g.threshold, g.measured, statusText(g)]));
  out.push('## Goals', '');
  if (goals.length) out.push(`${goalCounts(report)}.`, '', ...table(['scenario', 'goal', 'threshold', 'measured', 'status'], goals), '');
  else out.push('_No goals were judged in this run._', '');
  for (const s of report.scenarios) out.push(...scenarioSection(s));
  if (!report.scenarios.length) out.push('_No scenarios ran._', '');
  return `${out.join('\n').trimEnd()}\n`;
}
