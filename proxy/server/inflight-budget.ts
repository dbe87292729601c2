// The bytes that fills still under way hold in memory: kept for the store, or held for clients
// that have not read them yet. One budget per node, shared by every body tee. The bound is
// cache.maxInflightBytes, or the cache's own maxBytes when that is null: the store and the fills
// in flight are bounded separately (store ≤ maxBytes, in flight ≤ the budget), since the store's
// LRU evicts on its own and cannot promise room for a fill that has not finished.
export class InflightBudget {
  private limit: number;
  private used = 0;
  private refused = 0;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) {
      this.refused++;
      return false;
    }
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  /** A reload may change the bound; what is held stays held and counts against the new one. */
  setLimit(limitBytes: number): void {
    this.limit = limitBytes;
  }

  stats(): { usedBytes: number; limitBytes: number; refused: number } {
    return { usedBytes: this.used, limitBytes: this.limit, refused: this.refused };
  }
}
