// Age (RFC 9111 §5.1) and the age calculation of RFC 9111 §4.2.3. Times are ms since epoch,
// passed in by the caller: nothing here reads a clock.
import type { HeaderMap } from '../types.js';
import { fieldLines, parseDeltaSeconds, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';

/** Age given to a response whose Age field is invalid: old enough to be stale under any lifetime. */
export const INVALID_AGE_SECONDS = 2147483648;

/**
 * RFC 9111 §5.1: the Age value in seconds, from the first field line when there are several
 * (leading zeros allowed, beyond 2^31 clamped to 2^31, §1.3); undefined when absent; 'invalid'
 * when that line is not one non-negative integer (a list, a decimal, a sign, junk). An invalid
 * Age makes the response stale, never unstorable.
 */
export function parseAgeSeconds(h: HeaderMap): number | undefined | 'invalid' {
  const [first] = fieldLines(h, 'age');
  if (first === undefined) return undefined;
  return parseDeltaSeconds(first.trim()) ?? 'invalid';
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
  // RFC 9111 §4.2.3: age_value is 0 when not available; §5.1: an invalid one means stale.
  const age = parseAgeSeconds(headers);
  const ageValueMs = (age === 'invalid' ? INVALID_AGE_SECONDS : (age ?? 0)) * 1000;
  const correctedAgeValueMs = ageValueMs + responseDelayMs;
  return Math.max(apparentAgeMs, correctedAgeValueMs);
}

/** RFC 9111 §4.2.3: current_age = corrected_initial_age + resident_time (never negative). */
export function currentAgeMs(entry: { initialAgeMs: number; responseTimeMs: number }, nowMs: number): number {
  const residentTimeMs = Math.max(0, nowMs - entry.responseTimeMs);
  return entry.initialAgeMs + residentTimeMs;
}
