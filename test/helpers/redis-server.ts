// The tests' own redis-server (on a free port, stopped by its PID): the bench's, under the names
// the tests use.
export { startBenchRedis as startRedisServer } from '../../bench/redis.js';
export type { BenchRedis as OwnRedis } from '../../bench/redis.js';
