// Structured Field Values as needed here: RFC 9651 (RFC 8941) §3, §4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSfToken, parseSfDictionary, parseSfList, serializeSfString } from '../../../proxy/policy/index.js';
import type { SfMember } from '../../../proxy/policy/index.js';

/** A compact, comparable view of members: key → kind:value. */
function view(member: SfMember): string {
  if (member.kind === 'inner-list') return '(' + member.items.map((i) => `${i.item.kind}:${String(i.item.value)}`).join(' ') + ')';
  const params = [...member.params].map(([k, v]) => `;${k}=${v.kind}:${String(v.value)}`).join('');
  return `${member.item.kind}:${String(member.item.value)}${params}`;
}

interface DictCase {
  name: string;
  section: string;
  input: string;
  expected: Record<string, string> | undefined;
}

const dictCases: DictCase[] = [
  { name: 'bare keys are Boolean true', section: 'RFC 9651 §3.2', input: 'a, b', expected: { a: 'boolean:true', b: 'boolean:true' } },
  { name: 'Integer, Decimal, String, Token', section: 'RFC 9651 §3.3', input: 'i=42, d=1.5, s="x y", t=abc/d:e', expected: { i: 'integer:42', d: 'decimal:1.5', s: 'string:x y', t: 'token:abc/d:e' } },
  { name: 'negative Integer', section: 'RFC 9651 §3.3.1', input: 'n=-7', expected: { n: 'integer:-7' } },
  { name: 'Booleans', section: 'RFC 9651 §3.3.6', input: 'y=?1, n=?0', expected: { y: 'boolean:true', n: 'boolean:false' } },
  { name: 'Byte Sequence', section: 'RFC 9651 §3.3.5', input: 'b=:aGk=:', expected: { b: 'bytes:aGk=' } },
  { name: 'Date', section: 'RFC 9651 §3.3.7', input: 'd=@1659578233', expected: { d: 'date:1659578233' } },
  { name: 'Display String', section: 'RFC 9651 §3.3.8', input: 'd=%"caf%c3%a9"', expected: { d: 'display-string:café' } },
  { name: 'parameters', section: 'RFC 9651 §3.1.2', input: 'a=1;p=2;q', expected: { a: 'integer:1;p=integer:2;q=boolean:true' } },
  { name: 'Inner List', section: 'RFC 9651 §3.1.1', input: 'l=(a "b" 3)', expected: { l: '(token:a string:b integer:3)' } },
  { name: 'OWS around commas', section: 'RFC 9651 §4.2.2', input: 'a=1 ,\tb=2', expected: { a: 'integer:1', b: 'integer:2' } },
  { name: 'a later duplicate wins', section: 'RFC 9651 §4.2.2', input: 'a=1, a=2', expected: { a: 'integer:2' } },
  { name: 'empty input is an empty Dictionary', section: 'RFC 9651 §4.2', input: '', expected: {} },
  { name: 'upper-case key', section: 'RFC 9651 §3.2', input: 'A=1', expected: undefined },
  { name: 'trailing comma', section: 'RFC 9651 §4.2.2', input: 'a=1,', expected: undefined },
  { name: 'junk after a member', section: 'RFC 9651 §4.2.2', input: 'a=1 b', expected: undefined },
  { name: '16-digit Integer', section: 'RFC 9651 §3.3.1', input: 'a=1234567890123456', expected: undefined },
  { name: 'Decimal with 4 fraction digits', section: 'RFC 9651 §3.3.2', input: 'a=1.2345', expected: undefined },
  { name: 'Decimal ending with a dot', section: 'RFC 9651 §3.3.2', input: 'a=1.', expected: undefined },
  { name: 'unterminated String', section: 'RFC 9651 §3.3.3', input: 'a="x', expected: undefined },
  { name: 'String with a bad escape', section: 'RFC 9651 §3.3.3', input: 'a="\\x"', expected: undefined },
  { name: 'bad Boolean', section: 'RFC 9651 §3.3.6', input: 'a=?2', expected: undefined },
  { name: 'leading tab', section: 'RFC 9651 §4.2', input: '\ta=1', expected: undefined },
];

for (const c of dictCases) {
  void test(`${c.section}: parseSfDictionary ${c.name}`, () => {
    const dict = parseSfDictionary(c.input);
    if (c.expected === undefined) {
      assert.equal(dict, undefined);
      return;
    }
    assert.ok(dict !== undefined, 'expected a Dictionary');
    assert.deepEqual(Object.fromEntries([...dict].map(([k, m]) => [k, view(m)])), c.expected);
  });
}

interface ListCase {
  name: string;
  section: string;
  input: string;
  expected: string[] | undefined;
}

const listCases: ListCase[] = [
  { name: 'tokens and strings with parameters', section: 'RFC 9651 §3.1', input: 'a;x=1, "b"', expected: ['token:a;x=integer:1', 'string:b'] },
  { name: 'empty', section: 'RFC 9651 §3.1', input: '', expected: [] },
  { name: 'a lone comma', section: 'RFC 9651 §4.2.1', input: ',', expected: undefined },
];

for (const c of listCases) {
  void test(`${c.section}: parseSfList ${c.name}`, () => {
    const list = parseSfList(c.input);
    assert.deepEqual(list === undefined ? undefined : list.map(view), c.expected);
  });
}

const tokenCases: Array<{ name: string; section: string; input: string; expected: boolean }> = [
  { name: 'a word', section: 'RFC 9651 §3.3.4', input: 'no-store', expected: true },
  { name: 'with ":" and "/"', section: 'RFC 9651 §3.3.4', input: 'a:b/c', expected: true },
  { name: 'starting with "*"', section: 'RFC 9651 §3.3.4', input: '*x', expected: true },
  { name: 'starting with a digit', section: 'RFC 9651 §3.3.4', input: '5xx', expected: false },
  { name: 'with a space', section: 'RFC 9651 §3.3.4', input: 'a b', expected: false },
  { name: 'empty', section: 'RFC 9651 §3.3.4', input: '', expected: false },
];

for (const c of tokenCases) {
  void test(`${c.section}: isSfToken ${c.name}`, () => {
    assert.equal(isSfToken(c.input), c.expected);
  });
}

void test('RFC 9651 §4.1.6: serializeSfString escapes quotes and backslashes', () => {
  assert.equal(serializeSfString('a"b\\c'), '"a\\"b\\\\c"');
});
