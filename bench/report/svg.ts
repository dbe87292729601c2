// Inline SVG for the HTML report: grouped bars and time-series lines, with no script and no
// external resource. Every coordinate goes through num(), so a NaN or Infinity in the data can
// never reach an attribute; non-finite values are skipped, not drawn at zero.
import type { Chart } from '../types.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML/SVG content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

// Okabe–Ito: distinguishable with the common colour-vision deficiencies. Yellow is left out:
// it is unreadable on white. Past 7 series the colours repeat with a dash pattern.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#56B4E9', '#CC79A7', '#000000'] as const;
const DASHES = ['', '7 4', '2 3'] as const;

interface Style {
  color: string;
  dash: string;
}

function styleFor(i: number): Style {
  return { color: PALETTE[i % PALETTE.length] as string, dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] as string };
}

/** A coordinate for an attribute: one decimal, and 0 rather than NaN should a bug produce one. */
function num(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0';
}

/**
 * 4–6 evenly spaced "nice" ticks (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi]. An empty or
 * degenerate range (all values equal, or none) is widened so that the axis still has a scale.
 */
export function niceTicks(lo: number, hi: number): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) [lo, hi] = lo === 0 ? [0, 1] : lo > 0 ? [0, lo] : [lo, 0];
  const base = 10 ** Math.floor(Math.log10((hi - lo) / 5));
  // Each candidate step is at most 2.5× the previous, so the first that gives ≤ 6 ticks gives ≥ 4.
  for (const m of [1, 2, 2.5, 5, 10, 20, 25, 50]) {
    const step = m * base;
    const first = Math.floor(lo / step + 1e-9);
    const last = Math.ceil(hi / step - 1e-9);
    if (last - first + 1 <= 6) {
      const ticks: number[] = [];
      for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
      if (ticks.length < 2) ticks.push(Number(((last + 1) * step).toPrecision(12)));
      return ticks;
    }
  }
  return [lo, hi]; // unreachable for finite input; keeps the type total
}

/** Decimals needed to print every multiple of `step` exactly (0.25 → 2). */
function decimalsFor(step: number): number {
  for (let d = 0; d < 8; d++) {
    const m = step * 10 ** d;
    if (Math.abs(m - Math.round(m)) < 1e-6) return d;
  }
  return 8;
}

/** Tick labels sharing one scale (k or M) and just enough decimals for the step. */
function tickLabels(ticks: number[]): string[] {
  const maxAbs = ticks.reduce((m, t) => Math.max(m, Math.abs(t)), 0);
  const [scale, suffix] = maxAbs >= 1e6 ? [1e6, 'M'] : maxAbs >= 1e4 ? [1e3, 'k'] : [1, ''];
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : 1;
  const decimals = decimalsFor(step / scale);
  return ticks.map((t) => `${(t / scale).toFixed(decimals)}${t === 0 ? '' : suffix}`);
}

/** A short value label for a bar: 3 significant digits, k/M for large values. */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

/** Cuts a label to about `px` pixels of 12px text; the full text goes in a <title>. */
function fit(text: string, px: number): string {
  const max = Math.max(3, Math.floor(px / 6.5));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function bounds(values: Iterable<number>): { lo: number; hi: number } | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? { lo, hi } : undefined;
}

const WIDTH = 760;
const LEFT = 64;
const RIGHT = 20;
const PLOT_H = 220;

interface LegendItem {
  name: string;
  style: Style;
  empty?: boolean;
}

/** Legend entries in rows across the top; returns the markup and the height it takes. */
function legend(items: LegendItem[], swatch: 'box' | 'line', top: number): { svg: string; height: number } {
  const parts: string[] = [];
  let x = LEFT;
  let y = top;
  for (const item of items) {
    const label = fit(item.name, 260) + (item.empty ? ' (no data)' : '');
    const w = 22 + label.length * 6.5 + 18;
    if (x + w > WIDTH - RIGHT && x > LEFT) {
      x = LEFT;
      y += 18;
    }
    const mark =
      swatch === 'box'
        ? `<rect x="${num(x)}" y="${num(y - 9)}" width="12" height="12" fill="${item.style.color}"/>`
        : `<line x1="${num(x)}" y1="${num(y - 3)}" x2="${num(x + 16)}" y2="${num(y - 3)}" stroke="${item.style.color}" stroke-width="2.5"${item.style.dash ? ` stroke-dasharray="${item.style.dash}"` : ''}/>`;
    parts.push(`<g>${mark}<text x="${num(x + 22)}" y="${num(y)}"${item.empty ? ' fill="#777"' : ''}>${escapeHtml(label)}<title>${escapeHtml(item.name)}</title></text></g>`);
    x += w;
  }
  return { svg: parts.join(''), height: items.length ? y - top + 18 : 0 };
}

interface Frame {
  top: number;
  height: number;
  y: (v: number) => number;
  svg: string;
}

/** Y ticks, grid lines and the unit, for a plot starting at `top`. */
function yAxis(ticks: number[], unit: string, top: number): Frame {
  const t0 = ticks[0] as number;
  const t1 = ticks[ticks.length - 1] as number;
  const y = (v: number): number => top + PLOT_H * (1 - (v - t0) / (t1 - t0));
  const labels = tickLabels(ticks);
  const parts = [`<text x="8" y="${num(top - 10)}" class="unit">${escapeHtml(fit(unit, LEFT + 60))}</text>`];
  ticks.forEach((t, i) => {
    parts.push(`<line x1="${LEFT}" y1="${num(y(t))}" x2="${WIDTH - RIGHT}" y2="${num(y(t))}" stroke="${t === 0 ? '#888' : '#e3e3e3'}"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${num(y(t) + 4)}" text-anchor="end">${escapeHtml(labels[i] as string)}</text>`);
  });
  return { top, height: PLOT_H, y, svg: parts.join('') };
}

function open(title: string, height: number): string {
  return `<svg viewBox="0 0 ${WIDTH} ${num(height)}" width="${WIDTH}" height="${num(height)}" role="img" aria-label="${escapeHtml(title)}" font-size="12"><title>${escapeHtml(title)}</title>`;
}

function noData(title: string, why: string): string {
  return `${open(title, 80)}<rect x="0.5" y="0.5" width="${WIDTH - 1}" height="79" fill="none" stroke="#ccc"/><text x="${WIDTH / 2}" y="45" text-anchor="middle" fill="#777">${escapeHtml(why)}</text></svg>`;
}

function barChart(chart: Extract<Chart, { kind: 'bar' }>): string {
  const names: string[] = [];
  for (const g of chart.groups) for (const b of g.bars) if (!names.includes(b.name)) names.push(b.name);
  if (!chart.groups.length || !names.length) return noData(chart.title, 'no data');
  const lg = legend(names.map((name, i) => ({ name, style: styleFor(i) })), 'box', 16);
  const range = bounds(chart.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const ticks = niceTicks(Math.min(0, range?.lo ?? 0), Math.max(0, range?.hi ?? 0));
  const frame = yAxis(ticks, chart.unit, 16 + lg.height + 20);
  const plotW = WIDTH - LEFT - RIGHT;
  const groupW = plotW / chart.groups.length;
  const barW = Math.min(48, (groupW * 0.8) / names.length);
  const zeroY = frame.y(0);
  const parts: string[] = [];
  chart.groups.forEach((g, gi) => {
    const gx = LEFT + gi * groupW;
    const start = gx + (groupW - barW * names.length) / 2;
    for (const b of g.bars) {
      const slot = names.indexOf(b.name);
      const x = start + slot * barW;
      const tip = `<title>${escapeHtml(`${g.label} · ${b.name}: ${shortNumber(b.value)} ${chart.unit}`)}</title>`;
      if (!Number.isFinite(b.value)) {
        parts.push(`<text x="${num(x + barW / 2)}" y="${num(zeroY - 4)}" text-anchor="middle" font-size="9" fill="#777">n/a${tip}</text>`);
        continue;
      }
      const vy = frame.y(b.value);
      // A zero still gets a 1px bar: "measured zero" must look different from "missing".
      const h = Math.max(1, Math.abs(zeroY - vy));
      const y = b.value >= 0 ? zeroY - h : zeroY;
      parts.push(`<rect x="${num(x + 1)}" y="${num(y)}" width="${num(Math.max(1, barW - 2))}" height="${num(h)}" fill="${styleFor(slot).color}">${tip}</rect>`);
      if (barW >= 26) {
        const ly = b.value >= 0 ? y - 4 : y + h + 12;
        parts.push(`<text x="${num(x + barW / 2)}" y="${num(ly)}" text-anchor="middle" font-size="10">${escapeHtml(shortNumber(b.value))}</text>`);
      }
    }
    parts.push(`<text x="${num(gx + groupW / 2)}" y="${num(frame.top + PLOT_H + 18)}" text-anchor="middle">${escapeHtml(fit(g.label, groupW - 4))}<title>${escapeHtml(g.label)}</title></text>`);
  });
  const height = frame.top + PLOT_H + 32;
  return `${open(chart.title, height)}${lg.svg}${frame.svg}${parts.join('')}</svg>`;
}

function lineChart(chart: Extract<Chart, { kind: 'line' }>): string {
  if (!chart.series.length) return noData(chart.title, 'no series');
  const series = chart.series.map((s, i) => ({
    name: s.name,
    style: styleFor(i),
    points: s.points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.value)).sort((a, b) => a.t - b.t),
  }));
  const lg = legend(series.map((s) => ({ name: s.name, style: s.style, empty: s.points.length === 0 })), 'line', 16);
  const all = series.flatMap((s) => s.points);
  const vr = bounds(all.map((p) => p.value));
  const tr = bounds(all.map((p) => p.t));
  const yTicks = niceTicks(Math.min(0, vr?.lo ?? 0), Math.max(0, vr?.hi ?? 0));
  const xTicks = niceTicks(Math.min(0, tr?.lo ?? 0), Math.max(0, tr?.hi ?? 0));
  const frame = yAxis(yTicks, chart.unit, 16 + lg.height + 20);
  const x0 = xTicks[0] as number;
  const x1 = xTicks[xTicks.length - 1] as number;
  const x = (t: number): number => LEFT + ((WIDTH - LEFT - RIGHT) * (t - x0)) / (x1 - x0);
  const bottom = frame.top + PLOT_H;
  const parts: string[] = [];
  const xLabels = tickLabels(xTicks);
  xTicks.forEach((t, i) => {
    parts.push(`<line x1="${num(x(t))}" y1="${num(bottom)}" x2="${num(x(t))}" y2="${num(bottom + 5)}" stroke="#888"/>`);
    parts.push(`<text x="${num(x(t))}" y="${num(bottom + 18)}" text-anchor="middle">${escapeHtml(xLabels[i] as string)}</text>`);
  });
  parts.push(`<text x="${num(LEFT + (WIDTH - LEFT - RIGHT) / 2)}" y="${num(bottom + 36)}" text-anchor="middle" class="unit">seconds since the load began</text>`);
  if (!all.length) parts.push(`<text x="${num(LEFT + (WIDTH - LEFT - RIGHT) / 2)}" y="${num(frame.top + PLOT_H / 2)}" text-anchor="middle" fill="#777">no data</text>`);
  for (const s of series) {
    if (!s.points.length) continue;
    const coords = s.points.map((p) => `${num(x(p.t))},${num(frame.y(p.value))}`);
    const dash = s.style.dash ? ` stroke-dasharray="${s.style.dash}"` : '';
    const tip = `<title>${escapeHtml(s.name)}</title>`;
    if (s.points.length > 1) parts.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${s.style.color}" stroke-width="2" stroke-linejoin="round"${dash}>${tip}</polyline>`);
    // Markers when points are few enough to tell apart, and always for a lone point (no line).
    if (s.points.length <= 40) {
      for (const p of s.points) {
        parts.push(`<circle cx="${num(x(p.t))}" cy="${num(frame.y(p.value))}" r="3" fill="${s.style.color}"><title>${escapeHtml(`${s.name}: ${shortNumber(p.value)} ${chart.unit} at ${shortNumber(p.t)} s`)}</title></circle>`);
      }
    }
  }
  const height = bottom + 46;
  return `${open(chart.title, height)}${lg.svg}${frame.svg}<line x1="${LEFT}" y1="${num(frame.top)}" x2="${LEFT}" y2="${num(bottom)}" stroke="#888"/>${parts.join('')}</svg>`;
}

/** One chart as a self-contained inline <svg> element (exactly one per chart). */
export function renderChart(chart: Chart): string {
  return chart.kind === 'bar' ? barChart(chart) : lineChart(chart);
}
