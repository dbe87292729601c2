// Cache-Control (RFC 9111 §5.2) and CDN-Cache-Control (RFC 9213) parsing into one shape.
// Duplicated or invalid directives resolve to the most restrictive reading (RFC 9111 §4.2.1).
import type { HeaderValue } from '../types.js';
import { forEachListMember, isOws, isToken, parseDeltaSeconds, unquote } from './fields.js';
import { parseSfDictionary } from './structured-fields.js';
import type { SfMember } from './structured-fields.js';

export interface CacheControl {
  maxAge?: number;
  sMaxAge?: number;
  /** Infinity when the directive has no value (RFC 9111 §5.2.1.2). */
  maxStale?: number;
  minFresh?: number;
  staleWhileRevalidate?: number;
  staleIfError?: number;
  noStore: boolean;
  noCache: boolean;
  /** Lower-case field names of a qualified no-cache; empty for the bare form. */
  noCacheFields: string[];
  private: boolean;
  /** Lower-case field names of a qualified private; empty for the bare form. */
  privateFields: string[];
  public: boolean;
  mustRevalidate: boolean;
  proxyRevalidate: boolean;
  mustUnderstand: boolean;
  immutable: boolean;
  noTransform: boolean;
  onlyIfCached: boolean;
  /** Some directive had an argument that could not be parsed. */
  invalid: boolean;
}

type DeltaKey = 'maxAge' | 'sMaxAge' | 'maxStale' | 'minFresh' | 'staleWhileRevalidate' | 'staleIfError';
type FlagKey =
  | 'noStore'
  | 'public'
  | 'mustRevalidate'
  | 'proxyRevalidate'
  | 'mustUnderstand'
  | 'immutable'
  | 'noTransform'
  | 'onlyIfCached';
type ListKey = 'noCache' | 'private';

type Directive = { type: 'delta'; key: DeltaKey } | { type: 'flag'; key: FlagKey } | { type: 'list'; key: ListKey };

const DIRECTIVES: ReadonlyMap<string, Directive> = new Map<string, Directive>([
  ['max-age', { type: 'delta', key: 'maxAge' }], // RFC 9111 §5.2.1.1, §5.2.2.1
  ['s-maxage', { type: 'delta', key: 'sMaxAge' }], // RFC 9111 §5.2.2.10
  ['max-stale', { type: 'delta', key: 'maxStale' }], // RFC 9111 §5.2.1.2
  ['min-fresh', { type: 'delta', key: 'minFresh' }], // RFC 9111 §5.2.1.3
  ['stale-while-revalidate', { type: 'delta', key: 'staleWhileRevalidate' }], // RFC 5861 §3
  ['stale-if-error', { type: 'delta', key: 'staleIfError' }], // RFC 5861 §4
  ['no-store', { type: 'flag', key: 'noStore' }], // RFC 9111 §5.2.1.5, §5.2.2.5
  ['public', { type: 'flag', key: 'public' }], // RFC 9111 §5.2.2.9
  ['must-revalidate', { type: 'flag', key: 'mustRevalidate' }], // RFC 9111 §5.2.2.2
  ['proxy-revalidate', { type: 'flag', key: 'proxyRevalidate' }], // RFC 9111 §5.2.2.8
  ['must-understand', { type: 'flag', key: 'mustUnderstand' }], // RFC 9111 §5.2.2.3
  ['immutable', { type: 'flag', key: 'immutable' }], // RFC 8246 §2
  ['no-transform', { type: 'flag', key: 'noTransform' }], // RFC 9111 §5.2.1.6, §5.2.2.6
  ['only-if-cached', { type: 'flag', key: 'onlyIfCached' }], // RFC 9111 §5.2.1.7
  ['no-cache', { type: 'list', key: 'noCache' }], // RFC 9111 §5.2.1.4, §5.2.2.4
  ['private', { type: 'list', key: 'private' }], // RFC 9111 §5.2.2.7
]);

/** DIRECTIVES bucketed by name length, for a lookup without allocating a lower-cased copy. */
const DIRECTIVES_BY_LENGTH: Array<Array<[string, Directive]>> = [];
for (const [name, directive] of DIRECTIVES) (DIRECTIVES_BY_LENGTH[name.length] ??= []).push([name, directive]);

/**
 * The directive named by text[start, end), compared case-insensitively (RFC 9111 §5.2). Names
 * hold only a-z and "-": OR-ing 0x20 folds A-Z to a-z and leaves "-" as it is.
 */
function directiveAt(text: string, start: number, end: number): Directive | undefined {
  const bucket = DIRECTIVES_BY_LENGTH[end - start];
  if (bucket === undefined) return undefined;
  for (let k = 0; k < bucket.length; k++) {
    const entry = bucket[k] as [string, Directive];
    const name = entry[0];
    let i = 0;
    while (i < name.length && (text.charCodeAt(start + i) | 0x20) === name.charCodeAt(i)) i++;
    if (i === name.length) return entry[1];
  }
  return undefined;
}

/** Parse state: the result plus whether a bare no-cache / private was seen. */
interface Acc {
  cc: CacheControl;
  noCacheBare: boolean;
  privateBare: boolean;
}

function emptyCacheControl(): CacheControl {
  // Every property present from the start: one object shape for all results.
  return {
    maxAge: undefined,
    sMaxAge: undefined,
    maxStale: undefined,
    minFresh: undefined,
    staleWhileRevalidate: undefined,
    staleIfError: undefined,
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
}

/** Keeps the most restrictive of several values (RFC 9111 §4.2.1): the largest min-fresh, else the smallest. */
function applyDelta(cc: CacheControl, key: DeltaKey, seconds: number): void {
  const known = cc[key];
  cc[key] = known === undefined ? seconds : key === 'minFresh' ? Math.max(known, seconds) : Math.min(known, seconds);
}

/** An unparseable delta-seconds argument. */
function applyInvalidDelta(cc: CacheControl, key: DeltaKey): void {
  cc.invalid = true;
  // RFC 9111 §4.2.1: invalid freshness information makes the response stale: max-age=0.
  if (key === 'maxAge' || key === 'sMaxAge') applyDelta(cc, key, 0);
  // Other delta directives only relax or tighten a request; invalid ones are ignored.
}

/** `fields` undefined means the bare (unqualified) form. */
function applyList(acc: Acc, key: ListKey, fields: string[] | undefined): void {
  acc.cc[key] = true;
  if (fields === undefined || fields.length === 0) {
    // RFC 9111 §5.2.2.4, §5.2.2.7: the unqualified form applies to the whole response.
    if (key === 'noCache') acc.noCacheBare = true;
    else acc.privateBare = true;
    return;
  }
  const list = key === 'noCache' ? acc.cc.noCacheFields : acc.cc.privateFields;
  for (const field of fields) list.push(field);
}

function finish(acc: Acc): CacheControl {
  const cc = acc.cc;
  // RFC 9111 §4.2.1: a bare directive is more restrictive than a qualified one; it wins.
  if (acc.noCacheBare) cc.noCacheFields.length = 0;
  else if (cc.noCacheFields.length > 1) cc.noCacheFields = [...new Set(cc.noCacheFields)];
  if (acc.privateBare) cc.privateFields.length = 0;
  else if (cc.privateFields.length > 1) cc.privateFields = [...new Set(cc.privateFields)];
  return cc;
}

/** Lower-case field names from the argument of a qualified no-cache or private. */
function fieldNames(text: string): string[] {
  const names: string[] = [];
  forEachListMember(text, (line, start, end) => {
    if (isToken(line, start, end)) names.push(line.slice(start, end).toLowerCase());
  });
  return names;
}

/** One member of Cache-Control: line[start, end), `eq` the first "=" outside quotes or -1. */
function applyMember(acc: Acc, line: string, start: number, eq: number, end: number): void {
  let nameEnd = eq < 0 ? end : eq;
  while (nameEnd > start && isOws(line.charCodeAt(nameEnd - 1))) nameEnd--;
  // RFC 9111 §5.2: directive names are tokens, compared case-insensitively.
  const directive = directiveAt(line, start, nameEnd);
  // RFC 9111 §5.2.3: unrecognized directives are ignored.
  if (directive === undefined) return;
  let argStart = end;
  let argEnd = end;
  if (eq >= 0) {
    argStart = eq + 1;
    while (argStart < argEnd && isOws(line.charCodeAt(argStart))) argStart++;
    while (argEnd > argStart && isOws(line.charCodeAt(argEnd - 1))) argEnd--;
  }
  // RFC 9111 §5.2: an argument is a token or a quoted-string; recipients accept both forms.
  const quoted = argStart < argEnd && line.charCodeAt(argStart) === 0x22;
  const cc = acc.cc;
  switch (directive.type) {
    case 'delta': {
      if (eq < 0 && directive.key === 'maxStale') {
        cc.maxStale = cc.maxStale ?? Infinity; // RFC 9111 §5.2.1.2: no value, any staleness
        return;
      }
      let seconds: number | undefined;
      if (eq < 0) seconds = undefined;
      else if (!quoted) seconds = parseDeltaSeconds(line, argStart, argEnd);
      else {
        const unquoted = unquote(line, argStart, argEnd);
        seconds = unquoted === undefined ? undefined : parseDeltaSeconds(unquoted);
      }
      // RFC 9111 §4.2.1: a missing or non-integer argument is invalid freshness information.
      if (seconds === undefined) applyInvalidDelta(cc, directive.key);
      else applyDelta(cc, directive.key, seconds);
      return;
    }
    case 'flag':
      // RFC 9111 §5.2: these take no argument; one that has one still counts as present.
      cc[directive.key] = true;
      return;
    case 'list': {
      if (eq < 0) {
        applyList(acc, directive.key, undefined);
        return;
      }
      let argument: string | undefined;
      if (quoted) argument = unquote(line, argStart, argEnd);
      else argument = isToken(line, argStart, argEnd) ? line.slice(argStart, argEnd) : undefined;
      // An unparseable list falls back to the bare form, the most restrictive reading.
      if (argument === undefined) cc.invalid = true;
      applyList(acc, directive.key, argument === undefined ? undefined : fieldNames(argument));
      return;
    }
  }
}

function scanLine(acc: Acc, line: string): void {
  const len = line.length;
  if (line.indexOf('"') < 0) {
    // No quoted string on this line (the common case): members end at each comma, found natively.
    let start = 0;
    let nextEq = line.indexOf('='); // the next "=" at or after `start`, kept so the scan stays linear
    while (start < len) {
      let end = line.indexOf(',', start);
      if (end < 0) end = len;
      while (start < end && isOws(line.charCodeAt(start))) start++;
      if (nextEq >= 0 && nextEq < start) nextEq = line.indexOf('=', start);
      if (start < end) applyMember(acc, line, start, nextEq >= 0 && nextEq < end ? nextEq : -1, end);
      start = end + 1;
    }
    return;
  }
  let i = 0;
  while (i < len) {
    const first = line.charCodeAt(i);
    if (first === 0x2c || isOws(first)) {
      i++;
      continue;
    }
    const start = i;
    let eq = -1;
    let inQuote = false;
    for (; i < len; i++) {
      const c = line.charCodeAt(i);
      if (inQuote) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inQuote = false;
      } else if (c === 0x22) inQuote = true;
      else if (c === 0x2c) break;
      else if (c === 0x3d && eq < 0) eq = i;
    }
    // RFC 9110 §5.6.1: a comma inside a quoted string does not end the member.
    applyMember(acc, line, start, eq, i > len ? len : i);
  }
}

/** RFC 9111 §5.2: the directives of every Cache-Control field line, combined. */
export function parseCacheControl(value: HeaderValue | undefined): CacheControl {
  const acc: Acc = { cc: emptyCacheControl(), noCacheBare: false, privateBare: false };
  if (value === undefined) return acc.cc;
  if (typeof value === 'string') scanLine(acc, value);
  else for (const line of value) scanLine(acc, line);
  return finish(acc);
}

/**
 * RFC 9213 §2.1: CDN-Cache-Control is a Structured Field Dictionary. undefined when absent,
 * empty, or not parseable as a Dictionary (the field is then ignored as a whole, RFC 9213 §2.2).
 */
export function parseCdnCacheControl(value: HeaderValue | undefined): CacheControl | undefined {
  if (value === undefined) return undefined;
  // RFC 8941 §4.2: several field lines are combined with commas before parsing.
  const text = typeof value === 'string' ? value : value.join(',');
  const dict = parseSfDictionary(text);
  // RFC 9213 §2.2: only a valid, non-empty targeted field takes effect.
  if (dict === undefined || dict.size === 0) return undefined;
  const acc: Acc = { cc: emptyCacheControl(), noCacheBare: false, privateBare: false };
  for (const [name, member] of dict) {
    const directive = DIRECTIVES.get(name);
    if (directive !== undefined) applySfMember(acc, directive, member);
  }
  return finish(acc);
}

function applySfMember(acc: Acc, directive: Directive, member: SfMember): void {
  const cc = acc.cc;
  // RFC 9213 §2.1: parameters are ignored; a Boolean false value means the directive is absent.
  const item = member.kind === 'item' ? member.item : undefined;
  if (item !== undefined && item.kind === 'boolean' && !item.value) return;
  switch (directive.type) {
    case 'delta':
      if (item !== undefined && item.kind === 'integer' && item.value >= 0) {
        applyDelta(cc, directive.key, Math.min(item.value, 2147483648)); // RFC 9111 §1.3
      } else if (directive.key === 'maxStale' && item !== undefined && item.kind === 'boolean') {
        cc.maxStale = cc.maxStale ?? Infinity;
      } else {
        // RFC 9213 §2.1: values violating the inferred type are not consumed as numbers
        // (no coercion of 1.5 to 1): the most restrictive reading applies instead.
        applyInvalidDelta(cc, directive.key);
      }
      return;
    case 'flag':
      cc[directive.key] = true;
      return;
    case 'list':
      applyList(acc, directive.key, sfFieldNames(member));
      return;
  }
}

/** Field names of no-cache / private in a Dictionary: a String or Token list, or an Inner List. */
function sfFieldNames(member: SfMember): string[] | undefined {
  if (member.kind === 'inner-list') {
    const names: string[] = [];
    for (const { item } of member.items) {
      if ((item.kind === 'token' || item.kind === 'string') && isToken(item.value)) names.push(item.value.toLowerCase());
    }
    return names;
  }
  const item = member.item;
  if (item.kind === 'string' || item.kind === 'token') return fieldNames(item.value);
  return undefined; // Boolean true (bare) or an unusable type: the unqualified form
}
