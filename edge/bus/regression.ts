// Sequence regressions: the bus's history moved backwards under an edge. Redis replicates
// asynchronously, so a fail-over can promote a replica that lacks the last purges the old primary
// acknowledged (and fanned out). The new primary's counter is then behind what edges applied, and
// its next publishes reuse numbers they already applied with other messages: dropped as
// duplicates, those purges would be lost. Two checks find it: after a reconnect, Redis's counter
// and the replay log against the newest (seq, id) this edge took in; and on every live message,
// a seq already taken in whose id differs from the one taken in at that seq.

/** How many (seq, id) pairs an edge remembers. */
export const RECENT_APPLIED = 256;

/** The newest (seq, id) pairs taken in, in increasing seq. */
export class RecentApplied {
  private readonly ids = new Map<number, string>();

  record(seq: number, id: string): void {
    this.ids.set(seq, id);
    if (this.ids.size > RECENT_APPLIED) this.ids.delete(this.ids.keys().next().value as number);
  }

  idAt(seq: number): string | undefined {
    return this.ids.get(seq);
  }

  /** Forgets everything above `seq` (that part of the history was replaced). */
  dropAbove(seq: number): void {
    for (const key of [...this.ids.keys()]) if (key > seq) this.ids.delete(key);
  }

  clear(): void {
    this.ids.clear();
  }

  /** Lowest seq remembered, or undefined when empty. */
  oldest(): number | undefined {
    return this.ids.keys().next().value;
  }

  /** Highest seq remembered and its id. */
  newest(): { seq: number; id: string } | undefined {
    let last: { seq: number; id: string } | undefined;
    for (const [seq, id] of this.ids) last = { seq, id };
    return last;
  }

  entries(): IterableIterator<[number, string]> {
    return this.ids.entries();
  }
}

/** What Redis holds in the followed epoch: the counter, and message ids by seq from the replay log (newest ones). */
export interface RedisHistory {
  counter: number;
  ids: ReadonlyMap<number, string>;
}

/**
 * Compares this edge's history with Redis's. Undefined when they agree (or nothing says
 * otherwise: a seq no longer in the log proves nothing); else the seq to resume after, the last
 * one both histories share (everything later, in Redis's history, comes from the replay log).
 * A regression: the counter is below `frontier` (the highest seq taken in), or the log holds
 * another message at the newest seq this edge took in.
 */
export function findRegression(recent: RecentApplied, frontier: number, redis: RedisHistory): number | undefined {
  const newest = recent.newest();
  const behind = redis.counter < frontier;
  const replaced = newest !== undefined && redis.ids.has(newest.seq) && redis.ids.get(newest.seq) !== newest.id;
  if (!behind && !replaced) return undefined;
  let shared: number | undefined;
  for (const [seq, id] of recent.entries()) if (seq <= redis.counter && redis.ids.get(seq) === id) shared = seq;
  if (shared !== undefined) return shared;
  // Nothing in common among the remembered ones: the histories part below them.
  const oldest = recent.oldest();
  return Math.max(0, Math.min(redis.counter, frontier, oldest === undefined ? Infinity : oldest - 1));
}
