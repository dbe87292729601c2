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
  /** Publisher side: every verified ack, as it arrives. Returns an unsubscribe function. */
  onAck(listener: (ack: Ack) => void): Promise<() => void>;
  /** Registry: adds or refreshes an edge; it is live for ttlMs after each call. */
  heartbeat(edge: EdgeInfo, ttlMs: number): Promise<void>;
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
}

export const DEFAULT_BUS_OPTIONS: Omit<BusOptions, 'signing'> = {
  namespace: 'mini-cdn',
  streamMaxLength: 10_000,
  gapWaitMs: 100,
};
