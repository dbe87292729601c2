// Where the Redis bus connects: one server by URL (redis:// or rediss://), or a Sentinel setup
// (the sentinels' addresses and the master's name), written as one URL so that one flag
// (--redis) and one variable (MINI_CDN_REDIS_URL) carry either:
//   redis-sentinel://[:password@]host:port[,host:port...]/masterName
// The password, when given, is the master's (and its replicas'); sentinels are asked without one.
// Pure parsing: config/, cli/ and edge/bus/ share it.

export interface SentinelAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'sentinel'; sentinels: SentinelAddress[]; name: string; password?: string };

export const SENTINEL_SCHEME = 'redis-sentinel:';

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/;
const MASTER_NAME = /^[A-Za-z0-9._-]+$/;

/** One sentinel address "host:port" (IPv6 in brackets); throws with a message that says what is wrong. */
export function parseSentinelAddress(text: string): SentinelAddress {
  const at = text.lastIndexOf(':');
  const host = at > 0 ? text.slice(0, at) : '';
  const portText = at > 0 ? text.slice(at + 1) : '';
  if (!HOST.test(host) || !/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new Error(`a sentinel must be host:port, got "${text}"`);
  }
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(portText) };
}

/** A redis://, rediss:// or redis-sentinel:// URL as a target; throws with a message that says what is wrong. */
export function parseRedisTarget(text: string): RedisTarget {
  if (text.toLowerCase().startsWith(`${SENTINEL_SCHEME}//`)) {
    const rest = text.slice(SENTINEL_SCHEME.length + 2);
    const slash = rest.indexOf('/');
    if (slash < 0) throw new Error(`a Sentinel URL names its master: redis-sentinel://host:port,host:port/NAME, got "${text}"`);
    let hosts = rest.slice(0, slash);
    const name = rest.slice(slash + 1);
    let password: string | undefined;
    const atSign = hosts.lastIndexOf('@');
    if (atSign >= 0) {
      const userinfo = hosts.slice(0, atSign);
      hosts = hosts.slice(atSign + 1);
      const colon = userinfo.indexOf(':');
      password = decodeURIComponent(colon >= 0 ? userinfo.slice(colon + 1) : userinfo);
    }
    if (!MASTER_NAME.test(name)) throw new Error(`the master name after the last / must be letters, digits, '.', '_' or '-', got "${name}"`);
    const sentinels = hosts.split(',').map(parseSentinelAddress);
    return { kind: 'sentinel', sentinels, name, ...(password ? { password } : {}) };
  }
  let protocol = '';
  try {
    protocol = new URL(text).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw new Error(`must be a redis://, rediss:// or redis-sentinel:// URL, got "${text}"`);
  return { kind: 'server', url: text };
}

/** The URL form of a Sentinel setup (what config's bus.sentinels + bus.sentinelMaster become). */
export function sentinelUrl(sentinels: readonly SentinelAddress[], name: string): string {
  const hosts = sentinels.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`);
  return `${SENTINEL_SCHEME}//${hosts.join(',')}/${name}`;
}

/** For logs and terminals: the target without its password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'sentinel') return `${sentinelUrl(target.sentinels, target.name)} (Sentinel)`;
  try {
    const u = new URL(target.url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}
