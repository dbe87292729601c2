// The shapes every bench scenario returns and every report renders. A scenario measures; the
// reports (JSON, Markdown, HTML) only present what it returned.

/** A value over time: `t` is seconds since the load began. */
export interface Series {
  name: string;
  points: Array<{ t: number; value: number }>;
}

/** What a chart shows; the HTML report draws these as inline SVG. */
export type Chart =
  | { kind: 'bar'; title: string; unit: string; groups: Array<{ label: string; bars: Array<{ name: string; value: number }> }> }
  | { kind: 'line'; title: string; unit: string; series: Series[] };

/** A goal of the Bench issue: a ratio or count from this run against its threshold. */
export interface GoalResult {
  goal: string;
  /** The threshold in words, e.g. "≥ 0.90". */
  threshold: string;
  /** The measured value in words, e.g. "0.83 (12 034 / 14 500 req/s)". */
  measured: string;
  status: 'met' | 'missed' | 'skipped';
  /** Why skipped, or what the figure means. */
  note?: string;
}

export type Cell = string | number | null;

export interface ScenarioResult {
  scenario: string;
  title: string;
  /** What was measured, how, and with which parameters, in one or two sentences. */
  method: string;
  columns: Array<{ key: string; label: string }>;
  rows: Array<Record<string, Cell>>;
  charts: Chart[];
  goals: GoalResult[];
  /** Lines the operator must see: skipped baselines, anomalies. */
  notes: string[];
  durationS: number;
}

export interface BenchReport {
  tool: 'mini-cdn bench';
  version: string;
  startedAt: string;
  host: { node: string; platform: string; cpus: number; pinned: boolean };
  /** hitClient: the load generator of the hit scenarios, e.g. "wrk 4.1.0" or "autocannon (wrk not installed)". */
  settings: { quick: boolean; scenarios: string[]; hitClient?: string };
  scenarios: ScenarioResult[];
}

/** Progress lines for the operator while a scenario runs (stderr). */
export interface Progress {
  /** A line that stays. */
  line(text: string): void;
  /** A status that the next status or line replaces (on a terminal; throttled otherwise). */
  status(text: string): void;
}

export interface ScenarioContext {
  /** Short runs (seconds, not minutes): a smoke test that every scenario works, not figures. */
  quick: boolean;
  /** Overrides the scenario's load duration per target, in seconds, when given. */
  durationS?: number;
  progress: Progress;
  /** True when this process (the load generator) is pinned to core 0 and servers to core 1. */
  pinned: boolean;
  /** wrk's path when the hit scenarios load with wrk; autocannon otherwise. */
  wrk?: string;
}

export interface Scenario {
  name: string;
  title: string;
  /** Needs redis-server on the PATH (the scenario starts its own). */
  needsRedis: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
