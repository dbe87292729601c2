// Field lines, lists and delta-seconds: RFC 9110 §5.3, §5.6.1, §5.6.4; RFC 9111 §1.3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldLines, fieldList, parseDeltaSeconds, singleField, unquote } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface FieldCase {
  name: string;
  section: string;
  headers: HeaderMap;
  field: string;
  lines: string[];
  list: string[];
  single: string | undefined;
}

const fieldCases: FieldCase[] = [
  { name: 'absent field', section: 'RFC 9110 §5.3', headers: {}, field: 'x', lines: [], list: [], single: undefined },
  { name: 'undefined value is absent', section: 'RFC 9110 §5.3', headers: { x: undefined }, field: 'x', lines: [], list: [], single: undefined },
  { name: 'empty array is absent', section: 'RFC 9110 §5.3', headers: { x: [] }, field: 'x', lines: [], list: [], single: undefined },
  { name: 'one string line', section: 'RFC 9110 §5.3', headers: { x: 'a, b' }, field: 'x', lines: ['a, b'], list: ['a', 'b'], single: 'a, b' },
  { name: 'one-element array is a single line', section: 'RFC 9110 §5.3', headers: { x: ['a'] }, field: 'x', lines: ['a'], list: ['a'], single: 'a' },
  { name: 'several lines combine into one list', section: 'RFC 9110 §5.3', headers: { x: ['a, b', 'c'] }, field: 'x', lines: ['a, b', 'c'], list: ['a', 'b', 'c'], single: undefined },
  { name: 'members are trimmed of OWS', section: 'RFC 9110 §5.6.1', headers: { x: ' a ,\tb\t, c ' }, field: 'x', lines: [' a ,\tb\t, c '], list: ['a', 'b', 'c'], single: ' a ,\tb\t, c ' },
  { name: 'empty members are dropped', section: 'RFC 9110 §5.6.1', headers: { x: ', a,, ,b,' }, field: 'x', lines: [', a,, ,b,'], list: ['a', 'b'], single: ', a,, ,b,' },
  { name: 'a comma inside a quoted string does not split', section: 'RFC 9110 §5.6.4', headers: { x: '"a, b", c' }, field: 'x', lines: ['"a, b", c'], list: ['"a, b"', 'c'], single: '"a, b", c' },
  { name: 'an escaped quote does not close the string', section: 'RFC 9110 §5.6.4', headers: { x: '"a\\", b", c' }, field: 'x', lines: ['"a\\", b", c'], list: ['"a\\", b"', 'c'], single: '"a\\", b", c' },
  { name: 'quoted strings inside members (entity-tags)', section: 'RFC 9110 §8.8.3', headers: { x: 'W/"1,2", "3"' }, field: 'x', lines: ['W/"1,2", "3"'], list: ['W/"1,2"', '"3"'], single: 'W/"1,2", "3"' },
  { name: 'an unterminated quote runs to the end of the line', section: 'RFC 9110 §5.6.4', headers: { x: ['"a, b', 'c'] }, field: 'x', lines: ['"a, b', 'c'], list: ['"a, b', 'c'], single: undefined },
  { name: 'a list with only commas is empty', section: 'RFC 9110 §5.6.1', headers: { x: ' , ,' }, field: 'x', lines: [' , ,'], list: [], single: ' , ,' },
];

for (const c of fieldCases) {
  void test(`${c.section}: fields ${c.name}`, () => {
    assert.deepEqual(fieldLines(c.headers, c.field), c.lines);
    assert.deepEqual(fieldList(c.headers, c.field), c.list);
    assert.equal(singleField(c.headers, c.field), c.single);
  });
}

interface DeltaCase {
  name: string;
  section: string;
  input: string;
  expected: number | undefined;
}

const deltaCases: DeltaCase[] = [
  { name: 'digits', section: 'RFC 9111 §1.3', input: '60', expected: 60 },
  { name: 'zero', section: 'RFC 9111 §1.3', input: '0', expected: 0 },
  { name: 'leading zeros', section: 'RFC 9111 §1.3', input: '000120', expected: 120 },
  { name: '2^31 - 1', section: 'RFC 9111 §1.3', input: '2147483647', expected: 2147483647 },
  { name: '2^31 + 1 clamps', section: 'RFC 9111 §1.3', input: '2147483649', expected: 2147483648 },
  { name: 'a very long number clamps', section: 'RFC 9111 §1.3', input: '9'.repeat(400), expected: 2147483648 },
  { name: 'empty', section: 'RFC 9111 §1.3', input: '', expected: undefined },
  { name: 'negative', section: 'RFC 9111 §1.3', input: '-1', expected: undefined },
  { name: 'decimal', section: 'RFC 9111 §1.3', input: '1.0', expected: undefined },
  { name: 'whitespace', section: 'RFC 9111 §1.3', input: ' 1', expected: undefined },
  { name: 'long junk after digits', section: 'RFC 9111 §1.3', input: '99999999999x', expected: undefined },
];

for (const c of deltaCases) {
  void test(`${c.section}: parseDeltaSeconds ${c.name}`, () => {
    assert.equal(parseDeltaSeconds(c.input), c.expected);
  });
}

interface UnquoteCase {
  name: string;
  section: string;
  input: string;
  expected: string | undefined;
}

const unquoteCases: UnquoteCase[] = [
  { name: 'plain quoted string', section: 'RFC 9110 §5.6.4', input: '"abc"', expected: 'abc' },
  { name: 'empty quoted string', section: 'RFC 9110 §5.6.4', input: '""', expected: '' },
  { name: 'quoted-pairs are unescaped', section: 'RFC 9110 §5.6.4', input: '"a\\"b\\\\c"', expected: 'a"b\\c' },
  { name: 'no closing quote', section: 'RFC 9110 §5.6.4', input: '"abc', expected: undefined },
  { name: 'escaped closing quote', section: 'RFC 9110 §5.6.4', input: '"abc\\"', expected: undefined },
  { name: 'junk after the closing quote', section: 'RFC 9110 §5.6.4', input: '"a"b"', expected: undefined },
  { name: 'not quoted', section: 'RFC 9110 §5.6.4', input: 'abc', expected: undefined },
];

for (const c of unquoteCases) {
  void test(`${c.section}: unquote ${c.name}`, () => {
    assert.equal(unquote(c.input, 0, c.input.length), c.expected);
  });
}
