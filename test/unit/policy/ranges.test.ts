// Byte ranges: RFC 9110 §14 (Range, Content-Range), §13.1.5 and §8.8.2.2 (If-Range, strong
// validators). multipart.test.ts has multipart/byteranges and the stored, combined parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRange, formatContentRange, ifRangeAllows, parseContentRange, unsatisfiedContentRange } from '../../../proxy/policy/index.js';
import type { ByteRange, RangeEvaluation } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const NONE: RangeEvaluation = { kind: 'none' };
const UNSAT: RangeEvaluation = { kind: 'unsatisfiable' };
function ranges(...pairs: Array<[number, number]>): RangeEvaluation {
  return { kind: 'ranges', ranges: pairs.map(([start, end]) => ({ start, end })) };
}
/** `bytes=0-0,2-2,4-4,...`: n disjoint, non-adjacent one-byte ranges. */
function disjoint(n: number): string {
  return 'bytes=' + Array.from({ length: n }, (_, i) => `${2 * i}-${2 * i}`).join(',');
}
const HUGE = '99999999999999999999';

interface RangeCase {
  name: string;
  section: string;
  input: { header: string | undefined; length: number };
  expected: RangeEvaluation;
}

const rangeCases: RangeCase[] = [
  { name: 'no Range field', section: 'RFC 9110 §14.2', input: { header: undefined, length: 1000 }, expected: NONE },
  { name: 'int-range 0-499', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-499', length: 1000 }, expected: ranges([0, 499]) },
  { name: 'int-range 500-999', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=500-999', length: 1000 }, expected: ranges([500, 999]) },
  { name: 'one byte 0-0', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-0', length: 1000 }, expected: ranges([0, 0]) },
  { name: 'the last byte 999-999', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=999-999', length: 1000 }, expected: ranges([999, 999]) },
  { name: 'last-pos beyond the end is clamped', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=500-5000', length: 1000 }, expected: ranges([500, 999]) },
  { name: 'last-pos equal to the length is clamped', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-1000', length: 1000 }, expected: ranges([0, 999]) },
  { name: 'open range 900-', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=900-', length: 1000 }, expected: ranges([900, 999]) },
  { name: 'open range 0- is the whole', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-', length: 1000 }, expected: ranges([0, 999]) },
  { name: 'suffix range -500', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-500', length: 1000 }, expected: ranges([500, 999]) },
  { name: 'suffix range -1', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-1', length: 1000 }, expected: ranges([999, 999]) },
  { name: 'suffix equal to the length is the whole', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-1000', length: 1000 }, expected: ranges([0, 999]) },
  { name: 'suffix longer than the representation is the whole', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-5000', length: 1000 }, expected: ranges([0, 999]) },
  { name: 'suffix -0 is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-0', length: 1000 }, expected: UNSAT },
  { name: 'suffix -0 next to a satisfiable range is dropped', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-0,0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'leading zeros are allowed', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0010-0019', length: 1000 }, expected: ranges([10, 19]) },
  { name: 'unit in upper case', section: 'RFC 9110 §14.1', input: { header: 'BYTES=0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'unit in mixed case', section: 'RFC 9110 §14.1', input: { header: 'Bytes=0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'another range unit is ignored', section: 'RFC 9110 §14.2', input: { header: 'items=0-1', length: 1000 }, expected: NONE },
  { name: 'a unit that only starts with bytes is ignored', section: 'RFC 9110 §14.1', input: { header: 'bytesx=0-1', length: 1000 }, expected: NONE },
  { name: 'OWS around list elements', section: 'RFC 9110 §5.6.1', input: { header: 'bytes=0-1 ,\t5-6', length: 1000 }, expected: ranges([0, 1], [5, 6]) },
  { name: 'OWS right after = (lenient, choice)', section: 'RFC 9110 §5.6.1', input: { header: 'bytes= 0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'whitespace around the field value', section: 'RFC 9110 §5.5', input: { header: ' bytes=0-1 ', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'whitespace inside a range-spec is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0 -1', length: 1000 }, expected: NONE },
  { name: 'whitespace after the hyphen is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0- 1', length: 1000 }, expected: NONE },
  { name: 'whitespace before = is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes =0-1', length: 1000 }, expected: NONE },
  { name: 'first > last (5-1) invalidates the field', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=5-1', length: 1000 }, expected: NONE },
  { name: 'bytes=abc is invalid', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=abc', length: 1000 }, expected: NONE },
  { name: 'bytes= (empty range-set) is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=', length: 1000 }, expected: NONE },
  { name: 'bytes=, (only empty elements) is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=,', length: 1000 }, expected: NONE },
  { name: 'bytes=1-2, (trailing empty element is ignored)', section: 'RFC 9110 §5.6.1.2', input: { header: 'bytes=1-2,', length: 1000 }, expected: ranges([1, 2]) },
  { name: 'bytes=,1-2 (leading empty element is ignored)', section: 'RFC 9110 §5.6.1.2', input: { header: 'bytes=,1-2', length: 1000 }, expected: ranges([1, 2]) },
  { name: 'missing = is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes 0-1', length: 1000 }, expected: NONE },
  { name: 'the unit alone is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes', length: 1000 }, expected: NONE },
  { name: 'empty unit is invalid', section: 'RFC 9110 §14.1.1', input: { header: '=0-1', length: 1000 }, expected: NONE },
  { name: 'empty field value', section: 'RFC 9110 §14.1.1', input: { header: '', length: 1000 }, expected: NONE },
  { name: 'a lone hyphen is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=-', length: 1000 }, expected: NONE },
  { name: 'two hyphens are invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=1-2-3', length: 1000 }, expected: NONE },
  { name: 'a sign is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=+1-2', length: 1000 }, expected: NONE },
  { name: 'a negative suffix is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=--5', length: 1000 }, expected: NONE },
  { name: 'hex digits are invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0x10-20', length: 1000 }, expected: NONE },
  { name: 'a decimal point is invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=1.5-2', length: 1000 }, expected: NONE },
  { name: 'parameters are invalid', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0-1;q=1', length: 1000 }, expected: NONE },
  { name: 'one invalid spec among valid ones invalidates the field', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=0-1,5-1', length: 1000 }, expected: NONE },
  { name: 'an invalid spec wins over unsatisfiable ones', section: 'RFC 9110 §14.1.1', input: { header: 'bytes=2000-,5-1', length: 1000 }, expected: NONE },
  { name: 'two disjoint ranges', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-99,200-299', length: 1000 }, expected: ranges([0, 99], [200, 299]) },
  { name: 'the client order is kept (choice)', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=200-299,0-99', length: 1000 }, expected: ranges([200, 299], [0, 99]) },
  { name: 'first-pos equal to the length is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=1000-', length: 1000 }, expected: UNSAT },
  { name: 'first-pos beyond the length is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=5000-6000', length: 1000 }, expected: UNSAT },
  { name: 'unsatisfiable ranges are dropped', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=5000-6000,0-1,1000-', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'length 0: bytes=0- is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-', length: 0 }, expected: UNSAT },
  { name: 'length 0: bytes=0-0 is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=0-0', length: 0 }, expected: UNSAT },
  { name: 'length 0: bytes=-0 is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=-0', length: 0 }, expected: UNSAT },
  { name: 'length 0: a non-zero suffix is ignored (choice, no empty 206)', section: 'RFC 9110 §14.2', input: { header: 'bytes=-5', length: 0 }, expected: NONE },
  { name: 'length 0: a non-zero suffix among int-ranges is ignored', section: 'RFC 9110 §14.2', input: { header: 'bytes=0-5,-5', length: 0 }, expected: NONE },
  { name: 'length 0: an invalid spec is ignored', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=5-1', length: 0 }, expected: NONE },
  { name: 'length 1: bytes=0-0,-1 coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-0,-1', length: 1 }, expected: ranges([0, 0]) },
  { name: 'huge last-pos is clamped', section: 'RFC 9110 §14.1.2', input: { header: `bytes=0-${HUGE}`, length: 1000 }, expected: ranges([0, 999]) },
  { name: 'huge first-pos is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: `bytes=${HUGE}-`, length: 1000 }, expected: UNSAT },
  { name: 'huge suffix is the whole', section: 'RFC 9110 §14.1.2', input: { header: `bytes=-${HUGE}`, length: 1000 }, expected: ranges([0, 999]) },
  { name: 'huge first > huge last is invalid (exact comparison)', section: 'RFC 9110 §14.1.2', input: { header: `bytes=${HUGE}-99999999999999999998`, length: 1000 }, expected: NONE },
  { name: 'huge first <= huge last is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: `bytes=99999999999999999998-${HUGE}`, length: 1000 }, expected: UNSAT },
  { name: '2^53 - 2^53-1 is invalid', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=9007199254740992-9007199254740991', length: 1000 }, expected: NONE },
  { name: 'first-pos 2^53-1 is unsatisfiable', section: 'RFC 9110 §14.1.2', input: { header: 'bytes=9007199254740991-', length: 1000 }, expected: UNSAT },
  { name: 'overlapping ranges coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-10,5-20', length: 1000 }, expected: ranges([0, 20]) },
  { name: 'adjacent ranges coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-9,10-19', length: 1000 }, expected: ranges([0, 19]) },
  { name: 'a gap of one byte is kept', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-9,11-19', length: 1000 }, expected: ranges([0, 9], [11, 19]) },
  { name: 'a contained range coalesces', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-99,10-20', length: 1000 }, expected: ranges([0, 99]) },
  { name: 'duplicates coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=0-1,0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'a later range bridges two earlier ones', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=10-19,0-4,5-9', length: 1000 }, expected: ranges([0, 19]) },
  { name: 'a coalesced range takes its earliest member\'s place', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=50-59,0-9,5-14', length: 1000 }, expected: ranges([50, 59], [0, 14]) },
  { name: 'coalescing keeps unrelated ranges in order', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=500-600,0-10,550-700', length: 1000 }, expected: ranges([500, 700], [0, 10]) },
  { name: 'an open range and a suffix coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=900-,-200', length: 1000 }, expected: ranges([800, 999]) },
  { name: 'clamped ranges coalesce', section: 'RFC 9110 §15.3.7.2', input: { header: 'bytes=990-2000,995-', length: 1000 }, expected: ranges([990, 999]) },
  { name: '16 disjoint ranges are served', section: 'RFC 9110 §14.2', input: { header: disjoint(16), length: 1000 }, expected: ranges(...Array.from({ length: 16 }, (_, i): [number, number] => [2 * i, 2 * i])) },
  { name: '17 disjoint ranges: the whole is served (choice)', section: 'RFC 9110 §14.2', input: { header: disjoint(17), length: 1000 }, expected: NONE },
  { name: '17 adjacent ranges coalesce into one', section: 'RFC 9110 §14.2', input: { header: 'bytes=' + Array.from({ length: 17 }, (_, i) => `${i}-${i}`).join(','), length: 1000 }, expected: ranges([0, 16]) },
  { name: '100 overlapping ranges coalesce into one', section: 'RFC 9110 §14.2', input: { header: 'bytes=' + Array(100).fill('0-0').join(','), length: 1000 }, expected: ranges([0, 0]) },
  { name: 'more than 100 ranges: the whole is served (choice)', section: 'RFC 9110 §14.2', input: { header: 'bytes=' + Array(101).fill('0-0').join(','), length: 1000 }, expected: NONE },
  { name: 'empty elements count toward the bound of 100', section: 'RFC 9110 §5.6.1.2', input: { header: 'bytes=' + ','.repeat(100) + '0-1', length: 1000 }, expected: NONE },
  { name: '99 empty elements and one range are accepted', section: 'RFC 9110 §5.6.1.2', input: { header: 'bytes=' + ','.repeat(99) + '0-1', length: 1000 }, expected: ranges([0, 1]) },
  { name: 'unsatisfiable ranges count toward the bound of 100', section: 'RFC 9110 §14.2', input: { header: 'bytes=0-0,' + Array(100).fill('5000-').join(','), length: 1000 }, expected: NONE },
];

for (const c of rangeCases) {
  void test(`${c.section}: evaluateRange ${c.name}`, () => {
    assert.deepEqual(evaluateRange(c.input.header, c.input.length), c.expected);
  });
}

void test('RFC 9110 §14.2: evaluateRange rejects a length that is not a non-negative safe integer', () => {
  for (const length of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => evaluateRange('bytes=0-1', length), RangeError);
});

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';
const LM_RFC850 = 'Sunday, 06-Nov-94 08:49:37 GMT';
const LM_PLUS_1S = 'Sun, 06 Nov 1994 08:49:38 GMT';
const LM_PLUS_1H = 'Sun, 06 Nov 1994 09:49:37 GMT';
const LM_MINUS_1S = 'Sun, 06 Nov 1994 08:49:36 GMT';
const STORED: HeaderMap = { etag: '"v1"', 'last-modified': LM, date: LM_PLUS_1H };

interface IfRangeCase {
  name: string;
  section: string;
  input: { req: HeaderMap; stored: HeaderMap };
  expected: boolean;
}

const ifRangeCases: IfRangeCase[] = [
  { name: 'no If-Range', section: 'RFC 9110 §13.1.5', input: { req: {}, stored: STORED }, expected: true },
  { name: 'an empty list of If-Range lines is no If-Range', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': [] }, stored: STORED }, expected: true },
  { name: 'the same strong entity-tag', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': '"v1"' }, stored: STORED }, expected: true },
  { name: 'the same entity-tag with surrounding whitespace', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': ' "v1" ' }, stored: STORED }, expected: true },
  { name: 'a different entity-tag', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': '"v2"' }, stored: STORED }, expected: false },
  { name: 'a weak entity-tag never matches', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': 'W/"v1"' }, stored: STORED }, expected: false },
  { name: 'a weak stored ETag never matches', section: 'RFC 9110 §8.8.3.2', input: { req: { 'if-range': '"v1"' }, stored: { etag: 'W/"v1"' } }, expected: false },
  { name: 'an entity-tag when nothing is stored', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': '"v1"' }, stored: { 'last-modified': LM, date: LM_PLUS_1H } }, expected: false },
  { name: 'an unterminated entity-tag', section: 'RFC 9110 §8.8.3', input: { req: { 'if-range': '"v1' }, stored: STORED }, expected: false },
  { name: 'an entity-tag followed by junk', section: 'RFC 9110 §8.8.3', input: { req: { 'if-range': '"v1" x' }, stored: STORED }, expected: false },
  { name: 'a list of entity-tags is invalid', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': '"v1", "v2"' }, stored: STORED }, expected: false },
  { name: 'several If-Range lines are invalid', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': ['"v1"', '"v1"'] }, stored: STORED }, expected: false },
  { name: 'an empty If-Range is invalid', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': '' }, stored: STORED }, expected: false },
  { name: 'a malformed stored ETag never matches', section: 'RFC 9110 §8.8.3', input: { req: { 'if-range': '"v1"' }, stored: { etag: '"v1" junk' } }, expected: false },
  { name: 'the same date, Date an hour later (strong)', section: 'RFC 9110 §8.8.2.2', input: { req: { 'if-range': LM }, stored: STORED }, expected: true },
  { name: 'the same date, Date exactly one second later (strong)', section: 'RFC 9110 §8.8.2.2', input: { req: { 'if-range': LM }, stored: { 'last-modified': LM, date: LM_PLUS_1S } }, expected: true },
  { name: 'the same date, Date equal to Last-Modified (weak)', section: 'RFC 9110 §8.8.2.2', input: { req: { 'if-range': LM }, stored: { 'last-modified': LM, date: LM } }, expected: false },
  { name: 'the same date, Date before Last-Modified (weak)', section: 'RFC 9110 §8.8.2.2', input: { req: { 'if-range': LM }, stored: { 'last-modified': LM, date: LM_MINUS_1S } }, expected: false },
  { name: 'the same date, no stored Date (weak)', section: 'RFC 9110 §8.8.2.2', input: { req: { 'if-range': LM }, stored: { 'last-modified': LM } }, expected: false },
  { name: 'the same instant in the RFC 850 format (choice)', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': LM_RFC850 }, stored: STORED }, expected: true },
  { name: 'an earlier date', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': LM_MINUS_1S }, stored: STORED }, expected: false },
  { name: 'a later date', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': LM_PLUS_1S }, stored: STORED }, expected: false },
  { name: 'a date when no Last-Modified is stored', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': LM }, stored: { etag: '"v1"', date: LM_PLUS_1H } }, expected: false },
  { name: 'an invalid date', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': 'yesterday' }, stored: STORED }, expected: false },
  { name: 'an invalid stored Last-Modified', section: 'RFC 9110 §13.1.5', input: { req: { 'if-range': LM }, stored: { 'last-modified': 'yesterday', date: LM_PLUS_1H } }, expected: false },
];

for (const c of ifRangeCases) {
  void test(`${c.section}: ifRangeAllows ${c.name}`, () => {
    assert.equal(ifRangeAllows(c.input.req, c.input.stored), c.expected);
  });
}

interface ContentRangeCase {
  name: string;
  section: string;
  input: string | undefined;
  expected: { start: number; end: number; completeLength: number | undefined } | undefined;
}

const contentRangeCases: ContentRangeCase[] = [
  { name: 'bytes 0-99/1000', section: 'RFC 9110 §14.4', input: 'bytes 0-99/1000', expected: { start: 0, end: 99, completeLength: 1000 } },
  { name: 'the last byte', section: 'RFC 9110 §14.4', input: 'bytes 999-999/1000', expected: { start: 999, end: 999, completeLength: 1000 } },
  { name: 'unknown complete length', section: 'RFC 9110 §14.4', input: 'bytes 0-99/*', expected: { start: 0, end: 99, completeLength: undefined } },
  { name: 'unit in upper case', section: 'RFC 9110 §14.1', input: 'BYTES 0-0/1', expected: { start: 0, end: 0, completeLength: 1 } },
  { name: 'length 2^53-1', section: 'RFC 9110 §14.4', input: 'bytes 0-0/9007199254740991', expected: { start: 0, end: 0, completeLength: 9007199254740991 } },
  { name: 'unsatisfied-range */1000 is not a part', section: 'RFC 9110 §14.4', input: 'bytes */1000', expected: undefined },
  { name: 'last < first is invalid', section: 'RFC 9110 §14.4', input: 'bytes 5-1/1000', expected: undefined },
  { name: 'length equal to last-pos is invalid', section: 'RFC 9110 §14.4', input: 'bytes 0-1000/1000', expected: undefined },
  { name: 'length 0 is invalid', section: 'RFC 9110 §14.4', input: 'bytes 0-0/0', expected: undefined },
  { name: 'another unit', section: 'RFC 9110 §14.4', input: 'items 0-1/2', expected: undefined },
  { name: 'no complete length', section: 'RFC 9110 §14.4', input: 'bytes 0-99', expected: undefined },
  { name: 'two spaces after the unit', section: 'RFC 9110 §14.4', input: 'bytes  0-99/1000', expected: undefined },
  { name: '= instead of SP', section: 'RFC 9110 §14.4', input: 'bytes=0-99/1000', expected: undefined },
  { name: 'no last-pos', section: 'RFC 9110 §14.4', input: 'bytes 0-/1000', expected: undefined },
  { name: 'a suffix form', section: 'RFC 9110 §14.4', input: 'bytes -5/1000', expected: undefined },
  { name: 'a trailing slash', section: 'RFC 9110 §14.4', input: 'bytes 0-99/1000/', expected: undefined },
  { name: 'a negative length', section: 'RFC 9110 §14.4', input: 'bytes 0-99/-1', expected: undefined },
  { name: 'a space before the length', section: 'RFC 9110 §14.4', input: 'bytes 0-99/ 1000', expected: undefined },
  { name: 'letters', section: 'RFC 9110 §14.4', input: 'bytes a-b/c', expected: undefined },
  { name: 'a length beyond 2^53-1 (choice)', section: 'RFC 9110 §14.1.2', input: `bytes 0-99/${HUGE}`, expected: undefined },
  { name: 'positions beyond 2^53-1 (choice)', section: 'RFC 9110 §14.1.2', input: `bytes ${HUGE}-${HUGE}/*`, expected: undefined },
  { name: 'empty', section: 'RFC 9110 §14.4', input: '', expected: undefined },
  { name: 'absent', section: 'RFC 9110 §14.4', input: undefined, expected: undefined },
];

for (const c of contentRangeCases) {
  void test(`${c.section}: parseContentRange ${c.name}`, () => {
    assert.deepEqual(parseContentRange(c.input), c.expected);
  });
}

interface FormatCase {
  name: string;
  section: string;
  input: { range: ByteRange | undefined; length: number };
  expected: string;
}

const formatCases: FormatCase[] = [
  { name: 'a part', section: 'RFC 9110 §14.4', input: { range: { start: 0, end: 99 }, length: 1000 }, expected: 'bytes 0-99/1000' },
  { name: 'one byte', section: 'RFC 9110 §14.4', input: { range: { start: 7, end: 7 }, length: 8 }, expected: 'bytes 7-7/8' },
  { name: 'the unsatisfied form of a 416', section: 'RFC 9110 §15.5.17', input: { range: undefined, length: 1000 }, expected: 'bytes */1000' },
  { name: 'the unsatisfied form for an empty representation', section: 'RFC 9110 §15.5.17', input: { range: undefined, length: 0 }, expected: 'bytes */0' },
];

for (const c of formatCases) {
  void test(`${c.section}: Content-Range output ${c.name}`, () => {
    const { range, length } = c.input;
    const text = range === undefined ? unsatisfiedContentRange(length) : formatContentRange(range, length);
    assert.equal(text, c.expected);
    if (range !== undefined) assert.deepEqual(parseContentRange(text), { ...range, completeLength: length });
  });
}
