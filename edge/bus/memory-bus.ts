// The in-process invalidation bus: the default without Redis, and the reference the Redis bus is
// held to. Every bus created with one namespace in one process shares a hub: the epoch, the
// sequence counter, the bounded replay log (sealed texts), the subscribers, the ack listeners and
// the edge registry. Messages travel sealed, exactly as over Redis, so signing is exercised, and
// are handed over asynchronously (a microtask), so nobody may rely on delivery during publish().
// As over Redis, a live message reaches the Sequencer only once the hub's epoch and counter show
// that the hub numbered it (counter-gate.ts).
// Leases are kept exactly as over Redis (a renewal every leaseRenewMs, on the process's clock);
// nothing can cut an in-process link, so a lease runs as long as its bus is open and subscribed.
import { randomBytes, randomUUID } from 'node:crypto';
import { MiniCdnError } from '../../common/errors.js';
import { buildInvalidation, open, seal } from './messages.js';
import type { Opened } from './messages.js';
import { LeaseKeeper } from './lease.js';
import { Sequencer } from './sequencer.js';
import { CounterGate } from './counter-gate.js';
import { BusClosedError } from './types.js';
import type {
  Ack, BusOptions, BusState, BusStats, EdgeInfo, Invalidation, InvalidationBus, InvalidationRequest, LeasedPublish, LeaseHolder, SubscribeHandlers,
} from './types.js';

/** An in-process bus, with fault-injection hooks for tests (no mocks needed to exercise replay). */
export interface MemoryBus extends InvalidationBus {
  readonly kind: 'memory';
  /**
   * Fault injection: this bus's subscriber loses its live channel for `ms` (every message
   * published meanwhile is dropped for it, as a Redis subscriber misses what is published while
   * it reconnects), then reconnects and catches up from the replay log. Counts as a reconnect.
   * `Infinity` keeps it cut off until the next call with a finite `ms`. Does nothing before
   * subscribe() or after close() (which cancels a pending reconnect).
   */
  simulateDisconnect(ms: number): void;
  /**
   * Fault injection: hands `raw` to every subscriber ('inv') or every ack listener ('ack') of the
   * namespace, as if a peer had sent it on that channel. Nothing is numbered or logged: this is
   * how tests put forged or garbled text on the wire (the Redis tests PUBLISH it raw instead).
   */
  injectRaw(channel: 'inv' | 'ack', raw: string): void;
}

interface Registered {
  info: EdgeInfo;
  expiresAtMs: number;
}

interface Hub {
  readonly epoch: string;
  seq: number;
  /** Sealed invalidations, oldest first, at most streamMaxLength of them. */
  readonly log: { seq: number; text: string }[];
  readonly subscribers: Set<(text: string) => void>;
  readonly ackListeners: Set<(text: string) => void>;
  readonly registry: Map<string, Registered>;
  /** Open buses on this namespace; the hub is forgotten when the last one closes. */
  users: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Registry entries expired for longer than this are forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;

const NO_DELIVERIES: ReturnType<Sequencer['stats']> = { received: 0, applied: 0, duplicates: 0, replayed: 0, gaps: 0, resyncs: 0, deliveryErrors: 0 };

const hubs = new Map<string, Hub>();

function acquireHub(namespace: string): Hub {
  let hub = hubs.get(namespace);
  if (hub === undefined) {
    hub = {
      epoch: randomBytes(8).toString('hex'),
      seq: 0,
      log: [],
      subscribers: new Set(),
      ackListeners: new Set(),
      registry: new Map(),
      users: 0,
    };
    hubs.set(namespace, hub);
  }
  hub.users++;
  return hub;
}

function releaseHub(namespace: string, hub: Hub): void {
  hub.users--;
  if (hub.users <= 0 && hubs.get(namespace) === hub) hubs.delete(namespace);
}

function closedError(): MiniCdnError {
  return new BusClosedError();
}

/** Calls a subscriber's listener; its faults are its own and must not reach the hub. */
function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // The listener's fault.
  }
}

export function createMemoryBus(options: BusOptions): MemoryBus {
  const { namespace, signing } = options;
  const hub = acquireHub(namespace);
  const counts = { forged: 0, garbled: 0, reconnects: 0 };
  const ackReceivers = new Set<(text: string) => void>();
  let closed = false;
  let sequencer: Sequencer | undefined;
  let receiver: ((text: string) => void) | undefined;
  let offline = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** The hub's counter, consulted the way the Redis bus GETs its keys (it cannot fail in process). */
  const gate = new CounterGate({
    read: async () => ({ epoch: hub.epoch, head: hub.seq }),
    pass: (message) => {
      if (!closed) sequencer?.offer(message);
    },
    onStalled: () => undefined,
    stallAfterMs: options.gapWaitMs,
    backoffMs: () => 0,
  });
  let leasedEdge: EdgeInfo | undefined;
  const lease = new LeaseKeeper(options, async () => {
    if (closed || leasedEdge === undefined || offline) throw new Error('not connected');
    renew(leasedEdge, options.leaseMs);
  }, () => undefined);

  function renew(edge: EdgeInfo, ttlMs: number): void {
    const now = Date.now();
    hub.registry.set(edge.id, { info: { ...edge, lastSeenMs: now }, expiresAtMs: now + ttlMs });
  }

  function publishLeased(request: InvalidationRequest): LeasedPublish {
    if (closed) throw closedError();
    // Validates before numbering: a rejected request never takes a sequence number.
    const message = buildInvalidation(request, { epoch: hub.epoch, seq: hub.seq + 1, id: randomUUID(), issuedAtMs: Date.now() });
    const text = seal('inv', message, signing, namespace);
    hub.seq = message.seq;
    hub.log.push({ seq: message.seq, text });
    if (hub.log.length > options.streamMaxLength) hub.log.splice(0, hub.log.length - Math.max(1, options.streamMaxLength));
    fanOut(hub.subscribers, text);
    const now = Date.now();
    const holders: LeaseHolder[] = [];
    for (const [edgeId, entry] of hub.registry) if (entry.expiresAtMs > now) holders.push({ edgeId, expiresAtMs: entry.expiresAtMs });
    holders.sort((a, b) => (a.edgeId < b.edgeId ? -1 : a.edgeId > b.edgeId ? 1 : 0));
    // The hub lives as long as the process (or its buses): no lease can outlive its registry.
    return { message, holders, busNowMs: now, registryReset: false, leaseMarginMs: options.leaseMarginMs };
  }

  /** open() with the bus's keys; failures are counted and come back as undefined. */
  function verify(raw: string): Exclude<Opened, { ok: false }> | undefined {
    const opened = open(raw, signing, namespace);
    if (opened.ok) return opened;
    counts[opened.reason]++;
    return undefined;
  }

  async function replay(fromSeq: number, toSeq: number): Promise<Invalidation[] | 'trimmed'> {
    if (fromSeq > hub.seq) return [];
    const oldest = hub.log[0];
    if (oldest === undefined || oldest.seq > fromSeq) return 'trimmed';
    const found: Invalidation[] = [];
    for (const entry of hub.log) {
      if (entry.seq < fromSeq || entry.seq > toSeq) continue;
      const opened = verify(entry.text);
      if (opened?.kind === 'inv' && opened.message.epoch === hub.epoch) found.push(opened.message);
    }
    return found;
  }

  const state = (): BusState => (closed ? 'down' : (sequencer?.state ?? 'connecting'));

  function fanOut(listeners: Set<(text: string) => void>, text: string): void {
    for (const listener of listeners) queueMicrotask(() => listener(text));
  }

  return {
    kind: 'memory',
    async publish(request: InvalidationRequest): Promise<Invalidation> {
      return publishLeased(request).message;
    },
    async publishLeased(request: InvalidationRequest): Promise<LeasedPublish> {
      return publishLeased(request);
    },
    async subscribe(handlers: SubscribeHandlers): Promise<void> {
      if (closed) throw closedError();
      if (sequencer !== undefined) throw new Error('this bus is already subscribed; create one bus per subscriber');
      const current = new Sequencer({
        startAfter: hub.seq,
        epoch: hub.epoch,
        gapWaitMs: options.gapWaitMs,
        deliver: (message) => handlers.onInvalidation(message),
        replay,
        onResync: (reason) => handlers.onResync(reason),
        onState: (state) => handlers.onState?.(state),
      });
      sequencer = current;
      receiver = (text) => {
        if (closed || offline) return;
        const opened = verify(text);
        if (opened?.kind === 'inv') gate.offer(opened.message); // acks have no business here
      };
      hub.subscribers.add(receiver);
      await current.catchUp();
    },
    state,
    stats(): BusStats {
      const { deliveryErrors: _, ...counted } = sequencer?.stats() ?? NO_DELIVERIES;
      const leased = { leaseValidForMs: state() === 'in-sync' ? Math.round(lease.remainingMs()) : 0, linkDeaths: lease.counts.deaths };
      return { state: state(), epoch: hub.epoch, lastAppliedSeq: sequencer?.lastApplied ?? 0, ...counted, ...counts, ...gate.stats(), ...leased };
    },
    async ack(ack: Ack): Promise<void> {
      if (closed) throw closedError();
      fanOut(hub.ackListeners, seal('ack', ack, signing, namespace));
    },
    async onAck(listener: (ack: Ack) => void): Promise<() => void> {
      if (closed) throw closedError();
      const ackReceiver = (text: string): void => {
        if (closed || !ackReceivers.has(ackReceiver)) return;
        const opened = verify(text);
        if (opened?.kind === 'ack') guarded(() => listener(opened.message));
      };
      ackReceivers.add(ackReceiver);
      hub.ackListeners.add(ackReceiver);
      return () => {
        ackReceivers.delete(ackReceiver);
        hub.ackListeners.delete(ackReceiver);
      };
    },
    async heartbeat(edge: EdgeInfo, ttlMs: number): Promise<void> {
      if (closed) throw closedError();
      renew(edge, ttlMs);
    },
    async leases(edgeIds: string[]) {
      if (closed) throw closedError();
      const expiries: Record<string, number | undefined> = {};
      for (const id of edgeIds) expiries[id] = hub.registry.get(id)?.expiresAtMs;
      return { busNowMs: Date.now(), expiries };
    },
    keepLease(edge: EdgeInfo): void {
      if (closed) return;
      leasedEdge = edge;
      lease.start();
    },
    leaseValid: () => state() === 'in-sync' && lease.valid(),
    async deregister(edgeId: string): Promise<void> {
      if (closed) throw closedError();
      if (edgeId === leasedEdge?.id) lease.stop();
      hub.registry.delete(edgeId);
    },
    async liveEdges(): Promise<EdgeInfo[]> {
      if (closed) throw closedError();
      const now = Date.now();
      const live: EdgeInfo[] = [];
      for (const [id, entry] of hub.registry) {
        if (entry.expiresAtMs >= now) live.push({ ...entry.info });
        else if (entry.expiresAtMs < now - FORGET_AFTER_MS) hub.registry.delete(id);
      }
      return live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    simulateDisconnect(ms: number): void {
      const current = sequencer;
      if (closed || current === undefined) return;
      if (!offline) {
        offline = true;
        counts.reconnects++;
        current.disconnected();
      }
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      if (!(ms <= MAX_TIMER_MS)) return; // setTimeout would fire at once
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        offline = false;
        // The in-process log cannot fail to answer; a closed sequencer returns at once.
        current.catchUp().catch(() => undefined);
      }, ms);
    },
    injectRaw(channel: 'inv' | 'ack', raw: string): void {
      if (closed) throw closedError();
      fanOut(channel === 'inv' ? hub.subscribers : hub.ackListeners, raw);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      lease.stop();
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      sequencer?.close();
      gate.close();
      if (receiver !== undefined) hub.subscribers.delete(receiver);
      for (const ackReceiver of ackReceivers) hub.ackListeners.delete(ackReceiver);
      ackReceivers.clear();
      releaseHub(namespace, hub);
    },
  };
}
