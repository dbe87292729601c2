// Unsafe methods through one edge invalidate the URL on every edge, over a redis-server of this
// file's own (free port, stopped by PID): two in-process edges on one Redis.
import { after, before } from 'node:test';
import { createRedisBus } from '../../edge/bus/index.js';
import type { InvalidationBus } from '../../edge/bus/index.js';
import { unsafeInvalidationSuite } from '../helpers/bus-forgery.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { OwnRedis } from '../helpers/redis-server.js';

let server: OwnRedis;
const buses: InvalidationBus[] = [];

before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  await server?.stop();
});

unsafeInvalidationSuite('redis bus', (options) => {
  const bus = createRedisBus(server.url, options);
  buses.push(bus);
  return bus;
});
