// Zipf-distributed ranks for bench workloads: rank r of 1..N is drawn with probability
// proportional to 1 / r^s, as object popularity on a CDN roughly is. Seeded, so that two runs of
// a scenario ask for the same URLs in the same order (per connection).

/** mulberry32: a tiny 32-bit PRNG, good enough for workloads and repeatable from its seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Large enough for any catalogue a bench holds; a bound so that a typo cannot allocate gigabytes. */
const MAX_RANKS = 50_000_000;

export interface Zipf {
  readonly n: number;
  readonly s: number;
  /** A rank in 1..n. */
  next(): number;
  /** The probability of `rank` (0 outside 1..n). */
  probability(rank: number): number;
}

/**
 * A sampler over ranks 1..n with exponent s (s = 0 is uniform). The CDF is precomputed once
 * (8 bytes per rank), so each draw is one random number and a binary search.
 */
export function zipf(n: number, s: number, random: () => number = mulberry32(1)): Zipf {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RANKS) throw new RangeError(`zipf: n must be an integer in 1..${MAX_RANKS}, got ${n}`);
  if (!Number.isFinite(s) || s < 0) throw new RangeError(`zipf: s must be a finite number ≥ 0, got ${s}`);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 1; r <= n; r++) {
    total += r ** -s;
    cdf[r - 1] = total;
  }
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / total;
  // Rounding may leave the last value a hair under 1; a draw must always find a rank.
  cdf[n - 1] = 1;
  return {
    n,
    s,
    next() {
      const u = random();
      // The first index whose cumulative probability exceeds u.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cdf[mid] as number) > u) hi = mid;
        else lo = mid + 1;
      }
      return lo + 1;
    },
    probability(rank) {
      if (!Number.isInteger(rank) || rank < 1 || rank > n) return 0;
      return rank ** -s / total;
    },
  };
}
