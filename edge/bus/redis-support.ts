// Support for the Redis bus: its Lua scripts, the client type they give, constants, and small
// helpers (errors, registry rows, shutting a connection down). Split from redis-bus.ts so that
// each file holds one concern: this one has no state.
import type { Redis } from 'ioredis';
import { MiniCdnError } from '../../common/errors.js';
import type { RedisHistory } from './regression.js';
import type { Sequencer } from './sequencer.js';
import { BusClosedError } from './types.js';
import type { EdgeInfo, Invalidation, LeaseHolder } from './types.js';

/** Redis's own clock in ms (TIME), so that every lease is measured on one clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Creates the epoch when there is none (then numbering starts over, and KEYS[4] notes when: the
 * registry is empty from then on, while leases granted before may still run); returns [epoch, seq].
 */
export const PREPARE = `${NOW}
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('DEL', KEYS[2], KEYS[3]); redis.call('SET', KEYS[4], now) end
return {redis.call('GET', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}`;

/**
 * Publishes seq ARGV[2] of epoch ARGV[1] if it is the next one, and reads the lease holders in the
 * same step: {1|0, epoch or '', seq now, Redis now, {id, expiry, ...}, reset}. reset is 1 while
 * the registry is younger than ARGV[6] ms (leaseMs + margin): a lease from before may still run.
 */
export const COMMIT = `
local epoch = redis.call('GET', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if epoch ~= ARGV[1] or seq + 1 ~= tonumber(ARGV[2]) then return {0, epoch or '', seq} end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 's', ARGV[2], 'e', ARGV[1], 'm', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[4])
${NOW}
local holders = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. now, '+inf', 'WITHSCORES')
local since = tonumber(redis.call('GET', KEYS[5]) or '')
if not since then redis.call('SET', KEYS[5], now); since = now end
local reset = 0
if now - since < tonumber(ARGV[6]) then reset = 1 end
return {1, epoch, seq + 1, now, holders, reset}`;

/** Renews lease ARGV[1] until Redis's now + ARGV[2] ms, stores its info (ARGV[3], with lastSeenMs); returns expiry. */
export const LEASE = `${NOW}
local expiry = now + tonumber(ARGV[2])
local info = cjson.decode(ARGV[3])
info.lastSeenMs = now
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(info))
return expiry`;

/** {Redis now, expiry of each id in ARGV or ''}. */
export const LEASES = `${NOW}
local out = {now}
for i, id in ipairs(ARGV) do out[i + 1] = redis.call('ZSCORE', KEYS[1], id) or '' end
return out`;

/** Forgets entries expired more than ARGV[1] ms ago; returns the EdgeInfo JSON of those whose lease runs. */
export const LIVE_EDGES = `${NOW}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))) do
  redis.call('ZREM', KEYS[1], id); redis.call('HDEL', KEYS[2], id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do out[#out + 1] = redis.call('HGET', KEYS[2], id) end
return out`;

interface BusScripts {
  mcdnPrepare(epochKey: string, seqKey: string, streamKey: string, sinceKey: string, candidate: string): Promise<[string, number]>;
  mcdnCommit(
    epochKey: string, seqKey: string, streamKey: string, seenKey: string, sinceKey: string,
    epoch: string, seq: number, maxLen: number, text: string, channel: string, resetWindowMs: number,
  ): Promise<[number, string, number, number?, string[]?, number?]>;
  mcdnLease(seenKey: string, infoKey: string, edgeId: string, ttlMs: number, info: string): Promise<number>;
  mcdnLeases(seenKey: string, ...edgeIds: string[]): Promise<[number, ...string[]]>;
  mcdnLiveEdges(seenKey: string, infoKey: string, forgetAfterMs: number): Promise<(string | null)[]>;
}
export type Client = Redis & BusScripts;
export type Role = 'commands' | 'subscriber';

export const REPLAY_PAGE = 256; // stream entries per XREVRANGE while replaying
export const MAX_COMMIT_ATTEMPTS = 1000; // a publish that keeps losing the race for the next number gives up
export const FORGET_AFTER_MS = 60 * 60 * 1000; // registry entries expired for longer are deleted
const QUIT_WAIT_MS = 1000; // close() drops a connection whose QUIT hangs
export const RETIRED_EPOCHS = 16;
export const REGRESSION_READS = 5; // reads of Redis's history after a reconnect, while live messages overtake them // epochs left behind, as many as the Sequencer remembers

export const backoff = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 5), 1000);

export const NO_DELIVERIES: ReturnType<Sequencer['stats']> = { received: 0, applied: 0, duplicates: 0, replayed: 0, gaps: 0, resyncs: 0, deliveryErrors: 0 };

export const closedError = (): MiniCdnError => new BusClosedError();

/** Throws the first error of a MULTI's results. */
export function failure(results: [Error | null, unknown][] | null): void {
  const failed = results?.find(([err]) => err !== null);
  if (failed) throw failed[0];
}

export function unavailable(err: unknown, what: string): MiniCdnError {
  if (err instanceof MiniCdnError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new MiniCdnError('MCDN_BUS_UNAVAILABLE', `${what}: the invalidation bus (Redis) cannot be reached: ${detail}`, { cause: err });
}

/** EdgeInfo JSON as heartbeat() stores it; anything else is skipped. */
export function parseEdge(json: string | null): EdgeInfo[] {
  try {
    const info = JSON.parse(json ?? 'null') as EdgeInfo | null;
    return info !== null && typeof info === 'object' && typeof info.id === 'string' ? [info] : [];
  } catch {
    return [];
  }
}

/**
 * QUIT (or drop, when QUIT hangs), and wait until the socket is gone. Then disconnect() once more,
 * whatever the state: with Sentinel that is what closes the failover detector's own connections to
 * the sentinels (a QUIT alone leaves them reconnecting forever).
 */
export async function shut(client: Redis | undefined): Promise<void> {
  if (client === undefined) return;
  await quit(client);
  client.disconnect();
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'wait' || client.status === 'reconnecting' || client.status === 'close') {
    client.disconnect(); // no socket: this clears the retry timer, nothing is left open
    return;
  }
  await new Promise<void>((resolve) => {
    const drop = setTimeout(() => client.disconnect(), QUIT_WAIT_MS);
    const giveUp = setTimeout(done, 2 * QUIT_WAIT_MS);
    function done(): void {
      clearTimeout(drop);
      clearTimeout(giveUp);
      resolve();
    }
    client.once('end', done);
    if (client.status === 'ready') client.quit().catch(() => client.disconnect());
    else client.disconnect();
  });
}

/** Field list [k, v, k, v, ...] of a stream entry as a record. */
export function fieldsOf(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] as string] = list[i + 1] as string;
  return fields;
}


/** Most log entries read to check a reconnect for a sequence regression (beyond: the newest ones only). */
const HISTORY_MAX_ENTRIES = 16 * REPLAY_PAGE;

/**
 * Redis's side of the regression check, for the followed `epoch`: the counter, and the ids of the
 * log's newest messages down to seq `downTo` (bounded). Undefined when Redis is in another epoch
 * or has none (then catching up handles it: a new epoch, or a trimmed log).
 */
export async function readHistory(
  client: Redis,
  keys: { epoch: string; seq: string; stream: string },
  epoch: string,
  downTo: number,
  open: (text: string) => Invalidation | undefined,
): Promise<RedisHistory | undefined> {
  const [current, head] = await client.mget(keys.epoch, keys.seq);
  if (current !== epoch) return undefined;
  const counter = Number(head ?? 0);
  const ids = new Map<number, string>();
  let end = '+';
  for (let read = 0; read < HISTORY_MAX_ENTRIES; read += REPLAY_PAGE) {
    const page = await client.xrevrange(keys.stream, end, '-', 'COUNT', REPLAY_PAGE);
    for (const [entryId, list] of page) {
      end = `(${entryId}`;
      const fields = fieldsOf(list);
      const seq = Number(fields.s);
      if (fields.e !== epoch || seq < downTo) return { counter, ids };
      const message = fields.m === undefined ? undefined : open(fields.m);
      if (message !== undefined && message.epoch === epoch && message.seq === seq) ids.set(seq, message.id);
    }
    if (page.length < REPLAY_PAGE) break;
  }
  return { counter, ids };
}

/** The flat [id, score, id, score, ...] of ZRANGEBYSCORE WITHSCORES as lease holders. */
export function holdersOf(flat: string[]): LeaseHolder[] {
  const holders: LeaseHolder[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) holders.push({ edgeId: flat[i] as string, expiresAtMs: Number(flat[i + 1]) });
  return holders.sort((a, b) => (a.edgeId < b.edgeId ? -1 : a.edgeId > b.edgeId ? 1 : 0));
}
