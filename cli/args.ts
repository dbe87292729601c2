// Flag parsing helpers and the settings every command shares (bus secret and admin token checks).
import { randomBytes } from 'node:crypto';
import { MiniCdnError } from '../common/errors.js';
import { parseRedisTarget } from '../common/redis-target.js';
import { DEVELOPMENT_SECRET, MIN_SECRET_CHARS } from '../config/schema.js';
import type { SigningKeys } from '../edge/bus/types.js';

export function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new MiniCdnError('MCDN_USAGE', `--${name} takes a whole number, got '${value}'`);
  return Number(value);
}

/** --redis / MINI_CDN_REDIS_URL: redis://, rediss://, or redis-sentinel://host:port[,host:port...]/NAME for Sentinel. */
export function redisUrlFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseRedisTarget(value);
  } catch (err) {
    throw new MiniCdnError('MCDN_USAGE', `--redis must be a redis:// URL or redis-sentinel://host:port,host:port/NAME (${(err as Error).message})`);
  }
  return value;
}

/** A secret from the environment: at least MIN_SECRET_CHARS, never the public development one. */
function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (value === DEVELOPMENT_SECRET) throw new MiniCdnError('MCDN_USAGE', `${name} is the public development secret: anyone can sign with it; set a random secret of your own (e.g. openssl rand -hex 32)`);
  if (value.length < MIN_SECRET_CHARS) throw new MiniCdnError('MCDN_USAGE', `${name} must be at least ${MIN_SECRET_CHARS} characters (got ${value.length})`);
  return value;
}

/**
 * The bus's HMAC keys: MINI_CDN_BUS_SECRET signs and verifies (key id MINI_CDN_BUS_KEY_ID, default
 * k1); MINI_CDN_BUS_PREVIOUS_SECRET (id MINI_CDN_BUS_PREVIOUS_KEY_ID, default k0) still verifies
 * during a rotation. A bus that leaves the process (Redis: `sharedBus`) needs a secret; the
 * in-process bus of a single edge signs with a random one of its own, which nobody else knows.
 */
export function signingFromEnv(env: NodeJS.ProcessEnv, sharedBus: boolean): SigningKeys {
  const current = env['MINI_CDN_BUS_KEY_ID'] || 'k1';
  const secret = secretFromEnv(env, 'MINI_CDN_BUS_SECRET');
  if (secret === undefined && sharedBus) {
    throw new MiniCdnError('MCDN_USAGE', `MINI_CDN_BUS_SECRET must be set (${MIN_SECRET_CHARS}+ characters, the same on every node) when the bus is Redis (--redis or MINI_CDN_REDIS_URL)`);
  }
  const keys: Record<string, string> = { [current]: secret ?? randomSecret() };
  const previous = secretFromEnv(env, 'MINI_CDN_BUS_PREVIOUS_SECRET');
  if (previous !== undefined) keys[env['MINI_CDN_BUS_PREVIOUS_KEY_ID'] || 'k0'] = previous;
  return { current, keys };
}

/** A secret known to this process alone (in-process bus, the demo). */
export function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

/** An admin token from a flag or the environment (`source` names it in the message): MIN_SECRET_CHARS or more. */
export function adminTokenFlag(value: string | undefined, source: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_SECRET_CHARS) throw new MiniCdnError('MCDN_USAGE', `${source} must be at least ${MIN_SECRET_CHARS} characters (got ${value.length})`);
  return value;
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
