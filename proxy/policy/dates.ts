// HTTP-date (RFC 9110 §5.6.7): strict parsing of the three formats by position, and
// IMF-fixdate output. No Date.parse: it accepts far more than the grammar.
import type { HeaderMap } from '../types.js';
import { fieldLines } from './fields.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_NAMES_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MS_PER_DAY = 86_400_000;

/** Two DIGITs at s[i], or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 0x30;
  const b = s.charCodeAt(i + 1) - 0x30;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** Month number 1..12 of the month name at s[i, i+3), or -1 (case-sensitive). */
function monthAt(s: string, i: number): number {
  const index = MONTHS.indexOf(s.slice(i, i + 3));
  return index < 0 ? -1 : index + 1;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (no Date.UTC: it maps years 0..99 to 19xx). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * time-of-day "HH:MM:SS" at s[i], combined with the date into ms since epoch; undefined when a
 * field is out of range (RFC 9110 §5.6.7: hour 00-23, minute 00-59, second 00-60).
 */
function assemble(s: string, i: number, year: number, month: number, day: number): number | undefined {
  if (month < 1 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (s.charCodeAt(i + 2) !== 0x3a || s.charCodeAt(i + 5) !== 0x3a) return undefined;
  const hour = twoDigits(s, i);
  const minute = twoDigits(s, i + 3);
  const second = twoDigits(s, i + 6);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return undefined;
  return daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000;
}

// RFC 9110 §5.6.7 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters)
function parseImfFixdate(s: string): number | undefined {
  if (!DAY_NAMES.includes(s.slice(0, 3)) || s[3] !== ',' || s[4] !== ' ' || s[7] !== ' ' || s[11] !== ' ') {
    return undefined;
  }
  if (s[16] !== ' ' || !s.endsWith(' GMT')) return undefined;
  const day = twoDigits(s, 5);
  const century = twoDigits(s, 12);
  const yearRest = twoDigits(s, 14);
  if (day < 0 || century < 0 || yearRest < 0) return undefined;
  return assemble(s, 17, century * 100 + yearRest, monthAt(s, 8), day);
}

// RFC 9110 §5.6.7 obsolete rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
function parseRfc850(s: string, comma: number): number | undefined {
  if (!DAY_NAMES_LONG.includes(s.slice(0, comma)) || s.length !== comma + 24) return undefined;
  const i = comma + 2; // start of "06-Nov-94"
  if (s[comma + 1] !== ' ' || s[i + 2] !== '-' || s[i + 6] !== '-' || s[i + 9] !== ' ') return undefined;
  if (!s.endsWith(' GMT')) return undefined;
  const day = twoDigits(s, i);
  const yy = twoDigits(s, i + 7);
  if (day < 0 || yy < 0) return undefined;
  // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
  // Without a clock, the fixed pivot is 70: 70..99 are 19xx, 00..69 are 20xx.
  const year = yy >= 70 ? 1900 + yy : 2000 + yy;
  return assemble(s, i + 10, year, monthAt(s, i + 3), day);
}

// RFC 9110 §5.6.7 obsolete asctime-date: "Sun Nov  6 08:49:37 1994" (24 characters)
function parseAsctime(s: string): number | undefined {
  if (!DAY_NAMES.includes(s.slice(0, 3)) || s[3] !== ' ' || s[7] !== ' ' || s[10] !== ' ' || s[19] !== ' ') {
    return undefined;
  }
  // date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
  const day = s[8] === ' ' ? twoDigits('0' + s[9], 0) : twoDigits(s, 8);
  const century = twoDigits(s, 20);
  const yearRest = twoDigits(s, 22);
  if (day < 0 || century < 0 || yearRest < 0) return undefined;
  return assemble(s, 11, century * 100 + yearRest, monthAt(s, 4), day);
}

/**
 * RFC 9110 §5.6.7: ms since epoch of an HTTP-date in any of its three formats; undefined for
 * anything else (wrong case, zone other than GMT, out-of-range fields, surrounding junk).
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const len = value.length;
  if (len === 29 && value[3] === ',') return parseImfFixdate(value);
  if (len === 24 && value[3] === ' ') return parseAsctime(value);
  const comma = value.indexOf(',');
  if (comma >= 6 && comma <= 9) return parseRfc850(value, comma);
  return undefined;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** RFC 9110 §5.6.7: the IMF-fixdate of a time (ms since epoch, floored to the second). */
export function formatHttpDate(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const year = d.getUTCFullYear();
  return (
    `${DAY_NAMES[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ` +
    `${String(year).padStart(4, '0')} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  );
}

/**
 * RFC 9111 §5.3: the Expires time; undefined when absent; 'invalid' when present but not exactly
 * one valid HTTP-date (several lines, a list, "0", bad format): such a response is already stale.
 */
export function expiresMs(h: HeaderMap): number | undefined | 'invalid' {
  const lines = fieldLines(h, 'expires');
  if (lines.length === 0) return undefined;
  // RFC 9111 §4.2.1: several Expires values: the response is considered stale.
  if (lines.length > 1) return 'invalid';
  // RFC 9111 §5.3: invalid dates, especially "0", mean "already expired".
  return parseHttpDate(lines[0]) ?? 'invalid';
}
