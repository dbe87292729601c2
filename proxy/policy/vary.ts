// Vary (RFC 9110 §12.5.5) and the secondary cache key of RFC 9111 §4.1: the normalized values
// of the selecting request fields, so that equivalent requests map to the same variant.
import { createHash } from 'node:crypto';
import type { HeaderMap } from '../types.js';
import { fieldLines, fieldList, forEachListMember, isOws } from './fields.js';

/** Beyond this many characters the key is replaced by its SHA-256 digest. */
export const MAX_SECONDARY_KEY_CHARS = 1024;

/**
 * Request fields whose list members' order carries no meaning once each member keeps its own
 * parameters (RFC 9110 §12.5): they are lower-cased and sorted (RFC 9111 §4.1).
 */
const ORDER_FREE_FIELDS: ReadonlySet<string> = new Set(['accept', 'accept-charset', 'accept-encoding', 'accept-language']);

/**
 * RFC 9111 §4.1: the field names listed in Vary, lower case, de-duplicated and sorted; '*' when
 * any member is "*" (in any list spelling, over any number of lines).
 */
export function varyFieldNames(h: HeaderMap): string[] | '*' {
  if (h['vary'] === undefined) return [];
  const names = new Set<string>();
  for (const member of fieldList(h, 'vary')) {
    // RFC 9111 §4.1: a Vary member "*" always fails to match.
    if (member === '*') return '*';
    names.add(member.toLowerCase());
  }
  return [...names].sort();
}

/** "a , b" and "a,b" alike: OWS around commas removed, ends trimmed (RFC 9111 §4.1). */
function collapseAroundCommas(line: string): string {
  if (line.indexOf(',') < 0) return trimOws(line); // the common case: a single value
  let out = '';
  let first = true;
  // Splitting on commas outside quotes and re-joining with "," removes the OWS around them.
  forEachListMemberKeepEmpty(line, (member) => {
    out += first ? member : ',' + member;
    first = false;
  });
  return out;
}

function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Like forEachListMember, but keeps empty members so that a value's commas are preserved. */
function forEachListMemberKeepEmpty(line: string, onMember: (member: string) => void): void {
  const len = line.length;
  let start = 0;
  let inQuote = false;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? line.charCodeAt(i) : 0x2c;
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
      continue;
    }
    if (c === 0x22) inQuote = true;
    else if (c === 0x2c) {
      let s = start;
      let e = i;
      while (s < e && isOws(line.charCodeAt(s))) s++;
      while (e > s && isOws(line.charCodeAt(e - 1))) e--;
      onMember(line.slice(s, e));
      start = i + 1;
    }
  }
  if (inQuote && start <= len) {
    // An unterminated quoted string: keep the rest as it is, trimmed.
    onMember(line.slice(start).trim());
  }
}

/** One member of an Accept-like field: lower case, no OWS around ";" and "=". */
function normalizeParameterized(member: string): string {
  let out = '';
  let pendingSpace = false;
  for (let i = 0; i < member.length; i++) {
    const ch = member[i] as string;
    if (ch === ' ' || ch === '\t') {
      pendingSpace = true;
      continue;
    }
    if (ch === ';' || ch === '=') {
      out += ch;
      pendingSpace = false;
      // Skip OWS after the separator.
      while (i + 1 < member.length && isOws(member.charCodeAt(i + 1))) i++;
      continue;
    }
    if (pendingSpace && out.length > 0 && !out.endsWith(';') && !out.endsWith('=')) out += ' ';
    pendingSpace = false;
    out += ch;
  }
  return out.toLowerCase();
}

/** The normalized value of one selecting field that is present. */
function normalizedValue(name: string, lines: readonly string[]): string {
  if (ORDER_FREE_FIELDS.has(name)) {
    // RFC 9111 §4.1: reordering members whose order is not significant; case-normalization.
    const members: string[] = [];
    for (const line of lines) {
      forEachListMember(line, (l, start, end) => members.push(normalizeParameterized(l.slice(start, end))));
    }
    return members.sort().join(',');
  }
  // RFC 9111 §4.1: combining field lines and removing whitespace where the syntax allows it.
  let out = '';
  for (const line of lines) {
    const collapsed = collapseAroundCommas(line);
    if (collapsed.length === 0) continue; // an empty line adds no member
    out = out.length === 0 ? collapsed : out + ',' + collapsed;
  }
  return out;
}

/**
 * RFC 9111 §4.1: a deterministic key of the request's selecting fields named in `names`.
 * One entry per name, "name:value" when present and "name" alone when absent (an absent field
 * only matches an absent one), separated by newlines (which no field value contains). A key
 * longer than MAX_SECONDARY_KEY_CHARS is replaced by "@sha256:" and its hex digest.
 */
export function secondaryKey(names: readonly string[], reqHeaders: HeaderMap): string {
  let key = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const lines = fieldLines(reqHeaders, name);
    const entry = lines.length === 0 ? name : name + ':' + normalizedValue(name, lines);
    key = i === 0 ? entry : key + '\n' + entry;
  }
  if (key.length > MAX_SECONDARY_KEY_CHARS) return '@sha256:' + createHash('sha256').update(key).digest('hex');
  return key;
}
