// Byte ranges from a complete stored body (RFC 9110 §14): one range as a 206 with Content-Range,
// several as multipart/byteranges, none satisfiable as a 416. An invalid Range, or an If-Range
// that no longer matches, is ignored and the whole representation is sent.
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { evaluateRange, formatContentRange, ifRangeAllows, multipartByteranges, singleField, unsatisfiedContentRange } from '../policy/index.js';
import type { ByteRange, MultipartPiece } from '../policy/index.js';
import type { CacheEntry, HeaderMap } from '../types.js';

/** Answers the Range from the entry's body; false when the Range is to be ignored. */
export function sendRange(res: ServerResponse, reqHeaders: HeaderMap, entry: CacheEntry, fields: string[]): boolean {
  const range = singleField(reqHeaders, 'range');
  if (range === undefined || !ifRangeAllows(reqHeaders, entry.headers)) return false;
  const length = entry.body.length;
  const wanted = evaluateRange(range, length);
  if (wanted.kind === 'none') return false;
  if (wanted.kind === 'unsatisfiable') {
    sendUnsatisfiable(res, fields, length);
    return true;
  }
  const [first] = wanted.ranges;
  if (wanted.ranges.length === 1 && first) {
    sendOnePart(res, fields, first, length, entry.body.subarray(first.start, first.end + 1));
    return true;
  }
  const multipart = multipartByteranges(length, wanted.ranges, singleField(entry.headers, 'content-type'), randomBytes(12).toString('hex'));
  setFlatField(fields, 'content-type', multipart.contentType);
  setFlatField(fields, 'content-length', String(multipart.contentLength));
  res.writeHead(206, fields as unknown as Record<string, string>);
  writePieces(res, entry.body, multipart.pieces);
  return true;
}

/**
 * Writes the pieces in order: text as latin1, ranges as views of the stored body (never a copy,
 * so a client that does not read holds no memory of its own), waiting for 'drain' whenever the
 * socket's buffer is full. A client that goes away leaves the rest unwritten.
 */
function writePieces(res: ServerResponse, body: Buffer, pieces: MultipartPiece[]): void {
  let next = 0;
  const writeSome = (): void => {
    if (res.destroyed) return;
    res.cork();
    let room = true;
    while (room && next < pieces.length) {
      const piece = pieces[next++] as MultipartPiece;
      room = typeof piece === 'string' ? res.write(piece, 'latin1') : res.write(body.subarray(piece.start, piece.end + 1));
    }
    if (next === pieces.length) return void res.end(); // end() uncorks
    res.uncork(); // what was written goes out in one writev
    res.once('drain', writeSome);
  };
  writeSome();
}

/** A 206 holding one range of a representation of `completeLength` bytes. */
export function sendOnePart(res: ServerResponse, fields: string[], range: ByteRange, completeLength: number, bytes: Buffer): void {
  setFlatField(fields, 'content-range', formatContentRange(range, completeLength));
  setFlatField(fields, 'content-length', String(bytes.length));
  res.writeHead(206, fields as unknown as Record<string, string>);
  res.end(bytes);
}

/** RFC 9110 §15.5.17: 416 with the representation's length. */
export function sendUnsatisfiable(res: ServerResponse, fields: string[], completeLength: number): void {
  setFlatField(fields, 'content-range', unsatisfiedContentRange(completeLength));
  setFlatField(fields, 'content-length', '0');
  res.writeHead(416, fields as unknown as Record<string, string>);
  res.end();
}

function setFlatField(fields: string[], name: string, value: string): void {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) {
      fields[i + 1] = value;
      return;
    }
  }
  fields.push(name, value);
}
