// The invalidation bus: how origins' callbacks reach every edge, in order, with none lost, and
// how edges confirm them. Two implementations pass one contract: the in-process bus (one
// process, the default without Redis) and the Redis bus (pub/sub for fan-out, a stream for
// replay, INCR for sequence numbers, a sorted set for the edge registry).
import { MiniCdnError } from '../../common/errors.js';

/** The bus was closed by its owner: unavailable for good, so retrying is pointless. */
export class BusClosedError extends MiniCdnError {
  constructor() {
    super('MCDN_BUS_UNAVAILABLE', 'the invalidation bus is closed');
  }
}

/** What a publisher asks for. At least one of urls, prefixes, tags or all. */
export interface InvalidationRequest {
  /** Absolute URLs (http://host[:port]/path?query); every variant and HEAD of each. */
  urls?: string[];
  /** Absolute URL prefixes: every stored URL that starts with one of them. */
  prefixes?: string[];
  /** Surrogate keys / cache tags. */
  tags?: string[];
  /** Everything. */
  all?: boolean;
  /** Mark stale (revalidate on next use) instead of deleting. */
  soft?: boolean;
}

/** One invalidation as it travels: the signed body of an envelope. */
export interface Invalidation {
  v: 1;
  /**
   * Identity of the sequence. A bus whose state was lost (Redis restarted without persistence)
   * starts a new epoch and numbers from 1 again; an edge resyncs when it meets a message of the
   * new epoch, once the bus's own state (not the message) says that is the bus's epoch now.
   */
  epoch: string;
  /** Position in the bus's total order within its epoch: 1, 2, 3, ... with no gaps. */
  seq: number;
  /** Unique id (random), for acknowledgements. */
  id: string;
  issuedAtMs: number;
  urls: string[];
  prefixes: string[];
  tags: string[];
  all: boolean;
  soft: boolean;
}

/** An edge's confirmation that it applied an invalidation. */
export interface Ack {
  v: 1;
  id: string;
  seq: number;
  edgeId: string;
  /** Publish-to-applied, as the edge measured it from issuedAtMs (same host clock in tests). */
  tookMs: number;
}

/** A live edge, as the registry knows it. */
export interface EdgeInfo {
  id: string;
  /** Where the edge serves clients, e.g. http://127.0.0.1:8000 */
  address: string;
  /** Admin API base URL, when it has one. */
  adminUrl?: string;
  startedAtMs: number;
  /** Last heartbeat, filled in by the registry. */
  lastSeenMs?: number;
}

/**
 * Connection state of a subscriber. 'in-sync': connected, and every sequence number up to the
 * newest known one has been applied. Anything else means callbacks may be missing right now, so
 * an edge must not trust a copy beyond its HTTP freshness.
 */
export type BusState = 'connecting' | 'in-sync' | 'replaying' | 'down';

export interface SubscribeHandlers {
  /** Called once per sequence number, in order. May be async; the next waits for it. */
  onInvalidation(message: Invalidation): void | Promise<void>;
  /** Some invalidations can no longer be recovered (the stream was trimmed past them, or one never arrived): treat the whole cache as stale. */
  onResync(reason: string): void;
  onState?(state: BusState): void;
}

/** What in-order delivery counts (the Sequencer keeps these; every bus reports them). */
export interface DeliveryCounts {
  received: number;
  applied: number;
  duplicates: number;
  replayed: number;
  gaps: number;
  resyncs: number;
}

export interface BusStats extends DeliveryCounts {
  state: BusState;
  /** Epoch of the sequence being followed, once known. */
  epoch?: string;
  /** Highest sequence number applied in order. */
  lastAppliedSeq: number;
  /** Messages that failed verification: bad or missing signature, unknown key id. */
  forged: number;
  /** Messages that could not be parsed or failed validation. */
  garbled: number;
  /**
   * Validly signed messages of an epoch other than the bus's own state reports (Redis's epoch key,
   * read on the command connection): dropped, never followed. A replay of a message captured
   * before Redis lost its state, or a publisher that still holds an old epoch.
   */
  foreignEpoch: number;
  /** Validly signed messages numbered beyond the bus's own counter: dropped. */
  aheadOfCounter: number;
  /** Reads of the bus's epoch and counter that failed (retried; the state is 'down' while a read fails or hangs). */
  counterReadFailures: number;
  reconnects: number;
  /** How much longer this bus's own lease lets the edge trust copies past freshness (0: none). */
  leaseValidForMs: number;
  /** Links declared dead because a renewal (lease + PING on the subscriber) went unanswered for leaseMs. */
  linkDeaths: number;
}

/** An edge holding a lease at publish time, with its expiry on the bus's clock (Redis TIME). */
export interface LeaseHolder {
  edgeId: string;
  expiresAtMs: number;
}

/** A publish and, read atomically with it, who held a lease then. */
export interface LeasedPublish {
  message: Invalidation;
  holders: LeaseHolder[];
  /** The bus's clock when the publish happened (Redis TIME), the reference of every expiry. */
  busNowMs: number;
  /**
   * The registry may have lost leases that are still running (Redis restarted empty, or its
   * keys were flushed, less than leaseMs + leaseMarginMs ago): the holders list cannot be trusted.
   */
  registryReset: boolean;
  /** The bus's leaseMarginMs: a publisher waits this much past each expiry. */
  leaseMarginMs: number;
}

/** The current lease expiries of some edges (undefined: no entry), on the bus's clock. */
export interface LeaseReading {
  busNowMs: number;
  expiries: Record<string, number | undefined>;
}

export interface InvalidationBus {
  readonly kind: 'memory' | 'redis';
  /** Assigns the next sequence number, signs, appends to the replay log and fans out. */
  publish(request: InvalidationRequest): Promise<Invalidation>;
  /**
   * Starts delivering invalidations with a sequence number greater than the newest one at the
   * time of the call (a new edge starts with an empty cache, so history does not matter to it).
   */
  subscribe(handlers: SubscribeHandlers): Promise<void>;
  state(): BusState;
  stats(): BusStats;
  /** Edge side: confirms an applied invalidation (signed like the invalidations). */
  ack(ack: Ack): Promise<void>;
  /**
   * Publisher side: every verified ack, as it arrives. Returns an unsubscribe function. From the
   * first call on, a bus without a lease PINGs its subscriber every leaseRenewMs, and drops and
   * rebuilds its links when no answer comes within leaseMs.
   */
  onAck(listener: (ack: Ack) => void): Promise<() => void>;
  /** Publishes like publish(), and returns the lease holders read atomically with the publish. */
  publishLeased(request: InvalidationRequest): Promise<LeasedPublish>;
  /** Registry: adds or refreshes an edge's lease; it expires ttlMs after the bus's clock (Redis TIME) at execution. */
  heartbeat(edge: EdgeInfo, ttlMs: number): Promise<void>;
  /** Publisher side: the current lease expiry of each edge, and the bus's clock. */
  leases(edgeIds: string[]): Promise<LeaseReading>;
  /**
   * Edge side, after subscribe(): every leaseRenewMs, renews this edge's lease (leaseMs) and then
   * proves the subscriber link with a PING on it (answered only after every message published
   * before it). A renewal not answered within leaseMs means a dead link: the bus leaves 'in-sync'
   * at once, drops both connections, reconnects and catches up.
   */
  keepLease(edge: EdgeInfo): void;
  /**
   * True while the bus is 'in-sync' and this edge's own lease runs, by its monotonic clock:
   * now < (when the last successful renewal was sent) + leaseMs - leaseMarginMs. Only then may an
   * edge trust a copy beyond its HTTP freshness.
   */
  leaseValid(): boolean;
  /** Removes an edge from the registry; when it is this bus's own leased edge, its lease ends first. */
  deregister(edgeId: string): Promise<void>;
  liveEdges(): Promise<EdgeInfo[]>;
  close(): Promise<void>;
}

/** HMAC keys: `current` signs; every key in `keys` verifies (rotation: add the new, then switch). */
export interface SigningKeys {
  current: string;
  keys: Record<string, string>;
}

export interface BusOptions {
  signing: SigningKeys;
  /** Redis key prefix / in-process namespace, so that tests can run side by side. */
  namespace: string;
  /** Bound of the replay log (Redis stream MAXLEN, approximate). */
  streamMaxLength: number;
  /** How long an out-of-order message waits for the missing ones before a replay is attempted. */
  gapWaitMs: number;
  /** How often an edge renews its lease and proves its link (PING on the subscriber connection). */
  leaseRenewMs: number;
  /** A lease lasts this long after its renewal; a link silent this long is dead. */
  leaseMs: number;
  /** Clock-drift margin: an edge trusts its lease this much less, a publisher waits this much longer. */
  leaseMarginMs: number;
  /** Every Redis command (and connection attempt) fails after this long. */
  commandTimeoutMs: number;
}

export const DEFAULT_BUS_OPTIONS: Omit<BusOptions, 'signing'> = {
  namespace: 'mini-cdn',
  streamMaxLength: 10_000,
  gapWaitMs: 100,
  leaseRenewMs: 1_000,
  leaseMs: 3_000,
  leaseMarginMs: 1_000,
  commandTimeoutMs: 2_000,
};
