// Age: RFC 9111 §5.1 parsing and the §4.2.3 calculation, with times passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentAgeMs, initialAgeMs, parseAgeSeconds } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface ParseCase {
  name: string;
  section: string;
  headers: HeaderMap;
  expected: number | undefined;
}

const parseCases: ParseCase[] = [
  { name: 'absent', section: 'RFC 9111 §5.1', headers: {}, expected: undefined },
  { name: 'an integer', section: 'RFC 9111 §5.1', headers: { age: '42' }, expected: 42 },
  { name: 'zero', section: 'RFC 9111 §5.1', headers: { age: '0' }, expected: 0 },
  { name: 'leading zeros', section: 'RFC 9111 §1.3', headers: { age: '0042' }, expected: 42 },
  { name: 'one line in an array', section: 'RFC 9111 §5.1', headers: { age: ['7'] }, expected: 7 },
  { name: 'beyond 2^31 clamps', section: 'RFC 9111 §1.3', headers: { age: '123456789012345678901234567890' }, expected: 2147483648 },
  // RFC 9111 §5.1: "a cache encountering a message with a list-based Age field value SHOULD use the
  // first member of the field value, discarding subsequent ones"; an invalid value: "a cache
  // SHOULD ignore the field" (as if there were no Age).
  { name: 'a float is ignored', section: 'RFC 9111 §5.1', headers: { age: '1.5' }, expected: undefined },
  { name: 'a negative value is ignored', section: 'RFC 9111 §5.1', headers: { age: '-1' }, expected: undefined },
  { name: 'a plus sign is ignored', section: 'RFC 9111 §5.1', headers: { age: '+1' }, expected: undefined },
  { name: 'a list uses its first member', section: 'RFC 9111 §5.1', headers: { age: '1, 2' }, expected: 1 },
  { name: 'a list without spaces uses its first member', section: 'RFC 9111 §5.1', headers: { age: '30,0' }, expected: 30 },
  { name: 'a list whose first member is invalid is ignored', section: 'RFC 9111 §5.1', headers: { age: 'x, 2' }, expected: undefined },
  { name: 'empty list elements are skipped before the first member', section: 'RFC 9110 §5.6.1', headers: { age: ' , 9' }, expected: 9 },
  { name: 'several lines: the first counts', section: 'RFC 9111 §5.1', headers: { age: ['1', '2'] }, expected: 1 },
  { name: 'several lines, the first invalid: ignored', section: 'RFC 9111 §5.1', headers: { age: ['x', '2'] }, expected: undefined },
  { name: 'several lines, the first a list: its first member', section: 'RFC 9111 §5.1', headers: { age: ['4, 5', '6'] }, expected: 4 },
  { name: 'parameters are ignored (the whole field)', section: 'RFC 9111 §5.1', headers: { age: '5;q=1' }, expected: undefined },
  { name: 'junk is ignored', section: 'RFC 9111 §5.1', headers: { age: 'old' }, expected: undefined },
  { name: 'an empty value is ignored', section: 'RFC 9111 §5.1', headers: { age: '' }, expected: undefined },
  { name: 'an embedded space is ignored', section: 'RFC 9111 §5.1', headers: { age: '1 2' }, expected: undefined },
  { name: 'hex is ignored', section: 'RFC 9111 §5.1', headers: { age: '0x10' }, expected: undefined },
];

for (const c of parseCases) {
  void test(`${c.section}: parseAgeSeconds ${c.name}`, () => {
    assert.equal(parseAgeSeconds(c.headers), c.expected);
  });
}

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();

interface InitialCase {
  name: string;
  section: string;
  headers: HeaderMap;
  requestTimeMs: number;
  responseTimeMs: number;
  expected: number;
}

const initialCases: InitialCase[] = [
  { name: 'no Date, no Age: the response delay', section: 'RFC 9111 §4.2.3', headers: {}, requestTimeMs: T0, responseTimeMs: T0 + 300, expected: 300 },
  { name: 'apparent age wins when larger', section: 'RFC 9111 §4.2.3', headers: { date: httpDate(T0 - 10_000) }, requestTimeMs: T0, responseTimeMs: T0 + 500, expected: 10_500 },
  { name: 'Date in the future gives apparent age 0', section: 'RFC 9111 §4.2.3', headers: { date: httpDate(T0 + 60_000) }, requestTimeMs: T0, responseTimeMs: T0 + 200, expected: 200 },
  { name: 'Age plus response delay', section: 'RFC 9111 §4.2.3', headers: { age: '30', date: httpDate(T0) }, requestTimeMs: T0, responseTimeMs: T0 + 1000, expected: 31_000 },
  { name: 'apparent age beats a smaller corrected age', section: 'RFC 9111 §4.2.3', headers: { age: '5', date: httpDate(T0 - 60_000) }, requestTimeMs: T0, responseTimeMs: T0 + 1000, expected: 61_000 },
  { name: 'invalid Date counts as no Date', section: 'RFC 9111 §4.2.3', headers: { date: 'yesterday', age: '2' }, requestTimeMs: T0, responseTimeMs: T0 + 100, expected: 2100 },
  { name: 'several Date lines count as no Date', section: 'RFC 9111 §4.2.3', headers: { date: [httpDate(T0 - 99_000), httpDate(T0)] }, requestTimeMs: T0, responseTimeMs: T0, expected: 0 },
  { name: 'junk Age is ignored: the response delay alone', section: 'RFC 9111 §5.1', headers: { age: 'x' }, requestTimeMs: T0, responseTimeMs: T0 + 10, expected: 10 },
  { name: 'a list-based Age counts its first member', section: 'RFC 9111 §5.1', headers: { age: '20, 900' }, requestTimeMs: T0, responseTimeMs: T0 + 10, expected: 20_010 },
  { name: 'an ignored Age leaves the apparent age', section: 'RFC 9111 §5.1', headers: { age: '-5', date: httpDate(T0 - 7_000) }, requestTimeMs: T0, responseTimeMs: T0, expected: 7_000 },
  { name: 'response time before request time gives no negative delay', section: 'RFC 9111 §4.2.3', headers: {}, requestTimeMs: T0 + 50, responseTimeMs: T0, expected: 0 },
  { name: 'clamped Age stays finite and huge', section: 'RFC 9111 §1.3', headers: { age: '99999999999' }, requestTimeMs: T0, responseTimeMs: T0, expected: 2147483648000 },
];

for (const c of initialCases) {
  void test(`${c.section}: initialAgeMs ${c.name}`, () => {
    assert.equal(initialAgeMs({ headers: c.headers, requestTimeMs: c.requestTimeMs, responseTimeMs: c.responseTimeMs }), c.expected);
  });
}

interface CurrentCase {
  name: string;
  section: string;
  entry: { initialAgeMs: number; responseTimeMs: number };
  nowMs: number;
  expected: number;
}

const currentCases: CurrentCase[] = [
  { name: 'initial age plus resident time', section: 'RFC 9111 §4.2.3', entry: { initialAgeMs: 5000, responseTimeMs: T0 }, nowMs: T0 + 10_000, expected: 15_000 },
  { name: 'at the response time: the initial age', section: 'RFC 9111 §4.2.3', entry: { initialAgeMs: 1234, responseTimeMs: T0 }, nowMs: T0, expected: 1234 },
  { name: 'a clock before the response time adds nothing', section: 'RFC 9111 §4.2.3', entry: { initialAgeMs: 1000, responseTimeMs: T0 }, nowMs: T0 - 5000, expected: 1000 },
];

for (const c of currentCases) {
  void test(`${c.section}: currentAgeMs ${c.name}`, () => {
    assert.equal(currentAgeMs(c.entry, c.nowMs), c.expected);
  });
}
