// The parts of one representation: the multipart/byteranges content that sends several ranges
// (RFC 9110 §14.6, §15.3.7.2) and the stored pieces a cache combines (RFC 9111 §3.3, §3.4,
// RFC 9110 §15.3.7.3).
import type { ByteRange } from './ranges.js';
import { formatContentRange } from './ranges.js';
import { isToken } from './fields.js';

const CRLF = '\r\n';

/**
 * RFC 2046 §5.1.1 (referenced by RFC 9110 §14.6): 1 to 70 bchars, not ending in a space.
 * bcharsnospace = DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" / "=" / "?"
 */
function isBoundary(boundary: string): boolean {
  if (boundary.length < 1 || boundary.length > 70 || boundary.endsWith(' ')) return false;
  return /^[0-9A-Za-z'()+_,\-./:=? ]+$/.test(boundary);
}

/** A piece of a multipart/byteranges body: delimiter and part fields (latin1 text), or stored bytes. */
export type MultipartPiece = string | ByteRange;

/**
 * RFC 9110 §14.6: the multipart/byteranges body for `ranges` of a representation of
 * `completeLength` bytes, in the order given, as a list of pieces to write in sequence: text
 * (delimiters and part fields, latin1) and the ranges of the stored body, so that the caller
 * sends views of the one stored copy rather than building the body. Each part:
 * `--B CRLF [Content-Type CRLF] Content-Range CRLF CRLF bytes CRLF`, then `--B-- CRLF`. The
 * Content-Type line is omitted when the type is unknown. The caller supplies the boundary (no
 * randomness here); it must not occur in the body, as RFC 2046 §5.1.1 requires. Throws a
 * RangeError for an invalid boundary, no ranges, or a range outside the representation.
 */
export function multipartByteranges(
  completeLength: number,
  ranges: ByteRange[],
  contentType: string | undefined,
  boundary: string,
): { contentType: string; contentLength: number; pieces: MultipartPiece[] } {
  if (!isBoundary(boundary)) throw new RangeError(`multipartByteranges: invalid boundary ${JSON.stringify(boundary)}`);
  if (ranges.length === 0) throw new RangeError('multipartByteranges: no ranges');
  // RFC 9110 §14.6: each part carries the Content-Type the whole representation would have had.
  // A value with CR, LF or NUL is not a field value (RFC 9110 §5.5): treated as unknown.
  const type = contentType?.trim();
  const typeLine = type === undefined || type.length === 0 || /[\r\n\0]/.test(type) ? '' : `Content-Type: ${type}${CRLF}`;
  const pieces: MultipartPiece[] = [];
  // Text is written as latin1, one byte per character (field values are latin1 strings).
  let contentLength = 0;
  let before = '';
  for (const range of ranges) {
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start || range.end >= completeLength) {
      throw new RangeError(`multipartByteranges: range ${range.start}-${range.end} outside ${completeLength} bytes`);
    }
    // RFC 9110 §14.6: each body part has its own Content-Range (RFC 9110 §14.4). The CRLF that
    // ends the previous part's bytes travels with this part's delimiter: one write less.
    const head = `${before}--${boundary}${CRLF}${typeLine}Content-Range: ${formatContentRange(range, completeLength)}${CRLF}${CRLF}`;
    pieces.push(head, { start: range.start, end: range.end });
    contentLength += head.length + range.end - range.start + 1;
    before = CRLF;
  }
  // RFC 2046 §5.1.1: the close-delimiter.
  const close = `${CRLF}--${boundary}--${CRLF}`;
  pieces.push(close);
  contentLength += close.length;
  // RFC 2046 §5.1.1: a boundary that is not a token is quoted in the media type parameter.
  const parameter = isToken(boundary) ? boundary : `"${boundary}"`;
  return { contentType: `multipart/byteranges; boundary=${parameter}`, contentLength, pieces };
}

/**
 * Stored pieces of one representation (RFC 9111 §3.3, §3.4): sorted by start, non-overlapping,
 * non-adjacent. Buffers are shared, never copied unless joined: callers must not mutate them.
 */
export interface ByteParts {
  completeLength: number;
  pieces: Array<{ start: number; data: Buffer }>;
}

/**
 * RFC 9111 §3.4, RFC 9110 §15.3.7.3: a new ByteParts with `data` at `start` merged in: where it
 * overlaps stored bytes the new bytes win; touching pieces are joined into one Buffer. Throws a
 * RangeError when the piece lies outside [0, completeLength). Empty data changes nothing.
 */
export function addPiece(parts: ByteParts, start: number, data: Buffer): ByteParts {
  if (!Number.isSafeInteger(start) || start < 0 || start + data.length > parts.completeLength) {
    throw new RangeError(`addPiece: ${data.length} bytes at ${start} outside 0..${parts.completeLength}`);
  }
  if (data.length === 0) return { completeLength: parts.completeLength, pieces: parts.pieces.slice() };
  const end = start + data.length; // exclusive
  const before: ByteParts['pieces'] = [];
  const after: ByteParts['pieces'] = [];
  const touching: ByteParts['pieces'] = [];
  for (const piece of parts.pieces) {
    const pieceEnd = piece.start + piece.data.length;
    if (pieceEnd < start) before.push(piece);
    else if (piece.start > end) after.push(piece);
    else touching.push(piece);
  }
  if (touching.length === 0) {
    return { completeLength: parts.completeLength, pieces: [...before, { start, data }, ...after] };
  }
  const first = touching[0]!;
  const last = touching[touching.length - 1]!;
  const chunks: Buffer[] = [];
  // Stored bytes left of the new piece, the new bytes (they win), stored bytes right of it.
  if (first.start < start) chunks.push(first.data.subarray(0, start - first.start));
  chunks.push(data);
  const lastEnd = last.start + last.data.length;
  if (lastEnd > end) chunks.push(last.data.subarray(end - last.start));
  const merged = { start: Math.min(first.start, start), data: Buffer.concat(chunks) };
  return { completeLength: parts.completeLength, pieces: [...before, merged, ...after] };
}

/**
 * RFC 9110 §15.3.7.3: the union is the whole representation: one piece over [0, completeLength).
 * Choice: an empty representation (completeLength 0) is complete with no pieces.
 */
export function isComplete(parts: ByteParts): boolean {
  if (parts.completeLength === 0) return parts.pieces.length === 0;
  const only = parts.pieces[0];
  return parts.pieces.length === 1 && only !== undefined && only.start === 0 && only.data.length === parts.completeLength;
}

/**
 * RFC 9111 §3.4: the stored bytes of `range` (a view, not a copy) when it lies entirely inside one
 * stored piece; undefined otherwise (a gap, or spanning pieces, which are never adjacent).
 */
export function sliceParts(parts: ByteParts, range: ByteRange): Buffer | undefined {
  if (range.start < 0 || range.end < range.start) return undefined;
  for (const piece of parts.pieces) {
    if (piece.start > range.start) return undefined; // sorted: no later piece can start earlier
    if (range.end < piece.start + piece.data.length) return piece.data.subarray(range.start - piece.start, range.end - piece.start + 1);
  }
  return undefined;
}

/** The stored bytes, for size accounting. */
export function partsBytes(parts: ByteParts): number {
  let total = 0;
  for (const piece of parts.pieces) total += piece.data.length;
  return total;
}
