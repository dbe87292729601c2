// Age (RFC 9111 §5.1) and the age calculation of RFC 9111 §4.2.3. Times are ms since epoch,
// passed in by the caller: nothing here reads a clock.
import type { HeaderMap } from '../types.js';
import { fieldLines, parseDeltaSeconds, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';

/**
 * RFC 9111 §5.1: the Age value in seconds (leading zeros allowed, beyond 2^31 clamped to 2^31,
 * §1.3), or undefined when there is none to use. Several field lines make one list (RFC 9110
 * §5.3), and a list-based value uses its first member, discarding the others; empty list
 * elements are skipped (RFC 9110 §5.6.1). A first member that is not one non-negative integer
 * (a decimal, a sign, parameters, junk) is invalid, and the cache ignores the field: the
 * response is treated as if it had no Age, neither stale nor unstorable.
 */
export function parseAgeSeconds(h: HeaderMap): number | undefined {
  for (const line of fieldLines(h, 'age')) {
    for (const member of line.split(',')) {
      const text = member.trim();
      // RFC 9110 §5.6.1: empty list elements do not count as members.
      if (text === '') continue;
      // RFC 9111 §5.1: the first member decides; invalid → the field is ignored.
      return parseDeltaSeconds(text);
    }
  }
  return undefined;
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
  // RFC 9111 §4.2.3: age_value is 0 when not available; §5.1: an invalid one is ignored, so not available.
  const ageValueMs = (parseAgeSeconds(headers) ?? 0) * 1000;
  const correctedAgeValueMs = ageValueMs + responseDelayMs;
  return Math.max(apparentAgeMs, correctedAgeValueMs);
}

/** RFC 9111 §4.2.3: current_age = corrected_initial_age + resident_time (never negative). */
export function currentAgeMs(entry: { initialAgeMs: number; responseTimeMs: number }, nowMs: number): number {
  const residentTimeMs = Math.max(0, nowMs - entry.responseTimeMs);
  return entry.initialAgeMs + residentTimeMs;
}
