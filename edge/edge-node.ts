// An edge node: a proxy node that receives invalidation callbacks from the bus, applies them to
// its cache, confirms each one, and holds a lease (the bus renews it and proves the link every
// bus.leaseRenewMs). Copies are trusted past their HTTP freshness only while the lease runs and
// the bus is in sync. When callbacks may have been missed (the bus resynced), every stored copy
// is marked stale: nothing is trusted without revalidation.
import { randomBytes } from 'node:crypto';
import { createProxyNode } from '../proxy/server/proxy-node.js';
import type { ProxyNode } from '../proxy/server/proxy-node.js';
import type { ProxyHooks, ProxyOptions } from '../proxy/server/options.js';
import type { AccessRecord } from '../proxy/server/access-log.js';
import { createNodeMetrics } from '../proxy/server/metrics.js';
import type { NodeMetrics } from '../proxy/server/metrics.js';
import { OriginPool } from '../proxy/upstream/origin-pool.js';
import type { EdgeInfo, Invalidation, InvalidationBus, SigningKeys } from './bus/types.js';
import { APPLIED_FIELD, openApplied, sealApplied } from './tier-field.js';

export interface EdgeOptions {
  /** Stable name in the registry and in receipts; random when not given. */
  id?: string;
  proxy: Partial<ProxyOptions> & { origin: string };
  bus: InvalidationBus;
  /** The keys the bus signs with; also sign the tier field. */
  signing: SigningKeys;
  /** Called once per finished client request (access logs). */
  onResponse?: (record: AccessRecord) => void;
  /** Keep Prometheus metrics (edge.metrics, served by the admin API at /metrics); off by default. */
  metrics?: boolean;
}

export interface EdgeStats {
  id: string;
  applied: number;
  resyncs: number;
  lastApplied?: { epoch: string; seq: number };
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

  const hooks: ProxyHooks = {
    // In sync, and this edge's own lease runs (monotonic clock): a cut link stops the trust in time.
    callbacksInSync: () => bus.leaseValid(),
    upstreamFields: (): Record<string, string> => {
      const at = currentPoint();
      return at ? { [APPLIED_FIELD]: sealApplied(at, signing) } : {};
    },
    behindDownstream: (headers) => {
      const theirs = openApplied(headers[APPLIED_FIELD], signing);
      if (!theirs) return false;
      const mine = currentPoint();
      // Another epoch, or nothing known yet: cannot compare, so do not trust the copy.
      if (!mine || mine.epoch !== theirs.epoch) return true;
      return theirs.seq > mine.seq;
    },
  };
  const { onResponse } = options;
  const observe = options.metrics || onResponse
    ? (record: AccessRecord): void => {
        metrics?.observeResponse(record);
        onResponse?.(record);
      }
    : undefined;
  const proxy = createProxyNode(options.proxy, hooks, observe);
  const client = proxy.engine.client;
  const metrics = options.metrics
    ? createNodeMetrics({
        engine: () => proxy.engine.stats(),
        store: () => proxy.store.stats(),
        ...(client instanceof OriginPool ? { pool: () => client.stats() } : {}),
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
        onResync: () => {
          // Callbacks were lost: every copy must be revalidated before it is used again.
          resyncs++;
          proxy.engine.purge({ all: true, soft: true });
        },
      });
      address = await proxy.listen(port, host);
      bus.keepLease(info());
      return address;
    },
    stats: () => ({ id, applied, resyncs, lastApplied: currentPoint() }),
    async close(graceMs = 0) {
      // Ends the lease first (no copy is trusted past freshness from now on), then leaves the registry.
      await bus.deregister(id).catch(() => undefined);
      await proxy.close(graceMs);
      await bus.close();
    },
  };
}
