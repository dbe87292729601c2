// multipart/byteranges (RFC 9110 §14.6, §15.3.7.3) and stored, combined parts of one
// representation (RFC 9111 §3.3, §3.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addPiece, canCombineParts, isComplete, multipartByteranges, partsBytes, sliceParts } from '../../../proxy/policy/index.js';
import type { ByteParts, ByteRange, MultipartPiece } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT';
const LM_PLUS_1H = 'Sun, 06 Nov 1994 09:49:37 GMT';
const LM_PLUS_1S = 'Sun, 06 Nov 1994 08:49:38 GMT';
const LM_RFC850 = 'Sunday, 06-Nov-94 08:49:37 GMT';

const BODY = Buffer.from('abcdefghij');

interface MultipartCase {
  name: string;
  section: string;
  input: { body: Buffer; ranges: ByteRange[]; type: string | undefined; boundary: string };
  expected: { contentType: string; body: string };
}

const multipartCases: MultipartCase[] = [
  {
    name: 'two parts with a Content-Type',
    section: 'RFC 9110 §14.6',
    input: { body: BODY, ranges: [{ start: 0, end: 2 }, { start: 5, end: 5 }], type: 'text/plain', boundary: 'XYZ' },
    expected: {
      contentType: 'multipart/byteranges; boundary=XYZ',
      body:
        '--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n' +
        '--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/10\r\n\r\nf\r\n--XYZ--\r\n',
    },
  },
  {
    name: 'no Content-Type line when the type is unknown',
    section: 'RFC 9110 §14.6',
    input: { body: BODY, ranges: [{ start: 8, end: 9 }, { start: 0, end: 0 }], type: undefined, boundary: 'b1' },
    expected: {
      contentType: 'multipart/byteranges; boundary=b1',
      body: '--b1\r\nContent-Range: bytes 8-9/10\r\n\r\nij\r\n--b1\r\nContent-Range: bytes 0-0/10\r\n\r\na\r\n--b1--\r\n',
    },
  },
  {
    name: 'an empty Content-Type is unknown',
    section: 'RFC 9110 §14.6',
    input: { body: BODY, ranges: [{ start: 0, end: 0 }], type: ' ', boundary: 'b' },
    expected: { contentType: 'multipart/byteranges; boundary=b', body: '--b\r\nContent-Range: bytes 0-0/10\r\n\r\na\r\n--b--\r\n' },
  },
  {
    name: 'a boundary that is not a token is quoted',
    section: 'RFC 9110 §14.6',
    input: { body: BODY, ranges: [{ start: 1, end: 1 }], type: 'a/b', boundary: 'x:y' },
    expected: {
      contentType: 'multipart/byteranges; boundary="x:y"',
      body: '--x:y\r\nContent-Type: a/b\r\nContent-Range: bytes 1-1/10\r\n\r\nb\r\n--x:y--\r\n',
    },
  },
  {
    name: 'binary bytes pass unchanged',
    section: 'RFC 9110 §14.6',
    input: { body: Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80]), ranges: [{ start: 0, end: 1 }, { start: 3, end: 4 }], type: undefined, boundary: 'B' },
    expected: {
      contentType: 'multipart/byteranges; boundary=B',
      body: '--B\r\nContent-Range: bytes 0-1/5\r\n\r\n\x00\xff\r\n--B\r\nContent-Range: bytes 3-4/5\r\n\r\n\x0a\x80\r\n--B--\r\n',
    },
  },
];

for (const c of multipartCases) {
  void test(`${c.section}: multipartByteranges ${c.name}`, () => {
    const out = multipartByteranges(c.input.body.length, c.input.ranges, c.input.type, c.input.boundary);
    assert.equal(out.contentType, c.expected.contentType);
    const written = assemble(c.input.body, out.pieces);
    assert.deepEqual(written, Buffer.from(c.expected.body, 'latin1'));
    assert.equal(out.contentLength, written.length);
  });
}

/** What a server writes for the pieces: text as latin1, ranges as the body's bytes. */
function assemble(body: Buffer, pieces: MultipartPiece[]): Buffer {
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : body.subarray(p.start, p.end + 1))));
}

void test('RFC 9110 §14.6: multipartByteranges names the stored bytes by range and copies none of them', () => {
  const out = multipartByteranges(10_000_000, [{ start: 0, end: 999_999 }, { start: 5_000_000, end: 8_999_999 }], 'a/b', 'B');
  const ranges = out.pieces.filter((p): p is ByteRange => typeof p !== 'string');
  assert.deepEqual(ranges, [{ start: 0, end: 999_999 }, { start: 5_000_000, end: 8_999_999 }]);
  const text = out.pieces.filter((p): p is string => typeof p === 'string');
  assert.ok(text.every((t) => t.length < 200), 'the text pieces are only delimiters and part fields');
  assert.equal(out.contentLength, 5_000_000 + text.reduce((n, t) => n + t.length, 0));
});

interface MultipartErrorCase {
  name: string;
  section: string;
  input: { ranges: ByteRange[]; boundary: string };
}

const multipartErrorCases: MultipartErrorCase[] = [
  { name: 'an empty boundary', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 0, end: 0 }], boundary: '' } },
  { name: 'a boundary of 71 characters', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 0, end: 0 }], boundary: 'a'.repeat(71) } },
  { name: 'a boundary with a quote', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 0, end: 0 }], boundary: 'a"b' } },
  { name: 'a boundary ending in a space', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 0, end: 0 }], boundary: 'ab ' } },
  { name: 'no ranges', section: 'RFC 9110 §14.6', input: { ranges: [], boundary: 'b' } },
  { name: 'a range beyond the body', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 5, end: 10 }], boundary: 'b' } },
  { name: 'a range with end < start', section: 'RFC 9110 §14.6', input: { ranges: [{ start: 5, end: 4 }], boundary: 'b' } },
];

for (const c of multipartErrorCases) {
  void test(`${c.section}: multipartByteranges throws for ${c.name}`, () => {
    assert.throws(() => multipartByteranges(BODY.length, c.input.ranges, 'a/b', c.input.boundary), RangeError);
  });
}

/** Pieces written as [start, text]. */
type PieceSpec = Array<[number, string]>;
function parts(completeLength: number, pieces: PieceSpec): ByteParts {
  return { completeLength, pieces: pieces.map(([start, text]) => ({ start, data: Buffer.from(text) })) };
}
function pieceSpec(p: ByteParts): PieceSpec {
  return p.pieces.map((piece) => [piece.start, piece.data.toString()]);
}

interface AddCase {
  name: string;
  section: string;
  input: { stored: PieceSpec; start: number; data: string };
  expected: PieceSpec;
}

const addCases: AddCase[] = [
  { name: 'into nothing', section: 'RFC 9111 §3.3', input: { stored: [], start: 5, data: 'abc' }, expected: [[5, 'abc']] },
  { name: 'before a stored piece, kept sorted', section: 'RFC 9111 §3.4', input: { stored: [[10, 'kl']], start: 0, data: 'ab' }, expected: [[0, 'ab'], [10, 'kl']] },
  { name: 'after a stored piece', section: 'RFC 9111 §3.4', input: { stored: [[0, 'ab']], start: 10, data: 'kl' }, expected: [[0, 'ab'], [10, 'kl']] },
  { name: 'between two stored pieces', section: 'RFC 9111 §3.4', input: { stored: [[0, 'a'], [10, 'k']], start: 5, data: 'f' }, expected: [[0, 'a'], [5, 'f'], [10, 'k']] },
  { name: 'adjacent on the left: joined', section: 'RFC 9111 §3.4', input: { stored: [[5, 'fg']], start: 3, data: 'de' }, expected: [[3, 'defg']] },
  { name: 'adjacent on the right: joined', section: 'RFC 9111 §3.4', input: { stored: [[3, 'de']], start: 5, data: 'fg' }, expected: [[3, 'defg']] },
  { name: 'a one-byte gap is not joined', section: 'RFC 9111 §3.4', input: { stored: [[0, 'ab']], start: 3, data: 'de' }, expected: [[0, 'ab'], [3, 'de']] },
  { name: 'filling the gap joins both neighbours', section: 'RFC 9111 §3.4', input: { stored: [[0, 'ab'], [4, 'ef']], start: 2, data: 'cd' }, expected: [[0, 'abcdef']] },
  { name: 'inside a stored piece: the new bytes win', section: 'RFC 9111 §3.4', input: { stored: [[0, 'abcdef']], start: 2, data: 'XY' }, expected: [[0, 'abXYef']] },
  { name: 'the same span: the new bytes win', section: 'RFC 9111 §3.4', input: { stored: [[2, 'cd']], start: 2, data: 'XY' }, expected: [[2, 'XY']] },
  { name: 'overlapping the end and extending it', section: 'RFC 9111 §3.4', input: { stored: [[0, 'abc']], start: 2, data: 'XYZ' }, expected: [[0, 'abXYZ']] },
  { name: 'overlapping the start and extending it', section: 'RFC 9111 §3.4', input: { stored: [[2, 'cde']], start: 0, data: 'XYZ' }, expected: [[0, 'XYZde']] },
  { name: 'covering several pieces', section: 'RFC 9111 §3.4', input: { stored: [[1, 'b'], [3, 'd'], [5, 'f']], start: 0, data: 'XXXXXXX' }, expected: [[0, 'XXXXXXX']] },
  { name: 'overlapping two pieces partly, a third untouched', section: 'RFC 9111 §3.4', input: { stored: [[0, 'abc'], [5, 'fgh'], [10, 'kl']], start: 2, data: 'XXXXX' }, expected: [[0, 'abXXXXXh'], [10, 'kl']] },
  { name: 'empty data changes nothing', section: 'RFC 9111 §3.4', input: { stored: [[0, 'ab']], start: 5, data: '' }, expected: [[0, 'ab']] },
  { name: 'the last bytes of the representation', section: 'RFC 9111 §3.4', input: { stored: [[0, 'ab']], start: 18, data: 'st' }, expected: [[0, 'ab'], [18, 'st']] },
];

for (const c of addCases) {
  void test(`${c.section}: addPiece ${c.name}`, () => {
    const before = parts(20, c.input.stored);
    const snapshot = pieceSpec(before);
    const after = addPiece(before, c.input.start, Buffer.from(c.input.data));
    assert.deepEqual(pieceSpec(after), c.expected);
    assert.equal(after.completeLength, 20);
    assert.notEqual(after, before);
    assert.deepEqual(pieceSpec(before), snapshot, 'the input is not changed');
  });
}

void test('RFC 9111 §3.4: addPiece throws for a piece outside the representation', () => {
  const p = parts(10, [[0, 'ab']]);
  assert.throws(() => addPiece(p, 9, Buffer.from('ab')), RangeError);
  assert.throws(() => addPiece(p, -1, Buffer.from('a')), RangeError);
  assert.throws(() => addPiece(p, 1.5, Buffer.from('a')), RangeError);
});

interface CompleteCase {
  name: string;
  section: string;
  input: ByteParts;
  expected: boolean;
}

const completeCases: CompleteCase[] = [
  { name: 'nothing stored', section: 'RFC 9110 §15.3.7.3', input: parts(10, []), expected: false },
  { name: 'one piece covering the whole', section: 'RFC 9110 §15.3.7.3', input: parts(3, [[0, 'abc']]), expected: true },
  { name: 'one piece not starting at 0', section: 'RFC 9110 §15.3.7.3', input: parts(3, [[1, 'bc']]), expected: false },
  { name: 'one piece short of the end', section: 'RFC 9110 §15.3.7.3', input: parts(3, [[0, 'ab']]), expected: false },
  { name: 'two pieces with a gap', section: 'RFC 9110 §15.3.7.3', input: parts(4, [[0, 'a'], [2, 'cd']]), expected: false },
  { name: 'an empty representation (choice)', section: 'RFC 9110 §15.3.7.3', input: parts(0, []), expected: true },
  { name: 'pieces joined by addPiece become complete', section: 'RFC 9110 §15.3.7.3', input: addPiece(parts(6, [[0, 'ab'], [4, 'ef']]), 2, Buffer.from('cd')), expected: true },
];

for (const c of completeCases) {
  void test(`${c.section}: isComplete ${c.name}`, () => {
    assert.equal(isComplete(c.input), c.expected);
  });
}

const TWO_PIECES = parts(20, [[0, 'abcde'], [10, 'klmno']]);

interface SliceCase {
  name: string;
  section: string;
  input: { parts: ByteParts; range: ByteRange };
  expected: string | undefined;
}

const sliceCases: SliceCase[] = [
  { name: 'inside the first piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 1, end: 3 } }, expected: 'bcd' },
  { name: 'a whole piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 0, end: 4 } }, expected: 'abcde' },
  { name: 'inside the second piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 12, end: 14 } }, expected: 'mno' },
  { name: 'one byte', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 10, end: 10 } }, expected: 'k' },
  { name: 'in the gap', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 6, end: 8 } }, expected: undefined },
  { name: 'across two pieces', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 3, end: 11 } }, expected: undefined },
  { name: 'past the end of a piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 3, end: 6 } }, expected: undefined },
  { name: 'starting in the gap, ending in a piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 8, end: 11 } }, expected: undefined },
  { name: 'after every piece', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 15, end: 19 } }, expected: undefined },
  { name: 'before the first piece', section: 'RFC 9111 §3.4', input: { parts: parts(20, [[10, 'k']]), range: { start: 0, end: 0 } }, expected: undefined },
  { name: 'end < start', section: 'RFC 9111 §3.4', input: { parts: TWO_PIECES, range: { start: 3, end: 2 } }, expected: undefined },
  { name: 'nothing stored', section: 'RFC 9111 §3.4', input: { parts: parts(20, []), range: { start: 0, end: 0 } }, expected: undefined },
];

for (const c of sliceCases) {
  void test(`${c.section}: sliceParts ${c.name}`, () => {
    assert.equal(sliceParts(c.input.parts, c.input.range)?.toString(), c.expected);
  });
}

const partsBytesCases: Array<{ name: string; section: string; input: ByteParts; expected: number }> = [
  { name: 'nothing stored', section: 'RFC 9111 §3.3', input: parts(20, []), expected: 0 },
  { name: 'two pieces', section: 'RFC 9111 §3.3', input: TWO_PIECES, expected: 10 },
];

for (const c of partsBytesCases) {
  void test(`${c.section}: partsBytes ${c.name}`, () => {
    assert.equal(partsBytes(c.input), c.expected);
  });
}

interface CombineCase {
  name: string;
  section: string;
  input: { stored: HeaderMap; incoming: HeaderMap };
  expected: boolean;
}

const combineCases: CombineCase[] = [
  { name: 'the same strong ETag', section: 'RFC 9111 §3.4', input: { stored: { etag: '"a"' }, incoming: { etag: '"a"' } }, expected: true },
  { name: 'the same strong ETag, different Last-Modified', section: 'RFC 9111 §3.4', input: { stored: { etag: '"a"', 'last-modified': LM }, incoming: { etag: '"a"', 'last-modified': LM_PLUS_1H } }, expected: true },
  { name: 'different ETags', section: 'RFC 9111 §3.4', input: { stored: { etag: '"a"' }, incoming: { etag: '"b"' } }, expected: false },
  { name: 'the same weak ETag', section: 'RFC 9110 §8.8.3.2', input: { stored: { etag: 'W/"a"' }, incoming: { etag: 'W/"a"' } }, expected: false },
  { name: 'weak and strong with the same opaque-tag', section: 'RFC 9110 §8.8.3.2', input: { stored: { etag: '"a"' }, incoming: { etag: 'W/"a"' } }, expected: false },
  { name: 'only the stored response has an ETag', section: 'RFC 9111 §3.4', input: { stored: { etag: '"a"', 'last-modified': LM, date: LM_PLUS_1H }, incoming: { 'last-modified': LM } }, expected: false },
  { name: 'only the new response has an ETag', section: 'RFC 9111 §3.4', input: { stored: { 'last-modified': LM, date: LM_PLUS_1H }, incoming: { etag: '"a"', 'last-modified': LM } }, expected: false },
  { name: 'malformed ETags', section: 'RFC 9110 §8.8.3', input: { stored: { etag: 'abc' }, incoming: { etag: 'abc' } }, expected: false },
  { name: 'several ETag lines', section: 'RFC 9110 §8.8.3', input: { stored: { etag: ['"a"', '"a"'] }, incoming: { etag: '"a"' } }, expected: false },
  { name: 'no ETag, the same strong Last-Modified', section: 'RFC 9110 §8.8.2.2', input: { stored: { 'last-modified': LM, date: LM_PLUS_1H }, incoming: { 'last-modified': LM } }, expected: true },
  { name: 'no ETag, Date exactly one second later', section: 'RFC 9110 §8.8.2.2', input: { stored: { 'last-modified': LM, date: LM_PLUS_1S }, incoming: { 'last-modified': LM } }, expected: true },
  { name: 'no ETag, the same instant in another date format', section: 'RFC 9110 §8.8.2.2', input: { stored: { 'last-modified': LM, date: LM_PLUS_1H }, incoming: { 'last-modified': LM_RFC850 } }, expected: true },
  { name: 'no ETag, Last-Modified equal to Date (weak)', section: 'RFC 9110 §8.8.2.2', input: { stored: { 'last-modified': LM, date: LM }, incoming: { 'last-modified': LM } }, expected: false },
  { name: 'no ETag, no stored Date (weak)', section: 'RFC 9110 §8.8.2.2', input: { stored: { 'last-modified': LM }, incoming: { 'last-modified': LM } }, expected: false },
  { name: 'no ETag, different Last-Modified', section: 'RFC 9111 §3.4', input: { stored: { 'last-modified': LM, date: LM_PLUS_1H }, incoming: { 'last-modified': LM_PLUS_1S } }, expected: false },
  { name: 'no ETag, no new Last-Modified', section: 'RFC 9111 §3.4', input: { stored: { 'last-modified': LM, date: LM_PLUS_1H }, incoming: {} }, expected: false },
  { name: 'no validator at all', section: 'RFC 9111 §3.4', input: { stored: { date: LM }, incoming: {} }, expected: false },
];

for (const c of combineCases) {
  void test(`${c.section}: canCombineParts ${c.name}`, () => {
    assert.equal(canCombineParts(c.input.stored, c.input.incoming), c.expected);
  });
}
