// Age: RFC 9111 §5.1 parsing and the §4.2.3 calculation, with times passed in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentAgeMs, initialAgeMs, parseAgeSeconds } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface ParseCase {
  name: string;
  section: string;
  headers: HeaderMap;
  expected: number | undefined | 'invalid';
}

const parseCases: ParseCase[] = [
  { name: 'absent', section: 'RFC 9111 §5.1', headers: {}, expected: undefined },
  { name: 'an integer', section: 'RFC 9111 §5.1', headers: { age: '42' }, expected: 42 },
  { name: 'zero', section: 'RFC 9111 §5.1', headers: { age: '0' }, expected: 0 },
  { name: 'leading zeros', section: 'RFC 9111 §1.3', headers: { age: '0042' }, expected: 42 },
  { name: 'one line in an array', section: 'RFC 9111 §5.1', headers: { age: ['7'] }, expected: 7 },
  { name: 'beyond 2^31 clamps', section: 'RFC 9111 §1.3', headers: { age: '123456789012345678901234567890' }, expected: 2147483648 },
  { name: 'float makes it stale', section: 'RFC 9111 §5.1', headers: { age: '1.5' }, expected: 'invalid' },
  { name: 'negative makes it stale', section: 'RFC 9111 §5.1', headers: { age: '-1' }, expected: 'invalid' },
  { name: 'plus sign makes it stale', section: 'RFC 9111 §5.1', headers: { age: '+1' }, expected: 'invalid' },
  { name: 'list makes it stale', section: 'RFC 9111 §5.1', headers: { age: '1, 2' }, expected: 'invalid' },
  { name: 'several lines: the first counts', section: 'RFC 9111 §5.1', headers: { age: ['1', '2'] }, expected: 1 },
  { name: 'several lines, the first invalid', section: 'RFC 9111 §5.1', headers: { age: ['x', '2'] }, expected: 'invalid' },
  { name: 'parameters make it stale', section: 'RFC 9111 §5.1', headers: { age: '5;q=1' }, expected: 'invalid' },
  { name: 'junk makes it stale', section: 'RFC 9111 §5.1', headers: { age: 'old' }, expected: 'invalid' },
  { name: 'empty makes it stale', section: 'RFC 9111 §5.1', headers: { age: '' }, expected: 'invalid' },
  { name: 'embedded space makes it stale', section: 'RFC 9111 §5.1', headers: { age: '1 2' }, expected: 'invalid' },
  { name: 'hex makes it stale', section: 'RFC 9111 §5.1', headers: { age: '0x10' }, expected: 'invalid' },
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
  { name: 'junk Age makes the response stale (maximal age)', section: 'RFC 9111 §5.1', headers: { age: 'x' }, requestTimeMs: T0, responseTimeMs: T0 + 10, expected: 2147483648 * 1000 + 10 },
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
