// The Redis bus's connection factory: one server by URL, or the master of a Sentinel setup. Both
// kinds fail fast while disconnected (no offline queue: a publish while Redis is away is
// MCDN_BUS_UNAVAILABLE at once, and the publisher retries) and reconnect forever, backing off to
// 1 s; every command (the subscriber's PING too) times out after commandTimeoutMs. With Sentinel, every (re)connect asks the sentinels for the current master and checks its
// role, so a reconnect after a fail-over lands on the promoted replica; the failover detector
// (ioredis subscribes to +switch-master on the sentinels) drops a connection to a primary that
// was demoted but is still up, and a READONLY answer (a write that reached a replica) drops the
// connection too: the write fails as unavailable, is retried, and the retry finds the new master.
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { RedisTarget } from '../../common/redis-target.js';
import { backoff } from './redis-support.js';

/** A reply that says this server is (now) a replica: the master has moved. */
export function isReadOnlyError(err: Error): boolean {
  return err.message.startsWith('READONLY');
}

/** The options both connections of a bus share, whatever the target. */
function common(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    autoResubscribe: false, // the bus re-subscribes itself, then catches up
    retryStrategy: (times: number) => backoff(times - 1),
    // Reconnect, and fail the command (1: not resent): the caller's retry goes to the new master.
    reconnectOnError: (err: Error) => (isReadOnlyError(err) ? 1 : false),
    commandTimeout: commandTimeoutMs, // the subscriber's PING included: a frozen Redis answers nothing
    connectTimeout: commandTimeoutMs,
    disconnectTimeout: 200, // also how long a closed bus's timer outlives it (ioredis arms one even with no socket)
  };
}

/** A new, not yet connected ioredis client for `target`. */
export function openRedis(target: RedisTarget, commandTimeoutMs: number): Redis {
  if (target.kind === 'server') return new Redis(target.url, common(commandTimeoutMs));
  return new Redis({
    ...common(commandTimeoutMs),
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.name,
    role: 'master',
    ...(target.password !== undefined ? { password: target.password } : {}),
    // All sentinels unreachable: keep asking, backing off like a lost connection (never give up).
    sentinelRetryStrategy: (times: number) => backoff(times - 1),
    sentinelReconnectStrategy: (times: number) => backoff(times - 1),
    failoverDetector: true,
  });
}
