// The invalidation bus: the contract (types), the in-process bus and the Redis bus, and createBus,
// which picks Redis when a URL is given (redis://, rediss://, or redis-sentinel:// for a Sentinel setup).
import { createMemoryBus } from './memory-bus.js';
import { createRedisBus } from './redis-bus.js';
import type { BusOptions, InvalidationBus } from './types.js';

export * from './types.js';
export { createMemoryBus } from './memory-bus.js';
export type { MemoryBus } from './memory-bus.js';
export { createRedisBus } from './redis-bus.js';

/** A Redis bus when `redisUrl` is given (non-empty; redis-sentinel://host:port,.../NAME for Sentinel), else the in-process bus of `namespace`. */
export function createBus(options: BusOptions & { redisUrl?: string }): InvalidationBus {
  const { redisUrl, ...busOptions } = options;
  return redisUrl ? createRedisBus(redisUrl, busOptions) : createMemoryBus(busOptions);
}
