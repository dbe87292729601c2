// The one spelling of a request target (path and query) that the proxy keys, forwards and purges
// by, so that every spelling of a URL names one entry (RFC 3986 §6.2.2, syntax-based
// normalization; RFC 9110 §4.2.3 for http URIs):
//   - percent-encodings of unreserved characters are decoded (§6.2.2.2): %7E -> ~, %70 -> p;
//   - hex digits of the other percent-encodings are upper-cased (§6.2.2.1): %2f -> %2F;
//     reserved characters stay encoded (§2.2: %2F is not '/', %3F is not '?');
//   - characters a URI cannot hold (space, controls, " < > \ ^ ` { | }, non-ASCII: not pchar, §3.3)
//     are percent-encoded, as UTF-8 (§2.1, §2.5), as a URL parsed by the WHATWG parser spells most;
//   - dot segments are removed from the path (§5.2.4, §6.2.2.3), after decoding, so %2E%2E is one;
//   - a '?' with nothing after it is dropped. This one is the project's choice, not licensed by
//     RFC 3986 §6.2.3 or RFC 9110 §4.2.3: URL APIs (WHATWG `search`) spell '/p?' and '/p' alike,
//     so a purge could never name the one apart from the other.
// Kept as they are: '//' (an empty segment is a real segment, §3.3), ';params' (part of the
// segment they are in, §3.3: '/a;v=1' and '/a' are different resources, and '..;' is not a dot
// segment), invalid percent-encodings ('%zz' is left alone rather than guessed at), '#'.
// Pure: no I/O. The common target needs no change and is returned as it is, without allocating.

const QUESTION = 0x3f;
const PERCENT = 0x25;
const SLASH = 0x2f;
const DOT = 0x2e;
const HEX = '0123456789ABCDEF';

/** RFC 3986 §2.3: ALPHA DIGIT - . _ ~ */
const UNRESERVED = new Uint8Array(128);
/** Characters a target may hold as they are: unreserved, gen-delims and sub-delims (§2.2). */
const ALLOWED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1;
  if (UNRESERVED[c] === 1 || ":/?#[]@!$&'()*+,;=".includes(ch)) ALLOWED[c] = 1;
}

/** The canonical form of a path with its query (a target starting with '/'). */
export function canonicalTarget(target: string): string {
  if (isCanonical(target)) return target;
  const q = target.indexOf('?');
  const path = removeDotSegments(normalizeOctets(q < 0 ? target : target.slice(0, q)));
  if (q < 0) return path;
  const query = normalizeOctets(target.slice(q + 1));
  return query === '' ? path : `${path}?${query}`;
}

/**
 * The canonical form of a purge prefix: like canonicalTarget, but a prefix may end mid-segment or
 * mid-query, so its last path segment is not read as a dot segment ('/a/.' is the start of
 * '/a/.well-known', not '/a/') and a trailing '?' stays (it selects the URLs with a query).
 */
export function canonicalPrefix(prefix: string): string {
  const q = prefix.indexOf('?');
  if (q >= 0) return `${removeDotSegments(normalizeOctets(prefix.slice(0, q)))}?${normalizeOctets(prefix.slice(q + 1))}`;
  const lastSlash = prefix.lastIndexOf('/');
  return removeDotSegments(normalizeOctets(prefix.slice(0, lastSlash + 1))) + normalizeOctets(prefix.slice(lastSlash + 1));
}

/** True when canonicalTarget would return the target unchanged: no '%', no '/.', no trailing '?', only URI characters. */
function isCanonical(target: string): boolean {
  const n = target.length;
  if (n > 0 && target.charCodeAt(n - 1) === QUESTION) return false;
  for (let i = 0; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c >= 128 || ALLOWED[c] === 0) return false;
    if (c === DOT && i > 0 && target.charCodeAt(i - 1) === SLASH) return false;
  }
  return true;
}

/** §6.2.2.1 and §6.2.2.2 on every percent-encoding, and §2.1 on characters that must be encoded. */
function normalizeOctets(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === PERCENT) {
      const value = hexPair(text, i + 1);
      if (value < 0) continue; // not a percent-encoding: left as it is
      out += text.slice(copied, i) + (value < 128 && UNRESERVED[value] === 1 ? String.fromCharCode(value) : `%${HEX[value >> 4]}${HEX[value & 15]}`);
      i += 2;
      copied = i + 1;
    } else if (c >= 128 || ALLOWED[c] === 0) {
      const wide = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
      out += text.slice(copied, i) + encodeChar(wide ? text.slice(i, i + 2) : text[i] as string);
      if (wide) i++;
      copied = i + 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function encodeChar(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    return '%EF%BF%BD'; // a lone surrogate: U+FFFD, as the WHATWG URL parser spells it
  }
}

function hexPair(text: string, at: number): number {
  if (at + 1 >= text.length) return -1;
  const high = hexDigit(text.charCodeAt(at));
  const low = hexDigit(text.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 §5.2.4 on an absolute path: '.' segments go, '..' removes the segment before it. */
function removeDotSegments(path: string): string {
  if (!path.startsWith('/') || !path.includes('/.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i] as string;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      // A dot segment at the end leaves the path ending in '/' ('/a/b/..' is '/a/').
      if (i === last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}
