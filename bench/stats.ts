// Small pure helpers for figures: percentiles, medians, ratios, and how goals are judged.
import type { GoalResult } from './types.js';

/** The p-th percentile (nearest rank) of an ascending list; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** A new order each round, so that no target always runs first or last. */
export function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** A number for a table: integers as is, others to `digits` places; "-" for missing or NaN. */
export function fixed(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/**
 * Judges one goal. `measured` undefined means it could not be measured (a baseline is missing):
 * skipped, with `why`. `atLeast` true means the figure must be ≥ limit, else ≤ limit (or < when strict).
 */
export function judge(goal: string, measured: number | undefined, limit: number, how: { atLeast: boolean; strict?: boolean; unit?: string; detail?: string; why?: string }): GoalResult {
  const sign = how.atLeast ? (how.strict ? '>' : '≥') : how.strict ? '<' : '≤';
  const unit = how.unit ? ` ${how.unit}` : '';
  const threshold = `${sign} ${fixed(limit)}${unit}`;
  if (measured === undefined || !Number.isFinite(measured)) return { goal, threshold, measured: '-', status: 'skipped', note: how.why ?? 'not measured' };
  const met = how.atLeast ? (how.strict ? measured > limit : measured >= limit) : how.strict ? measured < limit : measured <= limit;
  return { goal, threshold, measured: `${fixed(measured)}${unit}${how.detail ? ` (${how.detail})` : ''}`, status: met ? 'met' : 'missed' };
}
