// Byte ranges from a complete stored body (RFC 9110 §14): one range as a 206 with Content-Range,
// several as multipart/byteranges, none satisfiable as a 416. An invalid Range, or an If-Range
// that no longer matches, is ignored and the whole representation is sent.
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { evaluateRange, formatContentRange, ifRangeAllows, multipartByteranges, singleField, unsatisfiedContentRange } from '../policy/index.js';
import type { ByteRange } from '../policy/index.js';
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
  const multipart = multipartByteranges(entry.body, wanted.ranges, singleField(entry.headers, 'content-type'), randomBytes(12).toString('hex'));
  setFlatField(fields, 'content-type', multipart.contentType);
  setFlatField(fields, 'content-length', String(multipart.body.length));
  res.writeHead(206, fields as unknown as Record<string, string>);
  res.end(multipart.body);
  return true;
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
