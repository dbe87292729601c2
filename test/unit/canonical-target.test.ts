// The one spelling of a request target: each row names the rule (RFC 3986 section) it checks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPrefix, canonicalTarget } from '../../proxy/server/canonical-target.js';
import { pathOfUrl, prefixPathOf } from '../../proxy/server/purge.js';

const targets: Array<{ rule: string; given: string; canonical: string }> = [
  // Unchanged: the common target is returned as it is.
  { rule: 'already canonical', given: '/a/b.css?v=1&x=%2F', canonical: '/a/b.css?v=1&x=%2F' },
  { rule: 'already canonical: root', given: '/', canonical: '/' },
  // §6.2.2.2: percent-encoded unreserved characters are decoded.
  { rule: '§6.2.2.2 ALPHA', given: '/%70', canonical: '/p' },
  { rule: '§6.2.2.2 DIGIT, lower-case hex', given: '/a%31%32', canonical: '/a12' },
  { rule: "§6.2.2.2 '-' '.' '_' '~'", given: '/%2D%2e%5F%7e', canonical: '/-._~' },
  { rule: '§6.2.2.2 in the query too', given: '/p?%61=%62', canonical: '/p?a=b' },
  // §6.2.2.1: the hex digits of the other percent-encodings are upper-cased; §2.2: reserved stay encoded.
  { rule: "§6.2.2.1 + §2.2 '%2f' is '%2F', never '/'", given: '/a%2fb', canonical: '/a%2Fb' },
  { rule: "§6.2.2.1 + §2.2 '%3f' stays encoded, no query", given: '/a%3fb', canonical: '/a%3Fb' },
  { rule: "§6.2.2.1 '%25' stays", given: '/100%25', canonical: '/100%25' },
  { rule: '§6.2.2.1 a non-ASCII octet', given: '/caf%c3%a9', canonical: '/caf%C3%A9' },
  { rule: '§6.2.2.1 in the query', given: '/p?x=%2f%3d', canonical: '/p?x=%2F%3D' },
  // Invalid percent-encodings are left alone.
  { rule: 'not a percent-encoding: %zz', given: '/a%zz', canonical: '/a%zz' },
  { rule: 'not a percent-encoding: a trailing %', given: '/a%', canonical: '/a%' },
  { rule: 'not a percent-encoding: a trailing %4', given: '/a%4', canonical: '/a%4' },
  // §2.1 / §3.3: characters a URI cannot hold are percent-encoded (UTF-8, §2.5).
  { rule: '§3.3 a double quote is not pchar', given: '/a"b', canonical: '/a%22b' },
  { rule: '§3.3 < > { } | \\ ^ `', given: '/<>{}|\\^`', canonical: '/%3C%3E%7B%7D%7C%5C%5E%60' },
  { rule: '§2.5 non-ASCII as UTF-8', given: '/café', canonical: '/caf%C3%A9' },
  { rule: '§2.5 a character outside the BMP', given: '/😀', canonical: '/%F0%9F%98%80' },
  { rule: '§2.2 sub-delims and gen-delims stay', given: "/a:b@c!$&'()*+,;=?q=/?:@", canonical: "/a:b@c!$&'()*+,;=?q=/?:@" },
  // §5.2.4 / §6.2.2.3: dot segments are removed from the path.
  { rule: "§5.2.4 '.' segment", given: '/./p', canonical: '/p' },
  { rule: "§5.2.4 '..' segment", given: '/x/../p', canonical: '/p' },
  { rule: '§5.2.4 RFC example', given: '/a/b/c/./../../g', canonical: '/a/g' },
  { rule: "§5.2.4 '..' above the root", given: '/../../p', canonical: '/p' },
  { rule: "§5.2.4 trailing '..' leaves a '/'", given: '/a/b/..', canonical: '/a/' },
  { rule: "§5.2.4 trailing '.' leaves a '/'", given: '/a/.', canonical: '/a/' },
  { rule: "§5.2.4 '/..' is '/'", given: '/..', canonical: '/' },
  { rule: "§5.2.4 only the path: '/./' in the query stays", given: '/p?next=/./x/../y', canonical: '/p?next=/./x/../y' },
  { rule: "§5.2.4 + §6.2.2.2 '%2E%2E' is a dot segment once decoded", given: '/a/%2E%2e/p', canonical: '/p' },
  { rule: "§5.2.4 '.well-known' is no dot segment", given: '/.well-known/x', canonical: '/.well-known/x' },
  { rule: "§5.2.4 '...' is no dot segment", given: '/a/.../b', canonical: '/a/.../b' },
  // §3.3: '//' is an empty segment, kept; '..' removes an empty segment like any other.
  { rule: "§3.3 '//' is kept", given: '//a//b', canonical: '//a//b' },
  { rule: "§3.3 + §5.2.4 '..' after an empty segment", given: '/a//../b', canonical: '/a/b' },
  // §3.3: ';params' are part of their segment, unchanged; '..;' is not a dot segment.
  { rule: "§3.3 ';params' stay in the segment", given: '/a;v=1/b;x', canonical: '/a;v=1/b;x' },
  { rule: "§3.3 '..;' is not a dot segment", given: '/a/..;/p', canonical: '/a/..;/p' },
  { rule: "§3.3 + §5.2.4 '..' after a segment with params", given: '/a;v=1/../p', canonical: '/p' },
  // The project's choice: a '?' with nothing after it is dropped (RFC 3986 §6.2.3 does not license it).
  { rule: "empty query '?' dropped", given: '/p?', canonical: '/p' },
  { rule: "empty query after dot segments", given: '/x/../p?', canonical: '/p' },
  { rule: "a query of '?' is not empty", given: '/p??', canonical: '/p??' },
  { rule: "a query ending in '?' is kept", given: '/p?a=1?', canonical: '/p?a=1?' },
  { rule: "a query of '&' is kept", given: '/p?&', canonical: '/p?&' },
];

describe('canonicalTarget', () => {
  for (const row of targets) {
    test(`${row.rule}: ${row.given} -> ${row.canonical}`, () => {
      assert.equal(canonicalTarget(row.given), row.canonical);
    });
  }

  test('is idempotent: the canonical form of every row is its own canonical form', () => {
    for (const row of targets) assert.equal(canonicalTarget(row.canonical), row.canonical, row.given);
  });

  test('returns the very string it was given when nothing changes (the hit path allocates nothing)', () => {
    const given = `/assets/${'a'.repeat(40)}.js?v=3`;
    assert.equal(Object.is(canonicalTarget(given), given), true);
  });
});

const prefixes: Array<{ rule: string; given: string; canonical: string }> = [
  { rule: 'already canonical', given: '/a/', canonical: '/a/' },
  { rule: '§6.2.2.2 decoded in the last segment too', given: '/a/%62', canonical: '/a/b' },
  { rule: '§5.2.4 on complete segments', given: '/x/../a/b', canonical: '/a/b' },
  { rule: "a last segment '.' is the start of '.well-known', not a dot segment", given: '/a/.', canonical: '/a/.' },
  { rule: "a last segment '..' likewise", given: '/a/..', canonical: '/a/..' },
  { rule: "a trailing '?' stays: URLs with a query", given: '/p?', canonical: '/p?' },
  { rule: '§5.2.4 and §6.2.2.1 before a query', given: '/x/../p?q=%2f', canonical: '/p?q=%2F' },
  { rule: 'a partial percent-encoding at the end stays', given: '/a%2', canonical: '/a%2' },
];

describe('canonicalPrefix', () => {
  for (const row of prefixes) {
    test(`${row.rule}: ${row.given} -> ${row.canonical}`, () => {
      assert.equal(canonicalPrefix(row.given), row.canonical);
    });
  }
});

describe('purge targets read from URLs', () => {
  const rows: Array<{ given: string; url: string | undefined; prefix: string | undefined }> = [
    { given: 'http://site.example/x/../%70?', url: '/p', prefix: '/p?' },
    { given: 'http://site.example/a/.', url: '/a/', prefix: '/a/.' },
    { given: 'http://site.example', url: '/', prefix: '/' },
    { given: 'http://site.example?x=1', url: '/?x=1', prefix: '/?x=1' },
    { given: 'http://user@site.example:8080//a//b#frag', url: '//a//b', prefix: '//a//b' },
    { given: '//a//b', url: '//a//b', prefix: '//a//b' },
    { given: 'not a url', url: undefined, prefix: undefined },
  ];
  for (const row of rows) {
    test(`${row.given}: URL ${String(row.url)}, prefix ${String(row.prefix)}`, () => {
      assert.equal(pathOfUrl(row.given), row.url);
      assert.equal(prefixPathOf(row.given), row.prefix);
    });
  }
});
