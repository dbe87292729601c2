// Cache-Control and CDN-Cache-Control parsing: RFC 9111 §5.2, §1.3, §4.2.1; RFC 9213 §2.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCacheControl, parseCdnCacheControl } from '../../../proxy/policy/index.js';
import type { CacheControl } from '../../../proxy/policy/index.js';
import type { HeaderValue } from '../../../proxy/types.js';

interface Case {
  name: string;
  section: string;
  input: HeaderValue | undefined;
  /** The fields to check; a key with value undefined must be absent. */
  expected: Partial<CacheControl>;
}

const DEFAULTS: CacheControl = {
  noStore: false,
  noCache: false,
  noCacheFields: [],
  private: false,
  privateFields: [],
  public: false,
  mustRevalidate: false,
  proxyRevalidate: false,
  mustUnderstand: false,
  immutable: false,
  noTransform: false,
  onlyIfCached: false,
  invalid: false,
};

const cacheControlCases: Case[] = [
  { name: 'absent field gives every flag false and no values', section: 'RFC 9111 §5.2', input: undefined, expected: { ...DEFAULTS, maxAge: undefined, sMaxAge: undefined } },
  { name: 'empty value gives the defaults', section: 'RFC 9111 §5.2', input: '', expected: { ...DEFAULTS } },
  { name: 'max-age', section: 'RFC 9111 §5.2.2.1', input: 'max-age=60', expected: { maxAge: 60, invalid: false } },
  { name: 's-maxage', section: 'RFC 9111 §5.2.2.10', input: 's-maxage=120', expected: { sMaxAge: 120 } },
  { name: 'directive names are case-insensitive', section: 'RFC 9111 §5.2', input: 'MAX-AGE=5, No-Store, PUBLIC', expected: { maxAge: 5, noStore: true, public: true } },
  { name: 'whitespace around = and commas is tolerated', section: 'RFC 9111 §5.2', input: ' max-age = 60 ,  public ,private', expected: { maxAge: 60, public: true, private: true } },
  { name: 'empty list members are ignored', section: 'RFC 9110 §5.6.1', input: ',, max-age=1 ,,, no-store,', expected: { maxAge: 1, noStore: true } },
  { name: 'quoted argument is accepted for max-age', section: 'RFC 9111 §5.2', input: 'max-age="30"', expected: { maxAge: 30, invalid: false } },
  { name: 'leading zeros are allowed', section: 'RFC 9111 §1.3', input: 'max-age=0007, s-maxage=000', expected: { maxAge: 7, sMaxAge: 0 } },
  { name: 'value beyond 2^31 clamps to 2147483648', section: 'RFC 9111 §1.3', input: 'max-age=99999999999999999999999', expected: { maxAge: 2147483648, invalid: false } },
  { name: '2^31 exactly is kept', section: 'RFC 9111 §1.3', input: 's-maxage=2147483648', expected: { sMaxAge: 2147483648 } },
  { name: '2^31 - 1 is kept', section: 'RFC 9111 §1.3', input: 'max-age=2147483647', expected: { maxAge: 2147483647 } },
  { name: 'negative max-age is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 'max-age=-1', expected: { maxAge: 0, invalid: true } },
  { name: 'decimal max-age is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 'max-age=1.5', expected: { maxAge: 0, invalid: true } },
  { name: 'empty max-age is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 'max-age=', expected: { maxAge: 0, invalid: true } },
  { name: 'max-age without argument is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 'max-age', expected: { maxAge: 0, invalid: true } },
  { name: 'junk max-age is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 'max-age=abc, public', expected: { maxAge: 0, invalid: true, public: true } },
  { name: 'max-age with trailing junk after a space is invalid', section: 'RFC 9111 §4.2.1', input: 'max-age=60 junk', expected: { maxAge: 0, invalid: true } },
  { name: 'junk s-maxage is invalid and reads as 0', section: 'RFC 9111 §4.2.1', input: 's-maxage=1e3', expected: { sMaxAge: 0, invalid: true } },
  { name: 'plus sign is invalid', section: 'RFC 9111 §1.3', input: 'max-age=+5', expected: { maxAge: 0, invalid: true } },
  { name: 'invalid max-age wins over a valid larger one', section: 'RFC 9111 §4.2.1', input: 'max-age=600, max-age=x', expected: { maxAge: 0, invalid: true } },
  { name: 'duplicate max-age on one line takes the smallest', section: 'RFC 9111 §4.2.1', input: 'max-age=60, max-age=30, max-age=90', expected: { maxAge: 30 } },
  { name: 'duplicate max-age over several lines takes the smallest', section: 'RFC 9111 §4.2.1', input: ['max-age=10', 'public, max-age=5'], expected: { maxAge: 5, public: true } },
  { name: 'duplicate s-maxage takes the smallest', section: 'RFC 9111 §4.2.1', input: ['s-maxage=100', 's-maxage=200'], expected: { sMaxAge: 100 } },
  { name: 'duplicate max-stale takes the smallest', section: 'RFC 9111 §4.2.1', input: 'max-stale=50, max-stale=20', expected: { maxStale: 20 } },
  { name: 'duplicate min-fresh takes the largest', section: 'RFC 9111 §4.2.1', input: 'min-fresh=5, min-fresh=50, min-fresh=10', expected: { minFresh: 50 } },
  { name: 'duplicate stale-while-revalidate takes the smallest', section: 'RFC 5861 §3', input: 'stale-while-revalidate=60, stale-while-revalidate=30', expected: { staleWhileRevalidate: 30 } },
  { name: 'duplicate stale-if-error takes the smallest', section: 'RFC 5861 §4', input: ['stale-if-error=600', 'stale-if-error=60'], expected: { staleIfError: 60 } },
  { name: 'bare max-stale is Infinity', section: 'RFC 9111 §5.2.1.2', input: 'max-stale', expected: { maxStale: Infinity } },
  { name: 'bare max-stale and a value take the value', section: 'RFC 9111 §4.2.1', input: 'max-stale, max-stale=30', expected: { maxStale: 30 } },
  { name: 'max-stale value', section: 'RFC 9111 §5.2.1.2', input: 'max-stale=15', expected: { maxStale: 15 } },
  { name: 'min-fresh value', section: 'RFC 9111 §5.2.1.3', input: 'min-fresh=20', expected: { minFresh: 20 } },
  { name: 'invalid min-fresh is ignored and flagged', section: 'RFC 9111 §5.2.1.3', input: 'min-fresh=soon', expected: { minFresh: undefined, invalid: true } },
  { name: 'invalid stale-while-revalidate is ignored and flagged', section: 'RFC 5861 §3', input: 'stale-while-revalidate=-3', expected: { staleWhileRevalidate: undefined, invalid: true } },
  { name: 'invalid max-stale value is ignored and flagged', section: 'RFC 9111 §5.2.1.2', input: 'max-stale=1.5', expected: { maxStale: undefined, invalid: true } },
  { name: 'stale-while-revalidate and stale-if-error', section: 'RFC 5861 §3', input: 'max-age=1, stale-while-revalidate=59, stale-if-error=86400', expected: { maxAge: 1, staleWhileRevalidate: 59, staleIfError: 86400 } },
  { name: 'every boolean directive', section: 'RFC 9111 §5.2.2', input: 'no-store, public, must-revalidate, proxy-revalidate, must-understand, immutable, no-transform, only-if-cached', expected: { noStore: true, public: true, mustRevalidate: true, proxyRevalidate: true, mustUnderstand: true, immutable: true, noTransform: true, onlyIfCached: true } },
  { name: 'bare no-cache leaves the field list empty', section: 'RFC 9111 §5.2.2.4', input: 'no-cache', expected: { noCache: true, noCacheFields: [] } },
  { name: 'qualified no-cache fills the lower-cased list', section: 'RFC 9111 §5.2.2.4', input: 'no-cache="Set-Cookie, X-Trace"', expected: { noCache: true, noCacheFields: ['set-cookie', 'x-trace'] } },
  { name: 'token-form no-cache argument is accepted', section: 'RFC 9111 §5.2', input: 'no-cache=Set-Cookie', expected: { noCache: true, noCacheFields: ['set-cookie'] } },
  { name: 'bare private leaves the field list empty', section: 'RFC 9111 §5.2.2.7', input: 'private', expected: { private: true, privateFields: [] } },
  { name: 'qualified private fills the lower-cased list', section: 'RFC 9111 §5.2.2.7', input: 'private="Authorization-Info,x-user"', expected: { private: true, privateFields: ['authorization-info', 'x-user'] } },
  { name: 'qualified private lists merge without duplicates', section: 'RFC 9111 §5.2.2.7', input: ['private="a, b"', 'private="B, c"'], expected: { private: true, privateFields: ['a', 'b', 'c'] } },
  { name: 'bare private wins over a qualified one', section: 'RFC 9111 §4.2.1', input: 'private="x", private', expected: { private: true, privateFields: [] } },
  { name: 'bare no-cache wins over a qualified one across lines', section: 'RFC 9111 §4.2.1', input: ['no-cache', 'no-cache="x"'], expected: { noCache: true, noCacheFields: [] } },
  { name: 'empty quoted no-cache list reads as bare', section: 'RFC 9111 §5.2.2.4', input: 'no-cache=""', expected: { noCache: true, noCacheFields: [] } },
  { name: 'unterminated quoted list reads as bare and is flagged', section: 'RFC 9111 §5.2', input: 'private="a, b', expected: { private: true, privateFields: [], invalid: true } },
  { name: 'a comma inside a quoted string does not split', section: 'RFC 9110 §5.6.4', input: 'no-cache="a,b", public', expected: { noCache: true, noCacheFields: ['a', 'b'], public: true } },
  { name: 'directive-looking text inside a quoted string is not a directive', section: 'RFC 9111 §5.2', input: 'private="max-age=100, no-store", s-maxage=5', expected: { private: true, noStore: false, maxAge: undefined, sMaxAge: 5 } },
  { name: 'escaped quote inside a quoted string stays inside it', section: 'RFC 9110 §5.6.4', input: 'x-ext="a\\", no-store", max-age=3', expected: { noStore: false, maxAge: 3 } },
  { name: 'quoted argument with escapes is unescaped', section: 'RFC 9110 §5.6.4', input: 'max-age="\\6\\0"', expected: { maxAge: 60 } },
  { name: 'unknown directives are ignored', section: 'RFC 9111 §5.2.3', input: 'community="UCI", x-foo=bar, max-age=9', expected: { maxAge: 9, invalid: false } },
  { name: 'a flag directive with an argument still counts', section: 'RFC 9111 §5.2', input: 'no-store=1', expected: { noStore: true } },
  { name: 'a directive name with a prefix is not that directive', section: 'RFC 9111 §5.2', input: 'xmax-age=5, max-agex=6', expected: { maxAge: undefined } },
  { name: 'an underscore is not a hyphen in a name', section: 'RFC 9111 §5.2', input: 'MAX_AGE=5, s_maxage=6', expected: { maxAge: undefined, sMaxAge: undefined } },
  { name: 'quoted and unquoted lines combine', section: 'RFC 9111 §5.2', input: ['no-cache="a"', 'max-age=5, MAX-AGE=4'], expected: { noCache: true, noCacheFields: ['a'], maxAge: 4 } },
  { name: 'many members are all read', section: 'RFC 9111 §5.2', input: 'x-a, '.repeat(4000) + 'max-age=8', expected: { maxAge: 8, invalid: false } },
  { name: 'many qualified field names are de-duplicated', section: 'RFC 9111 §5.2.2.7', input: 'private="' + 'a, B, '.repeat(2000) + '"', expected: { private: true, privateFields: ['a', 'b'] } },
  { name: 'several lines combine', section: 'RFC 9110 §5.3', input: ['public', 'max-age=60', 'immutable'], expected: { public: true, maxAge: 60, immutable: true } },
  { name: 'tab whitespace is OWS', section: 'RFC 9110 §5.6.3', input: 'max-age\t=\t12\t,\tno-transform', expected: { maxAge: 12, noTransform: true } },
];

for (const c of cacheControlCases) {
  void test(`${c.section}: Cache-Control ${c.name}`, () => {
    const actual = parseCacheControl(c.input);
    for (const key of Object.keys(c.expected) as Array<keyof CacheControl>) {
      assert.deepEqual(actual[key], c.expected[key], `${key}`);
    }
  });
}

interface CdnCase {
  name: string;
  section: string;
  input: HeaderValue | undefined;
  /** undefined: the field is ignored as a whole. */
  expected: Partial<CacheControl> | undefined;
}

const cdnCases: CdnCase[] = [
  { name: 'absent field is undefined', section: 'RFC 9213 §2.2', input: undefined, expected: undefined },
  { name: 'empty field is ignored', section: 'RFC 9213 §2.2', input: '', expected: undefined },
  { name: 'max-age as an Integer', section: 'RFC 9213 §2.1', input: 'max-age=600', expected: { maxAge: 600, invalid: false } },
  { name: 'booleans and integers together', section: 'RFC 9213 §2.1', input: 'public, s-maxage=60, must-revalidate', expected: { public: true, sMaxAge: 60, mustRevalidate: true } },
  { name: 'unknown directive alone still makes a valid field', section: 'RFC 9213 §3.1', input: 'none', expected: { ...DEFAULTS } },
  { name: 'upper-case key is not a Dictionary: ignored', section: 'RFC 9213 §2.1', input: 'Max-Age=60', expected: undefined },
  { name: 'trailing comma is a parse error: ignored', section: 'RFC 9213 §2.1', input: 'max-age=60,', expected: undefined },
  { name: 'trailing junk after an Integer is a parse error: ignored', section: 'RFC 9213 §2.1', input: 'max-age=60 junk', expected: undefined },
  { name: 'decimal max-age is not coerced: reads as 0', section: 'RFC 9213 §2.1', input: 'max-age=1.5', expected: { maxAge: 0, invalid: true } },
  { name: 'string max-age is the wrong type: reads as 0', section: 'RFC 9213 §2.1', input: 'max-age="60"', expected: { maxAge: 0, invalid: true } },
  { name: 'negative max-age reads as 0', section: 'RFC 9213 §2.1', input: 'max-age=-5', expected: { maxAge: 0, invalid: true } },
  { name: 'Integer beyond 2^31 clamps', section: 'RFC 9111 §1.3', input: 'max-age=999999999999999', expected: { maxAge: 2147483648 } },
  { name: 'Integer of 16 digits is a parse error', section: 'RFC 9213 §2.1', input: 'max-age=9999999999999999', expected: undefined },
  { name: 'parameters are ignored', section: 'RFC 9213 §2.1', input: 'max-age=60;foo=bar, no-store;x', expected: { maxAge: 60, noStore: true } },
  { name: 'Boolean false means the directive is absent', section: 'RFC 9213 §2.1', input: 'no-store=?0, public=?1', expected: { noStore: false, public: true } },
  { name: 'later duplicate key overwrites the earlier one', section: 'RFC 9213 §2.1', input: 'max-age=10, max-age=20', expected: { maxAge: 20 } },
  { name: 'several lines combine into one Dictionary', section: 'RFC 9213 §2.1', input: ['max-age=10', 'private'], expected: { maxAge: 10, private: true, privateFields: [] } },
  { name: 'private with a String of field names', section: 'RFC 9213 §2.1', input: 'private="Set-Cookie, x-a"', expected: { private: true, privateFields: ['set-cookie', 'x-a'] } },
  { name: 'no-cache with an Inner List of field names', section: 'RFC 9213 §2.1', input: 'no-cache=("set-cookie" x-b)', expected: { noCache: true, noCacheFields: ['set-cookie', 'x-b'] } },
  { name: 'no-cache with an Integer reads as bare', section: 'RFC 9213 §2.1', input: 'no-cache=3', expected: { noCache: true, noCacheFields: [] } },
  { name: 'stale-while-revalidate and stale-if-error', section: 'RFC 5861 §3', input: 'max-age=1, stale-while-revalidate=30, stale-if-error=60', expected: { staleWhileRevalidate: 30, staleIfError: 60 } },
  { name: 'unparseable string is ignored as a whole', section: 'RFC 9213 §2.1', input: 'max-age="60', expected: undefined },
];

for (const c of cdnCases) {
  void test(`${c.section}: CDN-Cache-Control ${c.name}`, () => {
    const actual = parseCdnCacheControl(c.input);
    if (c.expected === undefined) {
      assert.equal(actual, undefined);
      return;
    }
    assert.ok(actual !== undefined, 'expected a parsed field');
    for (const key of Object.keys(c.expected) as Array<keyof CacheControl>) {
      assert.deepEqual(actual[key], c.expected[key], `${key}`);
    }
  });
}

void test('RFC 9111 §5.2: each call returns a fresh object', () => {
  const a = parseCacheControl(undefined);
  a.noCacheFields.push('x');
  assert.deepEqual(parseCacheControl(undefined).noCacheFields, []);
});
