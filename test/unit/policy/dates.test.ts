// HTTP-date parsing and formatting, Expires: RFC 9110 §5.6.7, RFC 9111 §5.3, §4.2.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expiresMs, formatHttpDate, parseHttpDate } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

interface ParseCase {
  name: string;
  section: string;
  input: string | undefined;
  expected: number | undefined;
}

const parseCases: ParseCase[] = [
  { name: 'IMF-fixdate', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 GMT', expected: NOV_6_1994 },
  { name: 'obsolete RFC 850 date', section: 'RFC 9110 §5.6.7', input: 'Sunday, 06-Nov-94 08:49:37 GMT', expected: NOV_6_1994 },
  { name: 'obsolete asctime date with a space-padded day', section: 'RFC 9110 §5.6.7', input: 'Sun Nov  6 08:49:37 1994', expected: NOV_6_1994 },
  { name: 'asctime date with a two-digit day', section: 'RFC 9110 §5.6.7', input: 'Wed Nov 16 08:49:37 1994', expected: Date.UTC(1994, 10, 16, 8, 49, 37) },
  { name: 'RFC 850 year 70 is 1970', section: 'RFC 9110 §5.6.7', input: 'Thursday, 01-Jan-70 00:00:00 GMT', expected: 0 },
  { name: 'RFC 850 year 69 is 2069', section: 'RFC 9110 §5.6.7', input: 'Tuesday, 01-Jan-69 00:00:00 GMT', expected: Date.UTC(2069, 0, 1) },
  { name: 'RFC 850 year 00 is 2000', section: 'RFC 9110 §5.6.7', input: 'Saturday, 01-Jan-00 00:00:00 GMT', expected: Date.UTC(2000, 0, 1) },
  { name: 'RFC 850 with Wednesday (longest day name)', section: 'RFC 9110 §5.6.7', input: 'Wednesday, 09-Nov-94 08:49:37 GMT', expected: Date.UTC(1994, 10, 9, 8, 49, 37) },
  { name: 'epoch', section: 'RFC 9110 §5.6.7', input: 'Thu, 01 Jan 1970 00:00:00 GMT', expected: 0 },
  { name: 'leap day in a leap year', section: 'RFC 9110 §5.6.7', input: 'Thu, 29 Feb 2024 12:00:00 GMT', expected: Date.UTC(2024, 1, 29, 12) },
  { name: 'leap day in a 400-year', section: 'RFC 9110 §5.6.7', input: 'Tue, 29 Feb 2000 00:00:00 GMT', expected: Date.UTC(2000, 1, 29) },
  { name: 'leap second 60 is allowed', section: 'RFC 9110 §5.6.7', input: 'Sat, 31 Dec 2016 23:59:60 GMT', expected: Date.UTC(2017, 0, 1) },
  { name: 'year before 100 is not shifted to 19xx', section: 'RFC 9110 §5.6.7', input: 'Mon, 01 Jan 0001 00:00:00 GMT', expected: -62135596800000 },
  { name: 'year 9999', section: 'RFC 9110 §5.6.7', input: 'Fri, 31 Dec 9999 23:59:59 GMT', expected: Date.UTC(9999, 11, 31, 23, 59, 59) },
  { name: 'day name is not checked against the date (choice)', section: 'RFC 9110 §5.6.7', input: 'Mon, 06 Nov 1994 08:49:37 GMT', expected: NOV_6_1994 },
  { name: 'undefined', section: 'RFC 9110 §5.6.7', input: undefined, expected: undefined },
  { name: 'empty string', section: 'RFC 9110 §5.6.7', input: '', expected: undefined },
  { name: '"0" (a common Expires)', section: 'RFC 9111 §5.3', input: '0', expected: undefined },
  { name: 'Feb 30', section: 'RFC 9110 §5.6.7', input: 'Wed, 30 Feb 1994 08:49:37 GMT', expected: undefined },
  { name: 'Feb 29 in a non-leap year', section: 'RFC 9110 §5.6.7', input: 'Tue, 29 Feb 2023 08:49:37 GMT', expected: undefined },
  { name: 'Feb 29 in 1900 (not a leap year)', section: 'RFC 9110 §5.6.7', input: 'Thu, 29 Feb 1900 08:49:37 GMT', expected: undefined },
  { name: 'April 31', section: 'RFC 9110 §5.6.7', input: 'Thu, 31 Apr 1994 08:49:37 GMT', expected: undefined },
  { name: 'day 00', section: 'RFC 9110 §5.6.7', input: 'Sun, 00 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'hour 25', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 25:49:37 GMT', expected: undefined },
  { name: 'hour 24', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 24:00:00 GMT', expected: undefined },
  { name: 'minute 60', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:60:37 GMT', expected: undefined },
  { name: 'second 61', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:61 GMT', expected: undefined },
  { name: 'zone other than GMT', section: 'RFC 9111 §4.2', input: 'Sun, 06 Nov 1994 08:49:37 UTC', expected: undefined },
  { name: 'numeric zone', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 +0000', expected: undefined },
  { name: 'lower-case zone', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 gmt', expected: undefined },
  { name: 'lower-case month', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'upper-case day name', section: 'RFC 9110 §5.6.7', input: 'SUN, 06 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'unknown month', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nox 1994 08:49:37 GMT', expected: undefined },
  { name: 'unknown day name', section: 'RFC 9110 §5.6.7', input: 'Sum, 06 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'single-digit day in IMF-fixdate', section: 'RFC 9110 §5.6.7', input: 'Sun, 6 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'two-digit year in IMF-fixdate', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 94 08:49:37 GMT', expected: undefined },
  { name: 'trailing junk', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 GMTx', expected: undefined },
  { name: 'trailing space', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 GMT ', expected: undefined },
  { name: 'leading space', section: 'RFC 9110 §5.6.7', input: ' Sun, 06 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'two dates in a list', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT', expected: undefined },
  { name: 'ISO 8601', section: 'RFC 9110 §5.6.7', input: '1994-11-06T08:49:37Z', expected: undefined },
  { name: 'RFC 850 with an abbreviated day name', section: 'RFC 9110 §5.6.7', input: 'Sun, 06-Nov-94 08:49:37 GMT', expected: undefined },
  { name: 'RFC 850 with a four-digit year', section: 'RFC 9110 §5.6.7', input: 'Sunday, 06-Nov-1994 08:49:37 GMT', expected: undefined },
  { name: 'RFC 850 with a bad zone', section: 'RFC 9110 §5.6.7', input: 'Sunday, 06-Nov-94 08:49:37 PST', expected: undefined },
  { name: 'RFC 850 with lower-case day name', section: 'RFC 9110 §5.6.7', input: 'sunday, 06-Nov-94 08:49:37 GMT', expected: undefined },
  { name: 'asctime with an unpadded day', section: 'RFC 9110 §5.6.7', input: 'Sun Nov 6 08:49:37 1994', expected: undefined },
  { name: 'asctime with a zone', section: 'RFC 9110 §5.6.7', input: 'Sun Nov  6 08:49:37 1994 GMT', expected: undefined },
  { name: 'asctime with a bad hour', section: 'RFC 9110 §5.6.7', input: 'Sun Nov  6 28:49:37 1994', expected: undefined },
  { name: 'time separators must be colons', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 1994 08.49.37 GMT', expected: undefined },
  { name: 'non-digit in the year', section: 'RFC 9110 §5.6.7', input: 'Sun, 06 Nov 19x4 08:49:37 GMT', expected: undefined },
];

for (const c of parseCases) {
  void test(`${c.section}: parseHttpDate ${c.name}`, () => {
    assert.equal(parseHttpDate(c.input), c.expected);
  });
}

interface FormatCase {
  name: string;
  section: string;
  input: number;
  expected: string;
}

const formatCases: FormatCase[] = [
  { name: 'IMF-fixdate of a time', section: 'RFC 9110 §5.6.7', input: NOV_6_1994, expected: 'Sun, 06 Nov 1994 08:49:37 GMT' },
  { name: 'milliseconds are floored', section: 'RFC 9110 §5.6.7', input: NOV_6_1994 + 999, expected: 'Sun, 06 Nov 1994 08:49:37 GMT' },
  { name: 'epoch', section: 'RFC 9110 §5.6.7', input: 0, expected: 'Thu, 01 Jan 1970 00:00:00 GMT' },
  { name: 'single-digit fields are zero-padded', section: 'RFC 9110 §5.6.7', input: Date.UTC(2024, 0, 2, 3, 4, 5), expected: 'Tue, 02 Jan 2024 03:04:05 GMT' },
];

for (const c of formatCases) {
  void test(`${c.section}: formatHttpDate ${c.name}`, () => {
    const text = formatHttpDate(c.input);
    assert.equal(text, c.expected);
    assert.equal(parseHttpDate(text), Math.floor(c.input / 1000) * 1000);
  });
}

interface ExpiresCase {
  name: string;
  section: string;
  headers: HeaderMap;
  expected: number | undefined | 'invalid';
}

const expiresCases: ExpiresCase[] = [
  { name: 'absent', section: 'RFC 9111 §5.3', headers: {}, expected: undefined },
  { name: 'one valid date', section: 'RFC 9111 §5.3', headers: { expires: 'Sun, 06 Nov 1994 08:49:37 GMT' }, expected: NOV_6_1994 },
  { name: 'one valid date as a one-line array', section: 'RFC 9111 §5.3', headers: { expires: ['Sun, 06 Nov 1994 08:49:37 GMT'] }, expected: NOV_6_1994 },
  { name: '"0" is invalid (already expired)', section: 'RFC 9111 §5.3', headers: { expires: '0' }, expected: 'invalid' },
  { name: 'bad format is invalid', section: 'RFC 9111 §5.3', headers: { expires: 'tomorrow' }, expected: 'invalid' },
  { name: 'empty value is invalid', section: 'RFC 9111 §5.3', headers: { expires: '' }, expected: 'invalid' },
  { name: 'several lines are invalid', section: 'RFC 9111 §4.2.1', headers: { expires: ['Sun, 06 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT'] }, expected: 'invalid' },
  { name: 'several values on one line are invalid', section: 'RFC 9111 §4.2.1', headers: { expires: 'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT' }, expected: 'invalid' },
  { name: 'an empty array is absent', section: 'RFC 9111 §5.3', headers: { expires: [] }, expected: undefined },
];

for (const c of expiresCases) {
  void test(`${c.section}: expiresMs ${c.name}`, () => {
    assert.equal(expiresMs(c.headers), c.expected);
  });
}
