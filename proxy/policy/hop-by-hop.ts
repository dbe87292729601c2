// Hop-by-hop fields (RFC 9110 §7.6.1) and fields tied to a client's proxy configuration
// (RFC 9111 §3.1): removed before forwarding and before storage.
import type { HeaderMap } from '../types.js';
import { fieldList } from './fields.js';

/** RFC 9110 §7.6.1 connection options and hop-by-hop fields; RFC 9111 §3.1 proxy fields. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'trailer',
]);

/** True for a hop-by-hop field name (lower case), including every `proxy-*` field. */
export function isHopByHop(name: string): boolean {
  // RFC 9111 §3.1: Proxy-Authenticate, Proxy-Authentication-Info, Proxy-Authorization and the
  // like are specific to a proxy configuration; every proxy-* field is treated that way.
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-');
}

/**
 * A new map without hop-by-hop fields, without every field named in Connection, without any
 * `proxy-*` field and without the names in extraDrop. Values are kept as they are.
 */
export function endToEndHeaders(h: HeaderMap, extraDrop?: readonly string[]): HeaderMap {
  // RFC 9110 §7.6.1: fields named as connection options are removed along with Connection.
  const connectionOptions = h['connection'] === undefined ? undefined : fieldList(h, 'connection').map(lower);
  const drop = extraDrop !== undefined && extraDrop.length > 0 ? lowerCased(extraDrop) : undefined;
  const out: HeaderMap = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined) continue;
    if (isHopByHop(name)) continue;
    if (connectionOptions !== undefined && connectionOptions.includes(name)) continue;
    if (drop !== undefined && (drop.includes(name) || (drop !== extraDrop && (extraDrop as readonly string[]).includes(name)))) continue;
    out[name] = value;
  }
  return out;
}

/**
 * RFC 9110 §7.6.1: the request fields as forwarded, for the decisions that depend on what the
 * origin saw (the Vary key, RFC 9111 §4.1; storability, §3): without the fields Connection names,
 * and without `replaced`, the fields the node drops or sets itself (its forwarding family: the
 * client's value never reaches the origin, so it must not pick a variant either). The same map
 * when there is nothing to remove: no copy on the common path.
 */
export function forwardedView(h: HeaderMap, replaced: readonly string[] = []): HeaderMap {
  const connection = h['connection'];
  // The common values, compared without building a list.
  if (connection !== undefined && !(typeof connection === 'string' && isPlainConnection(connection))) {
    for (const option of fieldList(h, 'connection')) {
      const name = option.toLowerCase();
      if (name !== 'keep-alive' && name !== 'close' && !isHopByHop(name)) return endToEndHeaders(h, replaced);
    }
  }
  for (const name of replaced) if (h[name] !== undefined) return endToEndHeaders(h, replaced);
  return h;
}

function isPlainConnection(value: string): boolean {
  return value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close';
}

function lower(s: string): string {
  return s.toLowerCase();
}

/** Frozen lists (callers' constants) already known to be lower case. */
const LOWER_CASE_LISTS = new WeakSet<readonly string[]>();

/**
 * The list lower-cased: once per call rather than once per field and entry, no copy when it is
 * lower case already, and no check at all for a frozen list seen before.
 */
function lowerCased(list: readonly string[]): readonly string[] {
  if (LOWER_CASE_LISTS.has(list)) return list;
  if (!list.every(isLowerCase)) return list.map(lower);
  if (Object.isFrozen(list)) LOWER_CASE_LISTS.add(list);
  return list;
}

/** ASCII without A-Z, so toLowerCase would change nothing (yet allocate a copy). */
function isLowerCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return false;
  }
  return true;
}

