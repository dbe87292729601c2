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
  const out: HeaderMap = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined) continue;
    if (isHopByHop(name)) continue;
    if (connectionOptions !== undefined && connectionOptions.includes(name)) continue;
    if (extraDrop !== undefined && extraDrop.length > 0 && dropListed(extraDrop, name)) continue;
    out[name] = value;
  }
  return out;
}

function lower(s: string): string {
  return s.toLowerCase();
}

function dropListed(list: readonly string[], name: string): boolean {
  for (const entry of list) if (entry === name || entry.toLowerCase() === name) return true;
  return false;
}
