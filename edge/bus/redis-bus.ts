// The Redis invalidation bus. Keys under `${namespace}:`: `epoch` (random id, SET NX at first use),
// `epoch:since` (Redis time it was created), `seq` (the counter), `stream` (the replay log, MAXLEN
// ~ streamMaxLength), `edges:seen` (sorted set, score = lease expiry on Redis's clock) and
// `edges:info` (hash id -> EdgeInfo JSON); channels `inv` and `ack`.
// A publish is one Lua script that checks the epoch and the counter, then advances the counter,
// appends to the stream, PUBLISHes and reads the lease holders, atomically: the counter, the log,
// the channel and the receipt's list of holders never disagree, and a failed publish leaves no
// hole. Two connections, opened on first use: commands (no offline queue: a publish while Redis is
// down fails fast) and the subscriber; both reconnect forever, backing off to 1 s (a client that
// ioredis gives up on is replaced: replaceEnded); every command times out after commandTimeoutMs. After the subscriber reconnects it catches up from the stream;
// a lost state (Redis restarted empty: a new epoch) or a trimmed stream means a resync. An edge's
// lease (keepLease) proves both connections every leaseRenewMs; a link silent for leaseMs is
// destroyed (both sockets: a half-open one would never close by itself) and rebuilt.
// A live message reaches the Sequencer only once a GET of `epoch` and `seq` on the command
// connection shows that Redis numbered it (counter-gate.ts): a validly signed message of another
// epoch, or beyond the counter, is dropped and counted, never followed. A publisher's ack
// subscription outlives each receipt by ACK_LINGER_MS, for as long as its subscriber connection does.
import { randomBytes, randomUUID } from 'node:crypto';
import { LeaseKeeper } from './lease.js';
import { MiniCdnError } from '../../common/errors.js';
import { parseRedisTarget } from '../../common/redis-target.js';
import type { RedisTarget } from '../../common/redis-target.js';
import { buildInvalidation, open, seal } from './messages.js';
import type { Opened } from './messages.js';
import { Sequencer } from './sequencer.js';
import { CounterGate } from './counter-gate.js';
import type {
  Ack, BusOptions, BusState, BusStats, EdgeInfo, Invalidation, InvalidationBus, InvalidationRequest, LeasedPublish, LeaseReading, SubscribeHandlers,
} from './types.js';

import {
  PREPARE,
  COMMIT,
  LEASE,
  LEASES,
  LIVE_EDGES,
  holdersOf,
  REPLAY_PAGE,
  MAX_COMMIT_ATTEMPTS,
  FORGET_AFTER_MS,
  RETIRED_EPOCHS,
  REGRESSION_READS,
  backoff,
  NO_DELIVERIES,
  closedError,
  failure,
  unavailable,
  parseEdge,
  shut,
  fieldsOf,
  readHistory,
} from './redis-support.js';
import { openRedis } from './redis-connection.js';
import type { Client, Role } from './redis-support.js';

/** A publisher stays subscribed to acks this long after its last receipt: the next one needs no SUBSCRIBE first. */
const ACK_LINGER_MS = 10_000;

/** `target`: a redis://, rediss:// or redis-sentinel:// URL, or a parsed target (one server, or a Sentinel setup). */
export function createRedisBus(target: string | RedisTarget, options: BusOptions): InvalidationBus {
  const { signing, namespace } = options;
  const where = typeof target === 'string' ? parseRedisTarget(target) : target;
  const keys = {
    epoch: `${namespace}:epoch`, since: `${namespace}:epoch:since`, seq: `${namespace}:seq`, stream: `${namespace}:stream`,
    inv: `${namespace}:inv`, ack: `${namespace}:ack`, seen: `${namespace}:edges:seen`, info: `${namespace}:edges:info`,
  };
  const counts = { forged: 0, garbled: 0, reconnects: 0 };
  const channels = new Set<string>();
  const ackListeners = new Set<(ack: Ack) => void>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  /** The two connections, each created and connected on first use. */
  const links: Record<Role, { client?: Client; connecting?: Promise<void> }> = { commands: {}, subscriber: {} };
  let subUp = false;
  /** Subscriber clients that ended (replaceEnded) since the last 'ready': the pause before the next. */
  let endedInARow = 0;
  /** A subscriber client replaced one that ended: its first 'ready' must subscribe again and catch up. */
  let resumeOwed = false;
  /** Subscriber connections so far ('ready' events): a SUBSCRIBE confirmed on an older one proves nothing now. */
  let subConnection = 0;
  /** The subscriber connection on which the ack channel's SUBSCRIBE was confirmed, if it still is. */
  let acksHeardOn: number | undefined;
  let ackLinger: NodeJS.Timeout | undefined;
  let resumeGeneration = 0;
  let handlers: SubscribeHandlers | undefined;
  let sequencer: Sequencer | undefined;
  /** Verified live invalidations that arrived before the Sequencer existed (during subscribe). */
  let early: Invalidation[] = [];
  /** Where subscribe() started: older messages still in flight then are not news (nor duplicates). */
  let start: { epoch: string; seq: number } | undefined;
  /** The epoch the Sequencer follows (it switches on a live message of a new one), and those it left. */
  let followed: string | undefined;
  const retired: string[] = [];
  /** The publisher's idea of [epoch, newest seq]; the commit script corrects it. */
  let hint: { epoch: string; seq: number } | undefined;
  let publishing: Promise<unknown> = Promise.resolve();
  /** Live messages wait here until Redis's epoch and counter vouch for them. */
  const gate = new CounterGate({
    read: async () => {
      const [epoch, head] = await (await commands()).mget(keys.epoch, keys.seq);
      return { epoch: epoch ?? null, head: Number(head ?? 0) };
    },
    pass: (message) => {
      if (handlers !== undefined && !closed) offer(message);
    },
    onStalled: () => reportState(),
    stallAfterMs: options.gapWaitMs,
    backoffMs: backoff,
  });
  let reported: BusState = 'connecting';

  let leasedEdge: EdgeInfo | undefined;
  const lease = new LeaseKeeper(options, renewalRound, dropLinks);
  /** A publisher's ack listener proves its subscriber the same way (a PING), without a lease. */
  const ackLink = new LeaseKeeper(options, pingRound, dropLinks);

  function connection(role: Role): Client {
    const client = openRedis(where, options.commandTimeoutMs) as Client;
    client.on('error', () => undefined); // every failure surfaces where it matters: a command's rejection
    client.defineCommand('mcdnPrepare', { numberOfKeys: 4, lua: PREPARE });
    client.defineCommand('mcdnCommit', { numberOfKeys: 5, lua: COMMIT });
    client.defineCommand('mcdnLease', { numberOfKeys: 2, lua: LEASE });
    client.defineCommand('mcdnLeases', { numberOfKeys: 1, lua: LEASES });
    client.defineCommand('mcdnLiveEdges', { numberOfKeys: 2, lua: LIVE_EDGES });
    client.on('end', () => replaceEnded(role, client));
    if (role === 'subscriber') {
      client.on('message', onMessage);
      client.on('ready', () => {
        // The first 'ready' is connect()'s own (subscribe() catches up itself), unless it replaces a client that ended.
        const again = links.subscriber.connecting === undefined || resumeOwed;
        resumeOwed = false;
        subUp = true;
        endedInARow = 0;
        subConnection++;
        if (again) void resume();
      });
      client.on('close', () => {
        if (!subUp) return;
        subUp = false;
        counts.reconnects++;
        sequencer?.disconnected();
      });
    }
    return client;
  }

  async function connected(role: Role): Promise<Client> {
    if (closed) throw closedError();
    const link = links[role];
    if (link.client?.status === 'end') replaceEnded(role, link.client); // before its 'end' event is emitted
    if (link.client === undefined) {
      link.client = connection(role);
      const connecting: Promise<void> = link.client.connect().finally(() => {
        if (link.connecting === connecting) link.connecting = undefined;
      });
      link.connecting = connecting;
    }
    const client = link.client;
    if (link.connecting !== undefined) await firstConnect(link.connecting, role);
    return client;
  }

  /**
   * Waits for a client's first connect, bounded: with Sentinel, ioredis asks the sentinels again
   * and again while none answers, and its connect() would never settle (a publish would hang past
   * its retryForMs). Each step (a sentinel's answer, the TCP connect, the ready check) has
   * commandTimeoutMs; past all three this call fails (unavailable) and the connect goes on.
   */
  function firstConnect(connecting: Promise<void>, role: Role): Promise<void> {
    const boundMs = 3 * options.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${role} connection is not ready after ${boundMs} ms`)), boundMs);
    });
    return Promise.race([connecting, late]).finally(() => clearTimeout(timer));
  }

  /**
   * ioredis gives a client up for good ('end': every command fails "Connection is closed.", no
   * reconnect) when a reconnect is cut off mid-way: with Sentinel, the failover detector of the
   * connection that was lost fires (+switch-master) while the next one is still asking a sentinel
   * for the master. Only close() may end a link: a new client takes the place of one that ended,
   * and a subscriber then subscribes again and catches up, as after any reconnect.
   */
  function replaceEnded(role: Role, client: Client): void {
    const link = links[role];
    if (closed || link.client !== client) return;
    link.client = undefined;
    link.connecting = undefined;
    if (role !== 'subscriber') return;
    if (subUp) {
      subUp = false;
      counts.reconnects++;
      sequencer?.disconnected();
    }
    if (channels.size === 0) return; // nothing to listen to: the next listen() connects
    // The new client's first 'ready' resumes (as a reconnect's does); a failed connect retries by
    // itself, or ends again (then this runs again, later).
    resumeOwed = true;
    const timer = setTimeout(() => {
      timers.delete(timer);
      connected('subscriber').catch(() => undefined);
    }, backoff(endedInARow++));
    timers.add(timer);
  }
  const commands = (): Promise<Client> => connected('commands');

  /**
   * One renewal: the lease first, then a PING on the subscriber. Redis answers the PING after
   * every message published before it, and the PING is sent after the lease was renewed: an edge
   * whose lease was renewed after a publish has that publish's message in hand before the round
   * succeeds (the lease counts only while the bus is in sync, too).
   */
  async function renewalRound(): Promise<void> {
    const sub = links.subscriber.client;
    if (leasedEdge === undefined || !subUp || sub?.status !== 'ready') throw new Error('the subscriber connection is not up');
    await heartbeatFor(leasedEdge, options.leaseMs);
    if (links.subscriber.client !== sub || !subUp) throw new Error('the subscriber reconnected meanwhile');
    await sub.ping();
  }

  async function pingRound(): Promise<void> {
    const sub = links.subscriber.client;
    if (!subUp || sub?.status !== 'ready') throw new Error('the subscriber connection is not up');
    await sub.ping();
  }

  /**
   * A dead link: out of sync at once, and both sockets destroyed. disconnect() would end() them
   * and wait for a FIN that a frozen Redis or a cut path never sends; after a destroy ioredis sees
   * a closed connection and reconnects (then the subscriber re-subscribes and catches up).
   */
  function dropLinks(): void {
    if (closed) return;
    sequencer?.disconnected();
    for (const link of [links.subscriber, links.commands]) link.client?.stream?.destroy();
  }

  async function heartbeatFor(edge: EdgeInfo, ttlMs: number): Promise<void> {
    const info = JSON.stringify({ ...edge, lastSeenMs: 0 });
    await command('heartbeat', (client) => client.mcdnLease(keys.seen, keys.info, edge.id, ttlMs, info));
  }

  /** Runs a command; any failure to get it through is MCDN_BUS_UNAVAILABLE. */
  async function command<T>(what: string, run: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await run(await commands());
    } catch (err) {
      throw unavailable(err, what);
    }
  }

  /** Subscribes `channel` (again after every reconnect); fails when the subscriber is not up. */
  async function listen(channel: string): Promise<void> {
    const client = await connected('subscriber');
    channels.add(channel);
    if (client.status !== 'ready') throw new Error(`the subscriber connection is ${client.status}`);
    await client.subscribe(channel);
  }

  function verify(raw: string): Exclude<Opened, { ok: false }> | undefined {
    const opened = open(raw, signing, namespace);
    if (opened.ok) return opened;
    counts[opened.reason]++;
    return undefined;
  }

  /** Mirrors the Sequencer: a message of an epoch it has not left makes that epoch the followed one. */
  function follow(epoch: string): void {
    if (epoch === followed || retired.includes(epoch)) return;
    if (followed !== undefined) retired.push(followed);
    if (retired.length > RETIRED_EPOCHS) retired.shift();
    followed = epoch;
  }

  function offer(message: Invalidation): void {
    if (sequencer === undefined) {
      early.push(message);
      return;
    }
    if (message.epoch === start?.epoch && message.seq <= start.seq) return;
    follow(message.epoch);
    sequencer.offer(message);
  }

  function onMessage(channel: string, raw: string): void {
    if (closed) return;
    if (channel === keys.inv) {
      if (handlers === undefined) return;
      const opened = verify(raw);
      if (opened?.kind === 'inv') gate.offer(opened.message); // an ack has no business on this channel
    } else if (channel === keys.ack) {
      if (ackListeners.size === 0) return;
      const opened = verify(raw);
      if (opened?.kind !== 'ack') return;
      for (const listener of [...ackListeners]) {
        try {
          listener(opened.message);
        } catch {
          // The listener's fault.
        }
      }
    }
  }

  /** After the subscriber reconnected: subscribe again, then catch up (retried until it works). */
  async function resume(): Promise<void> {
    const generation = ++resumeGeneration;
    for (let attempt = 0; ; attempt++) {
      const sub = links.subscriber.client;
      if (closed || generation !== resumeGeneration || !subUp || sub === undefined) return;
      try {
        if (channels.size > 0) await sub.subscribe(...channels);
        // A new connection hears nothing published before it subscribed: nothing older is in flight.
        start = undefined;
        if (sequencer !== undefined) {
          await checkRegression(sequencer);
          await sequencer.catchUp();
        }
        return;
      } catch {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(void timers.delete(timer)), backoff(attempt));
          timers.add(timer);
        });
      }
    }
  }

  /**
   * After a reconnect: did the history go backwards (a fail-over lost the newest messages)? See
   * regression.ts. A read that messages overtook is stale: read again (bounded; while messages
   * keep arriving, the check on each live message covers them).
   */
  async function checkRegression(current: Sequencer): Promise<void> {
    // Not counted as forged or garbled: catching up reads (and counts) the same entries.
    const openEntry = (text: string): Invalidation | undefined => {
      const opened = open(text, signing, namespace);
      return opened.ok && opened.kind === 'inv' ? opened.message : undefined;
    };
    for (let attempt = 0; attempt < REGRESSION_READS; attempt++) {
      const epoch = current.epoch;
      if (epoch === undefined) return;
      const before = current.changes;
      const history = await readHistory(await commands(), keys, epoch, current.oldestRemembered(), openEntry);
      if (history === undefined) return;
      if (current.changes === before) {
        current.checkRegression(epoch, history);
        return;
      }
    }
  }

  /**
   * The replay log of the followed epoch, fromSeq..toSeq; 'trimmed' when it no longer reaches
   * fromSeq. When Redis has moved to another epoch (it lost its state), the followed epoch's tail
   * is gone: the new epoch's whole log comes back instead, whatever the range (the Sequencer
   * resyncs on the new epoch and delivers it), or 'trimmed' when that log does not reach seq 1 or
   * is empty (a resync now, not at the next message).
   */
  async function replay(fromSeq: number, toSeq: number): Promise<Invalidation[] | 'trimmed'> {
    const client = await commands();
    const [epoch, head] = await client.mget(keys.epoch, keys.seq);
    if (epoch === null) return 'trimmed';
    const newEpoch = epoch !== followed;
    if (newEpoch) [fromSeq, toSeq] = [1, Infinity];
    const last = Math.min(toSeq, Number(head ?? 0));
    if (fromSeq > last) return newEpoch ? 'trimmed' : [];
    const found = new Map<number, Invalidation>();
    let end = '+';
    let reached = false;
    // Newest first, page by page, down to fromSeq: a catch-up near the head reads little.
    scan: for (;;) {
      const page = await client.xrevrange(keys.stream, end, '-', 'COUNT', REPLAY_PAGE);
      for (const [id, list] of page) {
        end = `(${id}`;
        const fields = fieldsOf(list);
        const seq = Number(fields.s);
        if (fields.e !== epoch) break scan; // an older epoch's leftovers: this epoch's log ends here
        if (seq <= fromSeq) reached = true;
        if (seq < fromSeq) break scan;
        if (seq > last || fields.m === undefined) continue;
        const opened = verify(fields.m);
        if (opened?.kind === 'inv' && opened.message.epoch === epoch && opened.message.seq === seq) found.set(seq, opened.message);
      }
      if (reached || page.length < REPLAY_PAGE) break;
    }
    if (!reached) return 'trimmed';
    return [...found.values()].sort((a, b) => a.seq - b.seq);
  }

  async function publishOnce(request: InvalidationRequest): Promise<LeasedPublish> {
    const ids = { id: randomUUID(), issuedAtMs: Date.now() };
    // Validate before touching Redis: a bad request is MCDN_INVALIDATION_INVALID even when Redis is down.
    buildInvalidation(request, { ...ids, epoch: hint?.epoch ?? 'unnumbered', seq: (hint?.seq ?? 0) + 1 });
    try {
      const client = await commands();
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
        if (hint === undefined) {
          const [epoch, seq] = await client.mcdnPrepare(keys.epoch, keys.seq, keys.stream, keys.since, randomBytes(8).toString('hex'));
          hint = { epoch, seq };
        }
        const message = buildInvalidation(request, { ...ids, epoch: hint.epoch, seq: hint.seq + 1 });
        const text = seal('inv', message, signing, namespace);
        const resetWindowMs = options.leaseMs + options.leaseMarginMs;
        const [done, epoch, seq, now, holders, reset] = await client.mcdnCommit(
          keys.epoch, keys.seq, keys.stream, keys.seen, keys.since, message.epoch, message.seq, options.streamMaxLength, text, keys.inv, resetWindowMs,
        );
        hint = epoch === '' ? undefined : { epoch, seq };
        if (done === 1) return { message, holders: holdersOf(holders ?? []), busNowMs: Number(now), registryReset: reset === 1, leaseMarginMs: options.leaseMarginMs };
      }
    } catch (err) {
      hint = undefined;
      throw unavailable(err, 'publish');
    }
    throw new MiniCdnError('MCDN_BUS_UNAVAILABLE', `publish: no sequence number after ${MAX_COMMIT_ATTEMPTS} attempts (other publishers kept taking them)`);
  }

  // A message waiting on a failing read of Redis's counter may be a real purge: not in sync meanwhile.
  const state = (): BusState => (closed ? 'down' : gate.isStalled ? 'down' : (sequencer?.state ?? 'connecting'));

  function reportState(): void {
    const now = state();
    if (now === reported || sequencer === undefined) return;
    reported = now;
    handlers?.onState?.(now);
  }

  function unlistenAcks(): void {
    channels.delete(keys.ack);
    acksHeardOn = undefined;
    const sub = links.subscriber.client;
    if (sub?.status === 'ready') sub.unsubscribe(keys.ack).catch(() => undefined);
  }

  function publishLeased(request: InvalidationRequest): Promise<LeasedPublish> {
    // One publish at a time from this bus: its own publishes never race each other for a number.
    const result = publishing.then(() => publishOnce(request));
    publishing = result.catch(() => undefined);
    return result;
  }

  return {
    kind: 'redis',
    publish: (request) => publishLeased(request).then((published) => published.message),
    publishLeased,
    async subscribe(subscribeHandlers: SubscribeHandlers): Promise<void> {
      if (closed) throw closedError();
      if (handlers !== undefined) throw new Error('this bus is already subscribed; create one bus per subscriber');
      handlers = subscribeHandlers;
      try {
        // Subscribed first, then the counter read: nothing published after the read is missed.
        await listen(keys.inv);
        const client = await commands();
        const [epoch, seq] = await client.mcdnPrepare(keys.epoch, keys.seq, keys.stream, keys.since, randomBytes(8).toString('hex'));
        followed = epoch;
        start = { epoch, seq };
        const current = new Sequencer({
          startAfter: seq,
          epoch,
          gapWaitMs: options.gapWaitMs,
          deliver: (message) => {
            follow(message.epoch);
            return subscribeHandlers.onInvalidation(message);
          },
          replay,
          onResync: (reason) => subscribeHandlers.onResync(reason),
          onState: () => reportState(),
        });
        sequencer = current;
        for (const message of early.splice(0)) if (message.epoch === epoch) offer(message); // older epochs: stale
        await current.catchUp();
        // Dropped meanwhile: 'down' until the subscriber's next 'ready' catches up again.
        if (!subUp) current.disconnected();
      } catch (err) {
        sequencer?.close();
        sequencer = undefined;
        handlers = undefined;
        early = [];
        channels.delete(keys.inv);
        const sub = links.subscriber.client;
        if (sub?.status === 'ready') await sub.unsubscribe(keys.inv).catch(() => undefined);
        throw unavailable(err, 'subscribe');
      }
    },
    state,
    stats(): BusStats {
      const { deliveryErrors: _, ...counted } = sequencer?.stats() ?? NO_DELIVERIES;
      const epoch = followed === undefined ? {} : { epoch: followed };
      const leased = { leaseValidForMs: state() === 'in-sync' ? Math.round(lease.remainingMs()) : 0, linkDeaths: lease.counts.deaths + ackLink.counts.deaths };
      return { state: state(), ...epoch, lastAppliedSeq: sequencer?.lastApplied ?? 0, ...counted, ...counts, ...gate.stats(), ...leased };
    },
    async ack(ack: Ack): Promise<void> {
      const text = seal('ack', ack, signing, namespace);
      await command('ack', (client) => client.publish(keys.ack, text));
    },
    async onAck(listener: (ack: Ack) => void): Promise<() => void> {
      ackListeners.add(listener);
      clearTimeout(ackLinger);
      ackLinger = undefined;
      // Still subscribed on the live connection (a publisher waiting on receipt after receipt):
      // no SUBSCRIBE round trip before each publish. After any reconnect, subscribe again.
      const subscribed = subUp && acksHeardOn === subConnection && channels.has(keys.ack) && links.subscriber.client?.status === 'ready';
      if (!subscribed) {
        try {
          const on = subConnection;
          await listen(keys.ack);
          if (on === subConnection) acksHeardOn = on;
        } catch (err) {
          ackListeners.delete(listener);
          if (ackListeners.size === 0) unlistenAcks();
          throw unavailable(err, 'onAck');
        }
      }
      if (!lease.started) ackLink.start();
      return () => {
        if (!ackListeners.delete(listener) || ackListeners.size > 0 || closed) return;
        // Kept a while for the next receipt; then no more acks of every edge to this publisher.
        clearTimeout(ackLinger);
        ackLinger = setTimeout(() => {
          ackLinger = undefined;
          if (ackListeners.size === 0) unlistenAcks();
        }, ACK_LINGER_MS);
        ackLinger.unref();
      };
    },
    heartbeat: heartbeatFor,
    async leases(edgeIds: string[]): Promise<LeaseReading> {
      const [now, ...scores] = await command('leases', (client) => client.mcdnLeases(keys.seen, ...edgeIds));
      const expiries: Record<string, number | undefined> = {};
      for (const [i, id] of edgeIds.entries()) expiries[id] = scores[i] ? Number(scores[i]) : undefined;
      return { busNowMs: Number(now), expiries };
    },
    keepLease(edge: EdgeInfo): void {
      if (closed) return;
      leasedEdge = edge;
      ackLink.stop(); // the lease's renewals prove the subscriber too
      lease.start();
    },
    leaseValid: () => state() === 'in-sync' && lease.valid(),
    async deregister(edgeId: string): Promise<void> {
      if (edgeId === leasedEdge?.id) lease.stop();
      await command('deregister', (client) => client.multi().zrem(keys.seen, edgeId).hdel(keys.info, edgeId).exec().then(failure));
    },
    async liveEdges(): Promise<EdgeInfo[]> {
      const found = await command('liveEdges', (client) => client.mcdnLiveEdges(keys.seen, keys.info, FORGET_AFTER_MS));
      return found.flatMap(parseEdge).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      lease.stop();
      ackLink.stop();
      resumeGeneration++;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      sequencer?.close();
      gate.close();
      ackListeners.clear();
      clearTimeout(ackLinger);
      await Promise.all([shut(links.commands.client), shut(links.subscriber.client)]);
    },
  };
}
