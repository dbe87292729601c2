// An edge node: a proxy node that receives invalidation callbacks from the bus, applies them to
// its cache, confirms each one, and holds a lease (the bus renews it and proves the link every
// bus.leaseRenewMs). Copies are trusted past their HTTP freshness only while the lease runs and
// the bus is in sync. When callbacks may have been missed (the bus resynced), every stored copy
// is marked stale: nothing is trusted without revalidation. A successful unsafe request through
// it is published, so that every edge drops what it changed.
import { randomBytes } from 'node:crypto';
import { createProxyNode } from '../proxy/server/proxy-node.js';
import type { ProxyNode } from '../proxy/server/proxy-node.js';
import type { ProxyHooks, ProxyOptions } from '../proxy/server/options.js';
import type { Outcome } from '../proxy/server/outcome.js';
import { createNodeMetrics } from '../proxy/server/metrics.js';
import type { NodeMetrics } from '../proxy/server/metrics.js';
import { OriginPool } from '../proxy/upstream/origin-pool.js';
import { publishInvalidation } from './bus/receipts.js';
import type { EdgeInfo, Invalidation, InvalidationBus, SigningKeys } from './bus/types.js';
import { APPLIED_FIELD, openApplied, sealApplied } from './tier-field.js';

export interface EdgeOptions {
  /** Stable name in the registry and in receipts; random when not given. */
  id?: string;
  proxy: Partial<ProxyOptions> & { origin: string };
  bus: InvalidationBus;
  /** The keys the bus signs with; also sign the tier field. */
  signing: SigningKeys;
  /** Called once per finished client request with its outcome (access logs). */
  onResponse?: (outcome: Outcome) => void;
  /** Keep Prometheus metrics (edge.metrics, served by the admin API at /metrics); off by default. */
  metrics?: boolean;
  /** An unsafe request's invalidation could not be published to the other edges (logs). */
  onUnsafePublishFailure?: (err: unknown, urls: string[]) => void;
  /** The bus lost callbacks and this edge resynced (every copy is revalidated before reuse); `reason` says why (logs). */
  onResync?: (reason: string) => void;
}

/** How long an unsafe request's invalidation keeps retrying while the bus is unavailable. */
export const UNSAFE_PUBLISH_RETRY_MS = 10_000;
/** Unsafe-request invalidations being published at once; beyond, they fail at once (counted, logged). */
export const MAX_UNSAFE_PUBLISHES = 1_000;

export interface EdgeStats {
  id: string;
  applied: number;
  resyncs: number;
  lastApplied?: { epoch: string; seq: number };
  /** Successful unsafe requests through this edge whose invalidation reached the bus, and those that did not. */
  unsafePublished: number;
  unsafePublishFailures: number;
}

export interface EdgeNode {
  readonly id: string;
  readonly proxy: ProxyNode;
  readonly bus: InvalidationBus;
  /** This edge's Prometheus registry, when made with `metrics: true`. */
  readonly metrics: NodeMetrics | undefined;
  /** Subscribes to the bus, then listens; resolves the edge's base URL. */
  start(port?: number, host?: string): Promise<string>;
  stats(): EdgeStats;
  /** Deregisters (no more receipts wait for it), stops listening, lets in-flight requests finish for up to graceMs, closes the bus. */
  close(graceMs?: number): Promise<void>;
}

export function createEdgeNode(options: EdgeOptions): EdgeNode {
  const id = options.id ?? `edge-${randomBytes(4).toString('hex')}`;
  const { bus, signing } = options;
  let applied = 0;
  let resyncs = 0;
  let startedAtMs = 0;
  let address = '';
  const unsafe = { published: 0, failures: 0, pending: 0 };

  /**
   * A successful unsafe request changed these URLs: every edge drops them (this one too, when its
   * own message comes back: harmless). Fire and forget, with the publisher's retry; the client's
   * response never waits for it nor fails with it.
   */
  function publishUnsafe(urls: string[]): void {
    const valid = urls.filter(isHttpUrl);
    if (valid.length === 0) return;
    const failed = (err: unknown): void => {
      unsafe.failures++;
      try {
        options.onUnsafePublishFailure?.(err, valid);
      } catch {
        // The logger's fault.
      }
    };
    if (unsafe.pending >= MAX_UNSAFE_PUBLISHES) {
      failed(new Error(`${MAX_UNSAFE_PUBLISHES} unsafe-request invalidations are already being published`));
      return;
    }
    unsafe.pending++;
    publishInvalidation(bus, { urls: valid }, { retryForMs: UNSAFE_PUBLISH_RETRY_MS })
      .then(() => void unsafe.published++, failed)
      .finally(() => void unsafe.pending--);
  }

  const hooks: ProxyHooks = {
    // In sync, and this edge's own lease runs (monotonic clock): a cut link stops the trust in time.
    callbacksInSync: () => bus.leaseValid(),
    upstreamFields: (): Record<string, string> => {
      const at = currentPoint();
      return at ? { [APPLIED_FIELD]: sealApplied(at, signing) } : {};
    },
    // The client's field is never passed on: upstream hears this edge's own point, or nothing.
    ownFields: [APPLIED_FIELD],
    behindDownstream: (headers) => {
      // Only a point signed with a key of this bus counts (a client cannot forge one).
      const theirs = openApplied(headers[APPLIED_FIELD], signing);
      if (!theirs) return false;
      const mine = currentPoint();
      // Another epoch (a downstream tier on another bus, or a bus that restarted), or none known
      // yet: the two sequences cannot be compared, and this node's own bus (and its resync when
      // callbacks were lost) is what keeps its copies right. Treating it as "behind" would
      // revalidate every request such a tier sends, for good.
      if (!mine || mine.epoch !== theirs.epoch) return false;
      return theirs.seq > mine.seq;
    },
    onUnsafeInvalidation: publishUnsafe,
  };
  const { onResponse } = options;
  const observe = options.metrics || onResponse
    ? (outcome: Outcome): void => {
        metrics?.observeResponse(outcome);
        onResponse?.(outcome);
      }
    : undefined;
  const proxy = createProxyNode(options.proxy, hooks, observe);
  const metrics = options.metrics
    ? createNodeMetrics({
        engine: () => proxy.engine.stats(),
        store: () => proxy.store.stats(),
        inflight: () => proxy.engine.inflightStats(),
        // The pool of now: a reload that changes the origins replaces it.
        pool: () => {
          const client = proxy.engine.client;
          return client instanceof OriginPool ? client.stats() : undefined;
        },
        bus: () => bus.stats(),
        edgeId: id,
      })
    : undefined;

  /** Where this edge is in the sequence of callbacks: known once the bus follows an epoch. */
  function currentPoint(): { epoch: string; seq: number } | undefined {
    const stats = bus.stats();
    return stats.epoch === undefined ? undefined : { epoch: stats.epoch, seq: stats.lastAppliedSeq };
  }

  async function apply(message: Invalidation): Promise<void> {
    proxy.engine.purge(message);
    applied++;
    const tookMs = Math.max(0, Date.now() - message.issuedAtMs);
    metrics?.observeInvalidationLag(tookMs);
    // The ack is best effort (a lost one shows as "unknown" in the receipt) and not awaited: the
    // next purge must not wait for this one's round trip to Redis.
    void bus.ack({ v: 1, id: message.id, seq: message.seq, edgeId: id, tookMs }).catch(() => undefined);
  }

  function info(): EdgeInfo {
    return { id, address, startedAtMs };
  }

  return {
    id,
    proxy,
    bus,
    metrics,
    async start(port = 0, host = '127.0.0.1') {
      startedAtMs = Date.now();
      await bus.subscribe({
        onInvalidation: apply,
        onResync: (reason) => {
          // Callbacks were lost: every copy must be revalidated before it is used again.
          resyncs++;
          proxy.engine.purge({ all: true, soft: true });
          options.onResync?.(reason);
        },
      });
      address = await proxy.listen(port, host);
      bus.keepLease(info());
      return address;
    },
    stats: () => ({ id, applied, resyncs, lastApplied: currentPoint(), unsafePublished: unsafe.published, unsafePublishFailures: unsafe.failures }),
    async close(graceMs = 0) {
      // Ends the lease first (no copy is trusted past freshness from now on), then leaves the registry.
      await bus.deregister(id).catch(() => undefined);
      await proxy.close(graceMs);
      await bus.close();
    },
  };
}

/** The bus takes absolute http(s) URLs only; a target the proxy could not parse stays local. */
function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
