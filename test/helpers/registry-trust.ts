// A new (or emptied) Redis is a reset registry: a lease granted before it may still run, so no
// receipt is complete until the registry has outlived leaseMs + leaseMarginMs. Tests that expect
// a complete receipt from a fresh redis-server wait for that first, on Redis's own clock.
import { Redis } from 'ioredis';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';

export async function registryTrusted(
  redisUrl: string,
  namespace = DEFAULT_BUS_OPTIONS.namespace,
  windowMs = DEFAULT_BUS_OPTIONS.leaseMs + DEFAULT_BUS_OPTIONS.leaseMarginMs,
): Promise<void> {
  const raw = new Redis(redisUrl, { maxRetriesPerRequest: 5 });
  raw.on('error', () => undefined);
  try {
    for (let tries = 0; tries < 300; tries++) {
      const [time, since] = await Promise.all([raw.time(), raw.get(`${namespace}:epoch:since`)]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      if (since !== null && now - Number(since) >= windowMs) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    raw.disconnect();
  }
}
