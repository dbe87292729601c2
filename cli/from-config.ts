// Maps a validated config (config/) onto what the factories take: proxy options, bus, admin.
// The one place that knows both shapes, so config/ and proxy/ stay independent of each other.
import { sentinelUrl } from '../common/redis-target.js';
import type { Config } from '../config/load.js';
import type { BusOptions, SigningKeys } from '../edge/bus/types.js';
import { DEFAULT_FRESHNESS } from '../proxy/policy/index.js';
import type { ProxyOptions } from '../proxy/server/options.js';
import { randomSecret } from './args.js';

export function proxyOptionsFrom(config: Config): Partial<ProxyOptions> & { origin: string } {
  const [first] = config.origins;
  return {
    origin: first?.url ?? 'http://127.0.0.1:8080',
    origins: config.origins.map((o) => ({
      url: o.url,
      weight: o.weight,
      timeouts: { connectMs: o.timeouts.connectMs, headersMs: o.timeouts.headersMs, bodyMs: o.timeouts.bodyMs },
      maxConnections: o.maxConnections,
      hostHeader: o.hostHeader,
    })),
    pool: {
      balancing: config.balancing,
      healthCheck: config.healthCheck === false ? false : { ...config.healthCheck },
      passiveEjection: { ...config.passiveEjection },
      retries: { ...config.retries },
    },
    maxBytes: config.cache.maxBytes,
    maxObjectBytes: config.cache.maxObjectBytes,
    maxInflightBytes: config.cache.maxInflightBytes,
    maxVariantsPerUrl: config.cache.maxVariantsPerUrl,
    tagFields: config.cache.tagFields,
    forwardCdnCacheControl: config.cache.forwardCdnCacheControl,
    freshness: {
      ...DEFAULT_FRESHNESS,
      heuristicFraction: config.cache.heuristicFraction,
      heuristicMaxMs: config.cache.heuristicMaxMs,
      requestsWithCookies: config.cache.requestsWithCookies,
      staticContentTypes: Object.freeze([...config.cache.staticContentTypes]),
      staleWhileRevalidateMs: config.stale.whileRevalidateMs,
      staleIfErrorMs: config.stale.ifErrorMs,
    },
    consistency: { mode: config.defaults.mode, edgeTtlMs: config.defaults.edgeTtlMs },
    routes: config.routes.map((r) => ({ ...r, cacheKey: { ...r.cacheKey } })),
    maxRequestHeaderBytes: config.limits.maxRequestHeaderBytes,
    maxUrlBytes: config.limits.maxUrlBytes,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    headersTimeoutMs: config.limits.headersTimeoutMs,
    keepAliveTimeoutMs: config.limits.keepAliveTimeoutMs,
    trustedProxies: [...config.forwarding.trustedProxies],
    sendTimeoutMs: config.limits.sendTimeoutMs,
  };
}

/**
 * Where the Redis bus is: bus.redisUrl, or bus.sentinels + bus.sentinelMaster as one
 * redis-sentinel:// URL (the schema allows one or the other); undefined for the in-process bus.
 */
export function redisUrlFrom(config: Config): string | undefined {
  const { redisUrl, sentinels, sentinelMaster } = config.bus;
  if (redisUrl !== null) return redisUrl;
  return sentinels.length > 0 && sentinelMaster !== null ? sentinelUrl(sentinels, sentinelMaster) : undefined;
}

/**
 * Bus keys from the config; the environment has already been folded into it by config/, and the
 * schema has refused a missing, short or public secret with a Redis bus. Without Redis and without
 * a secret, the in-process bus signs with a random one of this process's own.
 */
export function signingFrom(config: Config): SigningKeys {
  const keys: Record<string, string> = { [config.bus.keyId]: config.bus.secret ?? randomSecret() };
  if (config.bus.previousSecret !== null) keys[config.bus.previousKeyId] = config.bus.previousSecret;
  return { current: config.bus.keyId, keys };
}

/** The bus's timing from the config: leases, their margin, the command timeout, the replay log's bound. */
export type BusTiming = Pick<BusOptions, 'streamMaxLength' | 'leaseRenewMs' | 'leaseMs' | 'leaseMarginMs' | 'commandTimeoutMs'>;

export function busTimingFrom(config: Config): BusTiming {
  const { streamMaxLength, leaseRenewMs, leaseMs, leaseMarginMs, commandTimeoutMs } = config.bus;
  return { streamMaxLength, leaseRenewMs, leaseMs, leaseMarginMs, commandTimeoutMs };
}

/** A URL with its password (and user) replaced: a Redis password must not reach a terminal or a log. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = u.username ? '(hidden)' : '';
    u.password = u.password ? '(hidden)' : '';
    return u.toString();
  } catch {
    return '(hidden)';
  }
}

/** The config as `edge --print-config` shows it: every key, secrets and tokens hidden. */
export function printableConfig(config: Config): unknown {
  const hidden = (value: string | null): string | null => (value === null ? null : '(hidden)');
  return {
    ...config,
    bus: {
      ...config.bus,
      redisUrl: config.bus.redisUrl === null ? null : withoutCredentials(config.bus.redisUrl),
      secret: hidden(config.bus.secret),
      previousSecret: hidden(config.bus.previousSecret),
    },
    admin: { ...config.admin, token: hidden(config.admin.token) },
  };
}
