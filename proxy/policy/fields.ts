// Field access and list syntax shared by the policy modules: field lines, comma-separated lists
// (RFC 9110 §5.3, §5.6.1) that respect quoted strings (RFC 9110 §5.6.4), and delta-seconds
// (RFC 9111 §1.3). Scans by character code: these run on every request.
import type { HeaderMap } from '../types.js';

const COMMA = 0x2c;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SP = 0x20;
const HTAB = 0x09;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const NO_LINES: readonly string[] = Object.freeze([]);

/** RFC 9111 §1.3: the value a cache uses for any delta-seconds it cannot represent (2^31). */
export const DELTA_SECONDS_MAX = 2147483648;

/**
 * The field lines of `name` (0..n), in order. The returned array may be the map's own array:
 * callers must not mutate it.
 */
export function fieldLines(h: HeaderMap, name: string): string[] {
  const value = h[name];
  if (value === undefined) return NO_LINES as string[];
  return typeof value === 'string' ? [value] : value;
}

/** True when `name` has at least one field line. */
export function hasField(h: HeaderMap, name: string): boolean {
  const value = h[name];
  return value !== undefined && (typeof value === 'string' || value.length > 0);
}

/** The value when exactly one field line exists; undefined when absent or several lines. */
export function singleField(h: HeaderMap, name: string): string | undefined {
  const value = h[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return value.length === 1 ? value[0] : undefined;
}

/** True for SP and HTAB, the OWS characters of RFC 9110 §5.6.3. */
export function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/**
 * Calls `onMember(line, start, end)` for each non-empty member of a comma-separated list in one
 * line, trimmed of OWS. A comma inside a quoted string does not split (RFC 9110 §5.6.1, §5.6.4).
 */
export function forEachListMember(line: string, onMember: (line: string, start: number, end: number) => void): void {
  const len = line.length;
  let i = 0;
  while (i < len) {
    let start = i;
    let inQuote = false;
    for (; i < len; i++) {
      const c = line.charCodeAt(i);
      if (inQuote) {
        if (c === BACKSLASH) i++;
        else if (c === DQUOTE) inQuote = false;
      } else if (c === DQUOTE) inQuote = true;
      else if (c === COMMA) break;
    }
    let end = i > len ? len : i;
    while (start < end && isOws(line.charCodeAt(start))) start++;
    while (end > start && isOws(line.charCodeAt(end - 1))) end--;
    // RFC 9110 §5.6.1: recipients ignore empty list elements.
    if (end > start) onMember(line, start, end);
    i++; // past the comma
  }
}

/**
 * The comma-separated list members of `name` across all its field lines (RFC 9110 §5.3: lines
 * combine into one list), trimmed, empty members dropped, quoted commas kept.
 */
export function fieldList(h: HeaderMap, name: string): string[] {
  const value = h[name];
  if (value === undefined) return [];
  const members: string[] = [];
  const push = (line: string, start: number, end: number): void => {
    members.push(start === 0 && end === line.length ? line : line.slice(start, end));
  };
  if (typeof value === 'string') forEachListMember(value, push);
  else for (const line of value) forEachListMember(line, push);
  return members;
}

/**
 * RFC 9111 §1.3 delta-seconds in text[start, end): 1*DIGIT (leading zeros allowed). Values beyond
 * 2^31 become 2^31. Anything else (empty, sign, decimal point, whitespace, junk) gives undefined.
 */
export function parseDeltaSeconds(text: string, start = 0, end = text.length): number | undefined {
  if (end <= start) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return undefined;
    // RFC 9111 §1.3: stop growing once past 2^31; the result is clamped below.
    if (value <= DELTA_SECONDS_MAX) value = value * 10 + (c - DIGIT_0);
  }
  return value > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : value;
}

/**
 * The content of a quoted-string (RFC 9110 §5.6.4) occupying exactly text[start, end), with
 * quoted-pairs unescaped; undefined when the range is not exactly one quoted-string.
 */
export function unquote(text: string, start: number, end: number): string | undefined {
  if (end - start < 2 || text.charCodeAt(start) !== DQUOTE || text.charCodeAt(end - 1) !== DQUOTE) return undefined;
  let out = '';
  let runStart = start + 1;
  for (let i = start + 1; i < end - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) {
      if (i + 1 >= end - 1) return undefined; // escape of the closing quote: unterminated
      out += text.slice(runStart, i);
      runStart = i + 1;
      i++;
    } else if (c === DQUOTE) {
      return undefined; // a bare quote ends the string early: junk follows
    }
  }
  return out + text.slice(runStart, end - 1);
}

const TCHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** True for a tchar (RFC 9110 §5.6.2). */
export function isTchar(code: number): boolean {
  return code >= 0 && code < 128 && TCHAR[code] === 1;
}

/** True when text[start, end) is a non-empty token (RFC 9110 §5.6.2). */
export function isToken(text: string, start = 0, end = text.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}
