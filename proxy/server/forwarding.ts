// The header fields that cross the proxy: what goes to the origin and what goes back to the
// client. Hop-by-hop fields stop here (RFC 9110 §7.6.1); Via is added, and the forwarding family
// (Forwarded, RFC 7239, and X-Forwarded-*) is this proxy's own, built from the connection.
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { endToEndHeaders } from '../policy/index.js';
import type { HeaderMap, HeaderValue } from '../types.js';
import type { Exchange } from './exchange.js';
import type { ProxyHooks } from './options.js';

/**
 * Request fields the proxy handles itself and never forwards as a client sent them. None is part
 * of the cache key, and frameworks build absolute links, redirects or routing from them, so a
 * client that set them would poison the cached response for everyone else:
 * - the forwarding family, set below from the connection (a trusted proxy's for= chain is kept);
 * - the other fields naming the client's host, scheme, prefix or address (X-Forwarded-Scheme,
 *   -Ssl, -Prefix, -Server, X-Url-Scheme, Front-End-Https, X-Host, X-Real-IP);
 * - URL and method overrides (X-Original-URL, X-Rewrite-URL, X-HTTP-Method[-Override], X-Method-Override);
 * - Host, replaced by the Host the cache keys on (or the origin's hostHeader, origin-client.ts).
 */
export const NOT_FORWARDED = Object.freeze([
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-url-scheme',
  'front-end-https',
  'x-host',
  'x-real-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-http-method',
  'x-http-method-override',
  'x-method-override',
]);
/** Client validators, replaced by the cache's own when it fills or revalidates an entry. */
export const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-range', 'range'];
// Frozen: endToEndHeaders then checks their case once, not per request.
/**
 * The client fields whose value never reaches the origin (dropped, or set by the node): the
 * request as forwarded (Exchange.forwardedHeaders) has none of them, so they pick no variant.
 * Host stays: it is in the primary key.
 */
export const REPLACED_BY_NODE: readonly string[] = Object.freeze(NOT_FORWARDED.filter((name) => name !== 'host' && name !== 'expect'));
const NOT_FORWARDED_WHEN_FILLING = Object.freeze([...NOT_FORWARDED, ...CLIENT_CONDITIONALS]);
const CDN_CACHE_CONTROL = Object.freeze(['cdn-cache-control']);

/** What a node adds to its upstream requests: its name in Via, and the downstream proxies it trusts. */
export interface ForwardingPolicy {
  readonly viaName: string;
  /** True for a peer whose X-Forwarded-For and Forwarded for= chain are extended. */
  trusts(address: string): boolean;
}

const TRUSTS_NONE = (): boolean => false;
/** Peer addresses whose verdict is remembered; the memo starts over when full. */
const TRUST_MEMO_ENTRIES = 4096;

/**
 * Compiled once per options (a reload compiles again). Entries: IPv4 or IPv6 addresses, or CIDR
 * blocks (10.0.0.0/8, fd00::/8); a RangeError names an entry that is neither. BlockList.check
 * costs microseconds (a native call and a SocketAddress), and peers repeat (keep-alive, a few
 * edges in front of a shield): each address's verdict is remembered.
 */
export function compileForwarding(viaName: string, trustedProxies: readonly string[] = []): ForwardingPolicy {
  if (trustedProxies.length === 0) return { viaName, trusts: TRUSTS_NONE };
  const list = new BlockList();
  for (const entry of trustedProxies) {
    const block = parseAddressBlock(entry);
    if (!block) throw new RangeError(`trustedProxies: "${entry}" is not an IP address or a CIDR block (a.b.c.d/n, x::y/n)`);
    const family = block.family === 4 ? 'ipv4' : 'ipv6';
    if (block.prefix === undefined) list.addAddress(block.address, family);
    else list.addSubnet(block.address, block.prefix, family);
  }
  const memo = new Map<string, boolean>();
  return {
    viaName,
    trusts(address) {
      let verdict = memo.get(address);
      if (verdict === undefined) {
        const family = isIP(address);
        verdict = family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
        if (memo.size >= TRUST_MEMO_ENTRIES) memo.clear();
        memo.set(address, verdict);
      }
      return verdict;
    },
  };
}

/** An address or a CIDR block, or undefined when the text is neither. */
export function parseAddressBlock(entry: string): { address: string; family: 4 | 6; prefix?: number } | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  if (slash < 0) return { address, family };
  const digits = entry.slice(slash + 1);
  const prefix = Number(digits);
  if (!/^\d{1,3}$/.test(digits) || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address, family, prefix };
}

export function appendField(value: HeaderValue | undefined, member: string): string {
  if (value === undefined) return member;
  const joined = typeof value === 'string' ? value : value.join(', ');
  return joined === '' ? member : `${joined}, ${member}`;
}

/**
 * Fields for the origin request. `dropConditionals` when the cache fills an entry for itself.
 * The tier's own fields (hooks.ownFields) are never taken from the client; hooks.upstreamFields() sets them.
 */
export function upstreamRequestHeaders(ex: Exchange, policy: ForwardingPolicy, dropConditionals: boolean, tier?: Pick<ProxyHooks, 'upstreamFields' | 'ownFields'>): HeaderMap {
  const drop = dropConditionals ? NOT_FORWARDED_WHEN_FILLING : NOT_FORWARDED;
  const out = endToEndHeaders(ex.headers, drop);
  // undici wants a single string for singular fields such as Content-Length.
  for (const name in out) {
    const value = out[name];
    if (Array.isArray(value) && value.length === 1) out[name] = value[0];
  }
  // The Host the cache keys on, as Varnish and Fastly pass it: name-based virtual hosts work.
  // '-' is the placeholder of an HTTP/1.0 request without Host: undici then sends the origin's.
  const host = ex.host === '-' ? undefined : ex.host;
  if (host !== undefined) out['host'] = host;
  out['via'] = appendField(ex.headers['via'], `1.1 ${policy.viaName}`);
  addForwardingFields(out, ex.req, host, policy);
  if (tier) {
    // Checked first: most requests carry none, and a delete would change the object's shape.
    for (const name of tier.ownFields) if (out[name] !== undefined) delete out[name];
    Object.assign(out, tier.upstreamFields());
  }
  return out;
}

/**
 * Sets Forwarded and X-Forwarded-For / -Host / -Proto / -Port on `out` from the connection: the
 * peer's address, the Host the client asked for (the cache key's, so nothing unkeyed), proto
 * http, the local port. Only a trusted peer's own X-Forwarded-For and Forwarded for= values are
 * kept in front of the peer; host=, proto= and by= of earlier hops never are (not keyed here).
 */
export function addForwardingFields(out: HeaderMap, req: IncomingMessage, host: string | undefined, policy: ForwardingPolicy): void {
  const peer = peerAddress(req);
  const trusted = peer !== undefined && policy.trusts(peer);
  const self = `for=${forwardedNode(peer)}${host !== undefined ? `;host=${forwardedValue(host)}` : ''};proto=http`;
  const clientForwarded = trusted ? req.headers['forwarded'] : undefined;
  const chain = clientForwarded !== undefined ? forwardedForChain(clientForwarded) : '';
  out['forwarded'] = chain === '' ? self : `${chain}, ${self}`;
  out['x-forwarded-for'] = trusted ? appendField(req.headers['x-forwarded-for'], peer) : (peer ?? 'unknown');
  if (host !== undefined) out['x-forwarded-host'] = host;
  out['x-forwarded-proto'] = 'http';
  const port = req.socket.localPort;
  if (port !== undefined) out['x-forwarded-port'] = String(port);
}

/** The peer's address; an IPv4-mapped IPv6 address (a dual-stack socket) as plain IPv4. */
function peerAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  if (address !== undefined && address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  return address;
}

/** RFC 7239 §6: an IPv6 node is bracketed and quoted; an unknown one is "unknown". */
function forwardedNode(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.includes(':') ? `"[${address}]"` : address;
}

// RFC 7239 §4: a value is a token or a quoted-string. A host:port or [v6] is not a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
function forwardedValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// One forwarded-element (commas inside quoted strings do not split), and its for= parameter.
const ELEMENT = /(?:"(?:[^"\\]|\\.)*"|[^,"])+/g;
const FOR_PARAMETER = /(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:;|$)/i;

/** The for= values of a trusted peer's Forwarded, as "for=a, for=b"; elements without a valid for= are left out. */
export function forwardedForChain(value: HeaderValue): string {
  const joined = typeof value === 'string' ? value : value.join(', ');
  let chain = '';
  for (const element of joined.match(ELEMENT) ?? []) {
    const match = FOR_PARAMETER.exec(element.trim());
    if (match) chain += `${chain === '' ? '' : ', '}for=${match[1] as string}`;
  }
  return chain;
}

/** False for the statuses that never carry content: 1xx, 204, 304 (RFC 9110 §6.4.1). */
export function statusHasContent(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

/**
 * End-to-end response fields, minus the ones this cache keeps to itself, and minus a
 * Content-Length an origin sent with a 1xx or 204 (RFC 9110 §8.6: a server MUST NOT send one).
 */
export function downstreamFields(upstream: HeaderMap, forwardCdnCacheControl: boolean, status: number): HeaderMap {
  const out = endToEndHeaders(upstream, forwardCdnCacheControl ? undefined : CDN_CACHE_CONTROL);
  if ((status < 200 || status === 204) && out['content-length'] !== undefined) delete out['content-length'];
  return out;
}
