// Which origin gets the next attempt: pure selection logic, no I/O and no clock. The pool hands
// in a snapshot of its members (weight, requests in flight, whether they may take traffic) and
// the set already tried for this request; the balancer answers with one index.
//
// Two strategies:
// - weighted-round-robin: nginx's smooth weighted round-robin. Each eligible member's running
//   score grows by its weight, the highest score wins and pays back the total of the weights, so
//   weights 5,1,1 give `a a b a c a a` (interleaved, never `a a a a a b c`).
// - least-busy: the fewest requests in flight; ties go to the higher weight, then to the earlier
//   member in configuration order.

export type Balancing = 'weighted-round-robin' | 'least-busy';

export interface BalancerMember {
  weight: number;
  inFlight: number;
  /** Healthy and not ejected: may take traffic. */
  available: boolean;
}

export interface Choice {
  index: number;
  /** True when no available member was left and an unavailable one was chosen anyway. */
  fallback: boolean;
}

/**
 * Who may be chosen: the available members not tried yet; when there are none, every member not
 * tried yet (fallback: an ejected or unhealthy origin is better than refusing the request).
 */
export function eligible(members: readonly BalancerMember[], tried: ReadonlySet<number> = new Set()): { indices: number[]; fallback: boolean } {
  const untried = members.map((_, i) => i).filter((i) => !tried.has(i));
  const available = untried.filter((i) => members[i]?.available === true);
  return available.length > 0 ? { indices: available, fallback: false } : { indices: untried, fallback: true };
}

/** No member tried yet. */
const NONE_TRIED: ReadonlySet<number> = new Set();

export class Balancer {
  readonly strategy: Balancing;
  /** Smooth WRR running scores, one per member. */
  private readonly current: number[];

  constructor(strategy: Balancing, size: number) {
    this.strategy = strategy;
    this.current = new Array<number>(size).fill(0);
  }

  /** The next member to try, or undefined when every member is in `tried`. */
  pick(members: readonly BalancerMember[], tried: ReadonlySet<number> = NONE_TRIED): Choice | undefined {
    // The choice `eligible` describes, without its arrays: this runs once per origin request.
    let untried = false;
    let available = false;
    for (let i = 0; i < members.length && !available; i++) {
      if (tried.has(i)) continue;
      untried = true;
      available = members[i]?.available === true;
    }
    if (!untried) return undefined;
    const fallback = !available;
    const index = this.strategy === 'least-busy' ? leastBusy(members, tried, fallback) : this.smoothWeighted(members, tried, fallback);
    return { index, fallback };
  }

  private smoothWeighted(members: readonly BalancerMember[], tried: ReadonlySet<number>, fallback: boolean): number {
    let total = 0;
    let best = -1;
    for (let i = 0; i < members.length; i++) {
      if (!isEligible(members, tried, fallback, i)) continue;
      const weight = members[i]?.weight ?? 0;
      const score = (this.current[i] ?? 0) + weight;
      this.current[i] = score;
      total += weight;
      if (best < 0 || score > (this.current[best] ?? 0)) best = i;
    }
    this.current[best] = (this.current[best] ?? 0) - total;
    return best;
  }
}

function isEligible(members: readonly BalancerMember[], tried: ReadonlySet<number>, fallback: boolean, i: number): boolean {
  return !tried.has(i) && (fallback || members[i]?.available === true);
}

function leastBusy(members: readonly BalancerMember[], tried: ReadonlySet<number>, fallback: boolean): number {
  let best = -1;
  for (let i = 0; i < members.length; i++) {
    if (!isEligible(members, tried, fallback, i)) continue;
    const m = members[i];
    const b = members[best];
    if (best < 0 || !b) {
      best = i;
      continue;
    }
    if (!m) continue;
    if (m.inFlight < b.inFlight || (m.inFlight === b.inFlight && m.weight > b.weight)) best = i;
  }
  return best;
}
