// Byte ranges at the cache: the Range a GET asks for (RFC 9110 §14.1, §14.2), If-Range
// (RFC 9110 §13.1.5, §8.8.2.2), Content-Range (RFC 9110 §14.4), and the validators under which
// stored partial content may be combined (RFC 9111 §3.4, RFC 9110 §15.3.7.3).
import type { HeaderMap } from '../types.js';
import { hasField, isOws, singleField } from './fields.js';
import { parseHttpDate } from './dates.js';
import { strongEtagMatch } from './conditional.js';

/** A satisfiable byte range: inclusive, 0-based, `start <= end < completeLength`. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeEvaluation = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: ByteRange[] };

/**
 * RFC 9110 §14.2 security note (documented choice): more list elements than this (empty ones
 * included) make the whole Range ignored; it also bounds the parsing and coalescing work.
 */
export const MAX_RANGE_SPECS = 100;
/** RFC 9110 §14.2 (documented choice): more ranges than this after coalescing: serve a 200. */
export const MAX_COALESCED_RANGES = 16;

const NONE: RangeEvaluation = Object.freeze({ kind: 'none' });
const UNSATISFIABLE: RangeEvaluation = Object.freeze({ kind: 'unsatisfiable' });

/**
 * RFC 9110 §14.1.1 first-pos / last-pos / suffix-length (1*DIGIT, leading zeros allowed) in
 * text[start, end); undefined when not digits. RFC 9110 §14.1.2: "recipients MUST anticipate
 * potentially large decimal numerals": a value beyond Number.MAX_SAFE_INTEGER is Infinity, which
 * is exact for every comparison with a representation length (none is that large).
 */
function parsePosition(text: string, start: number, end: number): number | undefined {
  if (end <= start) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    if (value <= Number.MAX_SAFE_INTEGER) value = value * 10 + digit;
  }
  return value > Number.MAX_SAFE_INTEGER ? Infinity : value;
}

/** One range-spec of a bytes ranges-specifier (RFC 9110 §14.1.1, §14.1.2). */
type RangeSpec = { first: number; last: number | undefined } | { suffix: number };

/**
 * RFC 9110 §14.1.2: int-range `first-"-"[last]` or suffix-range `"-"suffix` in text[start, end);
 * undefined when it is neither, or when last-pos is less than first-pos (an invalid range-spec).
 */
function parseRangeSpec(text: string, start: number, end: number): RangeSpec | undefined {
  const dash = text.indexOf('-', start);
  if (dash < 0 || dash >= end) return undefined;
  if (dash === start) {
    // RFC 9110 §14.1.2: suffix-range = "-" suffix-length.
    const suffix = parsePosition(text, dash + 1, end);
    return suffix === undefined ? undefined : { suffix };
  }
  const first = parsePosition(text, start, dash);
  if (first === undefined) return undefined;
  // RFC 9110 §14.1.2: int-range with last-pos omitted: to the end of the representation.
  if (dash + 1 === end) return { first, last: undefined };
  const last = parsePosition(text, dash + 1, end);
  if (last === undefined) return undefined;
  // RFC 9110 §14.1.2: "invalid if the last-pos value is present and less than the first-pos".
  // Two numerals beyond 2^53 both read as Infinity: compare them exactly.
  if (first === Infinity && last === Infinity) {
    if (BigInt(text.slice(start, dash)) > BigInt(text.slice(dash + 1, end))) return undefined;
  } else if (last < first) return undefined;
  return { first, last };
}

/**
 * Coalesces overlapping and adjacent ranges (RFC 9110 §15.3.7.2: a server MAY coalesce ranges
 * "regardless of the order" they were listed in). Documented choice: the client's order is kept;
 * a coalesced range takes the place of its earliest-listed member. Gaps are never filled.
 */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  for (const range of ranges) {
    let merged: ByteRange = { start: range.start, end: range.end };
    let at = -1;
    // `out` holds no two touching ranges, so one pass finds everything `merged` reaches.
    for (let k = 0; k < out.length; ) {
      const other = out[k]!;
      if (other.start <= merged.end + 1 && merged.start <= other.end + 1) {
        merged = { start: Math.min(merged.start, other.start), end: Math.max(merged.end, other.end) };
        if (at < 0) {
          at = k;
          k++;
        } else out.splice(k, 1);
      } else k++;
    }
    if (at < 0) out.push(merged);
    else out[at] = merged;
  }
  return out;
}

/**
 * RFC 9110 §14.2: the ranges a GET asks for, against a representation of `completeLength` bytes.
 * 'none': no Range, another unit, or an invalid ranges-specifier: ignore it and send the whole
 * representation (RFC 9110 §14.2 MAY ignore). 'unsatisfiable': a 416 whose Content-Range is
 * unsatisfiedContentRange(completeLength) (RFC 9110 §15.5.17).
 * The caller only calls this for GET (RFC 9110 §14.2: the only method with range handling).
 */
export function evaluateRange(rangeHeader: string | undefined, completeLength: number): RangeEvaluation {
  if (!Number.isSafeInteger(completeLength) || completeLength < 0) {
    throw new RangeError(`evaluateRange: completeLength must be a non-negative safe integer, got ${completeLength}`);
  }
  if (rangeHeader === undefined) return NONE;
  // RFC 9110 §5.5: a field value carries no leading or trailing whitespace.
  let from = 0;
  let to = rangeHeader.length;
  while (from < to && isOws(rangeHeader.charCodeAt(from))) from++;
  while (to > from && isOws(rangeHeader.charCodeAt(to - 1))) to--;
  // RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set.
  const eq = rangeHeader.indexOf('=', from);
  if (eq <= from || eq >= to) return NONE;
  // RFC 9110 §14.1: range units are case-insensitive; RFC 9110 §14.2: other units are ignored.
  if (rangeHeader.slice(from, eq).toLowerCase() !== 'bytes') return NONE;

  const specs: RangeSpec[] = [];
  let elements = 0;
  for (let i = eq + 1; i <= to; i++) {
    let end = rangeHeader.indexOf(',', i);
    if (end < 0 || end > to) end = to;
    // RFC 9110 §14.2 security note: a bounded number of elements (choice: 100).
    if (++elements > MAX_RANGE_SPECS) return NONE;
    let start = i;
    let stop = end;
    // RFC 9110 §5.6.1: OWS around list elements.
    while (start < stop && isOws(rangeHeader.charCodeAt(start))) start++;
    while (stop > start && isOws(rangeHeader.charCodeAt(stop - 1))) stop--;
    i = end;
    // RFC 9110 §5.6.1.2: a recipient parses and ignores a reasonable number of empty elements.
    if (start === stop) continue;
    const spec = parseRangeSpec(rangeHeader, start, stop);
    // RFC 9110 §14.1.1: one invalid range-spec makes the ranges-specifier invalid.
    if (spec === undefined) return NONE;
    specs.push(spec);
  }
  // RFC 9110 §14.1.1: range-set = 1#range-spec: at least one.
  if (specs.length === 0) return NONE;

  const satisfiable: ByteRange[] = [];
  let emptySuffix = false;
  for (const spec of specs) {
    if ('suffix' in spec) {
      // RFC 9110 §14.1.2: a suffix-range is satisfiable only with a non-zero suffix-length; a
      // suffix longer than the representation selects all of it.
      if (spec.suffix === 0) continue;
      if (completeLength === 0) {
        emptySuffix = true;
        continue;
      }
      const start = spec.suffix >= completeLength ? 0 : completeLength - spec.suffix;
      satisfiable.push({ start, end: completeLength - 1 });
    } else {
      // RFC 9110 §14.1.2: an int-range is satisfiable when first-pos < length; a last-pos at or
      // beyond the end (or absent) is replaced by length - 1.
      if (spec.first >= completeLength) continue;
      const end = spec.last === undefined || spec.last >= completeLength ? completeLength - 1 : spec.last;
      satisfiable.push({ start: spec.first, end });
    }
  }
  if (satisfiable.length === 0) {
    // RFC 9110 §14.1.2: against an empty representation a non-zero suffix-range is satisfiable,
    // but no Content-Range can describe zero bytes: RFC 9110 §14.2 MAY ignore the Range when the
    // representation has no content (documented choice: 200).
    return emptySuffix ? NONE : UNSATISFIABLE;
  }
  const ranges = coalesce(satisfiable);
  // RFC 9110 §14.2: many small or overlapping ranges signal abuse: serve the whole instead.
  if (ranges.length > MAX_COALESCED_RANGES) return NONE;
  return { kind: 'ranges', ranges };
}

/**
 * RFC 9110 §8.8.3: the trimmed value when it is one well-formed strong entity-tag,
 * `DQUOTE *etagc DQUOTE` with etagc = %x21 / %x23-7E / obs-text; undefined otherwise (a weak
 * `W/` tag included).
 */
function strongEntityTag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const tag = value.trim();
  if (tag.length < 2 || tag.charCodeAt(0) !== 0x22 || tag.charCodeAt(tag.length - 1) !== 0x22) return undefined;
  for (let i = 1; i < tag.length - 1; i++) {
    const c = tag.charCodeAt(i);
    if (c < 0x21 || c === 0x22 || c === 0x7f || c > 0xff) return undefined;
  }
  return tag;
}

/**
 * RFC 9110 §8.8.2.2: the stored Last-Modified (ms) when it is a strong validator for a cache:
 * the stored Date is at least one second later. Undefined otherwise (absent, invalid, weak).
 */
function strongLastModified(stored: HeaderMap): number | undefined {
  const lastModified = parseHttpDate(singleField(stored, 'last-modified'));
  const date = parseHttpDate(singleField(stored, 'date'));
  if (lastModified === undefined || date === undefined) return undefined;
  return date - lastModified >= 1000 ? lastModified : undefined;
}

/**
 * RFC 9110 §13.1.5: whether a Range may be honoured given If-Range, against the stored
 * validators. False means: ignore the Range and send the whole representation.
 */
export function ifRangeAllows(reqHeaders: HeaderMap, stored: HeaderMap): boolean {
  if (!hasField(reqHeaders, 'if-range')) return true;
  // RFC 9110 §13.1.5: If-Range = entity-tag / HTTP-date: exactly one value (several lines: invalid).
  const value = singleField(reqHeaders, 'if-range')?.trim();
  if (value === undefined || value.length === 0) return false;
  if (value.charCodeAt(0) === 0x22 || value.startsWith('W/')) {
    // RFC 9110 §13.1.5: an entity-tag matches only by the strong comparison (weak never does).
    const tag = strongEntityTag(value);
    const storedTag = strongEntityTag(singleField(stored, 'etag'));
    return tag !== undefined && storedTag !== undefined && strongEtagMatch(tag, storedTag);
  }
  // RFC 9110 §13.1.5: an HTTP-date is true only when it is a strong validator (§8.8.2.2) and
  // exactly matches Last-Modified (choice: as the same instant, whatever the date format).
  const since = parseHttpDate(value);
  const lastModified = strongLastModified(stored);
  return since !== undefined && lastModified !== undefined && since === lastModified;
}

/**
 * RFC 9110 §14.4: the Content-Range of a 206 part, `bytes first-last/length` or
 * `bytes first-last/*` (completeLength undefined). Undefined for anything else: another unit,
 * the unsatisfied-range ("*" "/" length), last < first, length <= last, numerals beyond 2^53 - 1.
 */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; completeLength: number | undefined } | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  // RFC 9110 §14.4: Content-Range = range-unit SP ( range-resp / unsatisfied-range ).
  const sp = text.indexOf(' ');
  // RFC 9110 §14.1: range units are case-insensitive.
  if (sp <= 0 || text.slice(0, sp).toLowerCase() !== 'bytes') return undefined;
  const slash = text.indexOf('/', sp + 1);
  const dash = text.indexOf('-', sp + 1);
  if (slash < 0 || dash < 0 || dash > slash) return undefined;
  // RFC 9110 §14.4: incl-range = first-pos "-" last-pos.
  const start = parsePosition(text, sp + 1, dash);
  const end = parsePosition(text, dash + 1, slash);
  if (start === undefined || end === undefined || !Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  // RFC 9110 §14.4: complete-length / "*" (unknown).
  let completeLength: number | undefined;
  if (slash + 2 !== text.length || text.charCodeAt(slash + 1) !== 0x2a) {
    completeLength = parsePosition(text, slash + 1, text.length);
    if (completeLength === undefined || !Number.isFinite(completeLength)) return undefined;
  }
  // RFC 9110 §14.4: invalid when last-pos < first-pos or complete-length <= last-pos.
  if (end < start || (completeLength !== undefined && completeLength <= end)) return undefined;
  return { start, end, completeLength };
}

/** RFC 9110 §14.4: `bytes first-last/length` for a satisfiable range (the caller's to ensure). */
export function formatContentRange(range: ByteRange, completeLength: number): string {
  return `bytes ${range.start}-${range.end}/${completeLength}`;
}

/** RFC 9110 §14.4, §15.5.17: the Content-Range of a 416, `bytes *` + `/length`. */
export function unsatisfiedContentRange(completeLength: number): string {
  return `bytes */${completeLength}`;
}

/**
 * RFC 9111 §3.4, RFC 9110 §15.3.7.3: a new 206 (or 200) may be combined with stored parts only
 * when both carry the same strong validator (RFC 9110 §8.8.1): identical strong ETags, or, when
 * neither has an ETag, the same Last-Modified that is strong by the stored Date (§8.8.2.2).
 * False: the caller replaces the stored parts with the new response.
 */
export function canCombineParts(storedHeaders: HeaderMap, incomingHeaders: HeaderMap): boolean {
  if (hasField(storedHeaders, 'etag') || hasField(incomingHeaders, 'etag')) {
    // RFC 9110 §8.8.3.2: strong comparison; a weak, malformed or missing tag on either side fails.
    const stored = strongEntityTag(singleField(storedHeaders, 'etag'));
    const incoming = strongEntityTag(singleField(incomingHeaders, 'etag'));
    return stored !== undefined && incoming !== undefined && strongEtagMatch(stored, incoming);
  }
  const lastModified = strongLastModified(storedHeaders);
  return lastModified !== undefined && parseHttpDate(singleField(incomingHeaders, 'last-modified')) === lastModified;
}
