// Flag parsing helpers and the settings every command shares (bus secret from the environment).
import { MiniCdnError } from '../common/errors.js';
import type { SigningKeys } from '../edge/bus/types.js';

export function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new MiniCdnError('MCDN_USAGE', `--${name} takes a whole number, got '${value}'`);
  return Number(value);
}

export function httpUrlFlag(value: string, name: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:') throw new Error('only http: URLs');
  } catch (err) {
    throw new MiniCdnError('MCDN_USAGE', `--${name} must be an http:// URL (${(err as Error).message})`);
  }
  return value;
}

export function redisUrlFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('only redis:// URLs');
  } catch (err) {
    throw new MiniCdnError('MCDN_USAGE', `--redis must be a redis:// URL (${(err as Error).message})`);
  }
  return value;
}

const DEV_SECRET = 'mini-cdn-development-secret';

/**
 * The bus's HMAC keys: MINI_CDN_BUS_SECRET signs and verifies (key id MINI_CDN_BUS_KEY_ID, default
 * k1); MINI_CDN_BUS_PREVIOUS_SECRET (id MINI_CDN_BUS_PREVIOUS_KEY_ID, default k0) still verifies
 * during a rotation. Without a secret a fixed development one is used, with a warning when the
 * bus leaves the process (Redis).
 */
export function signingFromEnv(env: NodeJS.ProcessEnv, warnIfDefault: boolean): SigningKeys {
  const current = env['MINI_CDN_BUS_KEY_ID'] ?? 'k1';
  const secret = env['MINI_CDN_BUS_SECRET'];
  if (secret === undefined && warnIfDefault) process.stderr.write('warning: MINI_CDN_BUS_SECRET is not set; using the development secret\n');
  const keys: Record<string, string> = { [current]: secret ?? DEV_SECRET };
  const previous = env['MINI_CDN_BUS_PREVIOUS_SECRET'];
  if (previous !== undefined) keys[env['MINI_CDN_BUS_PREVIOUS_KEY_ID'] ?? 'k0'] = previous;
  return { current, keys };
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
