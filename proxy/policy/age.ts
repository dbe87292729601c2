// Age (RFC 9111 §5.1) and the age calculation of RFC 9111 §4.2.3. Times are ms since epoch,
// passed in by the caller: nothing here reads a clock.
import type { HeaderMap } from '../types.js';
import { parseDeltaSeconds, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';

/**
 * RFC 9111 §5.1: the Age value in seconds when the field is one line holding one non-negative
 * integer (leading zeros allowed, beyond 2^31 clamped to 2^31, §1.3); undefined otherwise.
 * An unusable Age is ignored (age_value 0), never a reason to refuse storage.
 */
export function parseAgeSeconds(h: HeaderMap): number | undefined {
  const value = singleField(h, 'age');
  if (value === undefined) return undefined;
  return parseDeltaSeconds(value);
}

/**
 * RFC 9111 §4.2.3 corrected_initial_age, in ms:
 * max(apparent_age, age_value + response_delay).
 */
export function initialAgeMs(args: { headers: HeaderMap; requestTimeMs: number; responseTimeMs: number }): number {
  const { headers, requestTimeMs, responseTimeMs } = args;
  const dateMs = parseHttpDate(singleField(headers, 'date'));
  // RFC 9111 §4.2.3: apparent_age = max(0, response_time - date_value); 0 without a valid Date.
  const apparentAgeMs = dateMs === undefined ? 0 : Math.max(0, responseTimeMs - dateMs);
  // RFC 9111 §4.2.3: response_delay = response_time - request_time (a clock stepping backwards
  // between the two must not make the age smaller).
  const responseDelayMs = Math.max(0, responseTimeMs - requestTimeMs);
  // RFC 9111 §4.2.3: age_value is 0 when not available.
  const ageValueMs = (parseAgeSeconds(headers) ?? 0) * 1000;
  const correctedAgeValueMs = ageValueMs + responseDelayMs;
  return Math.max(apparentAgeMs, correctedAgeValueMs);
}

/** RFC 9111 §4.2.3: current_age = corrected_initial_age + resident_time (never negative). */
export function currentAgeMs(entry: { initialAgeMs: number; responseTimeMs: number }, nowMs: number): number {
  const residentTimeMs = Math.max(0, nowMs - entry.responseTimeMs);
  return entry.initialAgeMs + residentTimeMs;
}
