// Tiers and purge ordering. An edge that refetches right after a purge must not get the purged
// copy back from its shield, which may not have applied that purge yet. So every request an edge
// sends upstream says which callbacks it has applied (epoch and sequence number, HMAC-signed so
// that a client cannot use the field to force origin fetches); a shield that is behind that
// point revalidates instead of serving its copy.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningKeys } from './bus/types.js';

export const APPLIED_FIELD = 'x-mini-cdn-applied';

export interface AppliedPoint {
  epoch: string;
  seq: number;
}

function mac(key: string, point: AppliedPoint): string {
  return createHmac('sha256', key).update(`${point.epoch}.${point.seq}`).digest('hex').slice(0, 32);
}

/** The last field sealed: every origin request carries one, and the point moves only per callback. */
let lastSealed: { epoch: string; seq: number; kid: string; key: string; value: string } | undefined;

export function sealApplied(point: AppliedPoint, signing: SigningKeys): string {
  const kid = signing.current;
  const key = signing.keys[kid] ?? '';
  const last = lastSealed;
  if (last && last.seq === point.seq && last.epoch === point.epoch && last.kid === kid && last.key === key) return last.value;
  const value = `${point.epoch}.${point.seq}.${kid}.${mac(key, point)}`;
  lastSealed = { epoch: point.epoch, seq: point.seq, kid, key, value };
  return value;
}

/** The point a downstream tier has reached, or undefined when the field is absent, malformed or not signed by a known key. */
export function openApplied(value: string | string[] | undefined, signing: SigningKeys): AppliedPoint | undefined {
  if (typeof value !== 'string' || value.length > 256) return undefined;
  // Read from the right: the epoch is the rest, whatever it contains.
  const parts = value.split('.');
  const sig = parts.pop();
  const kid = parts.pop();
  const seqText = parts.pop();
  const epoch = parts.join('.');
  if (!epoch || !seqText || !kid || !sig || !/^\d{1,15}$/.test(seqText)) return undefined;
  const key = signing.keys[kid];
  if (key === undefined) return undefined;
  const point = { epoch, seq: Number(seqText) };
  const expected = expectedMac(key, point);
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected) ? point : undefined;
}

/** The last MAC checked: a shield sees the same point from an edge until its next callback. */
let lastChecked: { epoch: string; seq: number; key: string; mac: Buffer } | undefined;

function expectedMac(key: string, point: AppliedPoint): Buffer {
  const last = lastChecked;
  if (last && last.seq === point.seq && last.epoch === point.epoch && last.key === key) return last.mac;
  const computed = Buffer.from(mac(key, point));
  lastChecked = { epoch: point.epoch, seq: point.seq, key, mac: computed };
  return computed;
}
