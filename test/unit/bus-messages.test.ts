// The bus's messages: request validation, and the signed envelope (seal/open) with every way an
// envelope can be forged or garbled. open() must never throw, whatever arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { MiniCdnError } from '../../common/errors.js';
import {
  buildInvalidation, MAX_ENVELOPE_BYTES, MAX_TAG_CHARS, MAX_TARGETS, MAX_URL_CHARS, open, seal,
} from '../../edge/bus/messages.js';
import type { Ack, Invalidation, InvalidationRequest, SigningKeys } from '../../edge/bus/types.js';

const IDS = { epoch: 'e1', seq: 7, id: 'abc123', issuedAtMs: 1_700_000_000_000 };
const KEYS: SigningKeys = { current: 'a', keys: { a: 'secret-a' } };
const NS = 'ns-a';
/** What the MAC covers (edge/bus/messages.ts macInput), restated as the wire format's definition. */
const macInput = (namespace: string, body: string): string => `mini-cdn-bus/2 ${namespace.length}:${namespace}\n${body}`;
const INV: Invalidation = {
  v: 1, epoch: 'e1', seq: 7, id: 'abc123', issuedAtMs: 1_700_000_000_000,
  urls: ['http://example.com/a?b=1'], prefixes: ['https://example.com/img/'], tags: ['product-42'], all: false, soft: true,
};
const ACK: Ack = { v: 1, id: 'abc123', seq: 7, edgeId: 'edge-1', tookMs: 12.5 };

/** An envelope built by hand: any body text, signed correctly with `secret` for NS unless told otherwise. */
function envelope(kind: string, body: string, fields: Record<string, unknown> = {}, secret = 'secret-a'): string {
  const sig = createHmac('sha256', secret).update(macInput(NS, body)).digest('hex');
  return JSON.stringify({ v: 2, kind, kid: 'a', sig, body, ...fields });
}

function invBody(changes: Record<string, unknown>): string {
  return JSON.stringify({ ...INV, ...changes });
}

function invalid(request: unknown): () => void {
  return () => buildInvalidation(request as InvalidationRequest, IDS);
}

const isInvalid = (err: unknown): boolean => err instanceof MiniCdnError && err.code === 'MCDN_INVALIDATION_INVALID';

// --- buildInvalidation -----------------------------------------------------------------------

const valid: [string, InvalidationRequest, Partial<Invalidation>][] = [
  ['urls', { urls: ['http://example.com/a'] }, { urls: ['http://example.com/a'] }],
  ['urls normalized to href', { urls: ['HTTP://Example.COM:80/a b?x'] }, { urls: ['http://example.com/a%20b?x'] }],
  ['urls de-duplicated after normalizing', { urls: ['http://a.test/x', 'http://A.test/x', 'http://a.test/x'] }, { urls: ['http://a.test/x'] }],
  ['prefixes kept as given', { prefixes: ['https://example.com/img/th'] }, { prefixes: ['https://example.com/img/th'] }],
  ['prefix of a bare origin', { prefixes: ['https://Example.com'] }, { prefixes: ['https://Example.com'] }],
  ['tags', { tags: ['product-42', 'cat:shoes', 'ünïcode'] }, { tags: ['product-42', 'cat:shoes', 'ünïcode'] }],
  ['tags de-duplicated', { tags: ['t', 't', 'u'] }, { tags: ['t', 'u'] }],
  ['all', { all: true }, { all: true, soft: false }],
  ['soft', { tags: ['t'], soft: true }, { soft: true, all: false }],
  ['an empty list beside a target', { urls: [], tags: ['t'] }, { urls: [], tags: ['t'] }],
  ['every kind at once', { urls: ['https://x.test/'], prefixes: ['http://x.test/p'], tags: ['t'], all: true, soft: false }, { all: true }],
  ['the maximum number of entries', { tags: Array.from({ length: MAX_TARGETS }, (_, i) => `t${i}`) }, {}],
  ['a tag of the maximum length', { tags: ['t'.repeat(MAX_TAG_CHARS)] }, {}],
];

for (const [name, request, expected] of valid) {
  test(`buildInvalidation accepts ${name}`, () => {
    const message = buildInvalidation(request, IDS);
    assert.deepEqual(Object.keys(message), ['v', 'epoch', 'seq', 'id', 'issuedAtMs', 'urls', 'prefixes', 'tags', 'all', 'soft']);
    assert.equal(message.v, 1);
    assert.equal(message.seq, IDS.seq);
    assert.equal(message.epoch, IDS.epoch);
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(message[key as keyof Invalidation], value, key);
    // Whatever build accepts, the envelope carries.
    const opened = open(seal('inv', message, KEYS, NS), KEYS, NS);
    assert.ok(opened.ok, opened.ok ? '' : opened.detail);
  });
}

const invalidRequests: [string, unknown, RegExp][] = [
  ['no target at all', {}, /nothing to invalidate/],
  ['only empty lists', { urls: [], prefixes: [], tags: [] }, /nothing to invalidate/],
  ['all: false and nothing else', { all: false, soft: true }, /nothing to invalidate/],
  ['not an object', 'http://example.com/', /JSON object/],
  ['null', null, /JSON object/],
  ['an array', [{ urls: ['http://a.test/'] }], /JSON object/],
  ['a relative URL', { urls: ['/a/b'] }, /urls\[0\].*not an absolute URL/],
  ['a URL without scheme', { urls: ['http://ok.test/', 'example.com/a'] }, /urls\[1\]/],
  ['an ftp: URL', { urls: ['ftp://example.com/file'] }, /urls\[0\].*http: or https:/],
  ['a javascript: URL', { urls: ['javascript:alert(1)'] }, /http: or https:/],
  ['an empty URL', { urls: [''] }, /urls\[0\]/],
  ['a too long URL', { urls: [`http://a.test/${'x'.repeat(MAX_URL_CHARS)}`] }, /urls\[0\].*longer/],
  ['a URL that grows too long once normalized', { urls: [`http://a.test/${' '.repeat(MAX_URL_CHARS - 20)}x`] }, /normalized/],
  ['a relative prefix', { prefixes: ['/img/'] }, /prefixes\[0\]/],
  ['an ftp: prefix', { prefixes: ['ftp://a.test/'] }, /prefixes\[0\].*http: or https:/],
  ['too many urls', { urls: Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `http://a.test/${i}`) }, /urls has 1001 entries/],
  ['too many prefixes', { prefixes: Array.from({ length: MAX_TARGETS + 1 }, () => 'http://a.test/') }, /prefixes has/],
  ['too many tags', { tags: Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `t${i}`) }, /tags has/],
  ['an empty tag', { tags: [''] }, /tags\[0\].*empty/],
  ['a tag with a space', { tags: ['a b'] }, /tags\[0\].*whitespace/],
  ['a tag with a tab', { tags: ['ok', 'a\tb'] }, /tags\[1\]/],
  ['a tag with a comma', { tags: ['a,b'] }, /commas/],
  ['a tag with a control character', { tags: ['a\u0001'] }, /control/],
  ['a tag with a newline', { tags: ['a\n'] }, /tags\[0\]/],
  ['a tag with a no-break space', { tags: ['a\u00a0b'] }, /tags\[0\]/],
  ['a too long tag', { tags: ['t'.repeat(MAX_TAG_CHARS + 1)] }, /at most 256/],
  ['unknown field url', { url: ['http://a.test/'] }, /unknown field "url"/],
  ['unknown field beside valid ones', { tags: ['t'], purge: true }, /unknown field "purge"/],
  ['urls as a string', { urls: 'http://a.test/' }, /urls must be an array/],
  ['urls as null', { urls: null }, /urls must be an array/],
  ['tags as an object', { tags: { t: true } }, /tags must be an array/],
  ['a number among urls', { urls: ['http://a.test/', 42] }, /urls\[1\] must be a string/],
  ['a null tag', { tags: [null] }, /tags\[0\] must be a string/],
  ['all as a string', { all: 'true' }, /all must be true or false/],
  ['soft as a number', { tags: ['t'], soft: 1 }, /soft must be true or false/],
  ['a body too large for one envelope', { urls: Array.from({ length: 200 }, (_, i) => `http://a.test/${i}/${'x'.repeat(8000)}`) }, /too large/],
];

for (const [name, request, detail] of invalidRequests) {
  test(`buildInvalidation rejects ${name}`, () => {
    assert.throws(invalid(request), (err: unknown) => isInvalid(err) && detail.test((err as Error).message));
  });
}

test('buildInvalidation rejects numbering that open() would refuse, as an internal fault', () => {
  assert.throws(() => buildInvalidation({ all: true }, { ...IDS, seq: 0 }), (err: unknown) => err instanceof MiniCdnError && err.code === 'MCDN_INTERNAL');
});

// --- seal / open -----------------------------------------------------------------------------

test('seal then open round-trips an invalidation', () => {
  const sealed = seal('inv', INV, KEYS, NS);
  const parsed = JSON.parse(sealed) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['v', 'kind', 'kid', 'sig', 'body']);
  assert.equal(parsed.kind, 'inv');
  assert.equal(parsed.kid, 'a');
  assert.match(String(parsed.sig), /^[0-9a-f]{64}$/);
  assert.deepEqual(open(sealed, KEYS, NS), { ok: true, kind: 'inv', message: INV });
  assert.deepEqual(open(Buffer.from(sealed), KEYS, NS), { ok: true, kind: 'inv', message: INV });
});

test('seal then open round-trips an ack', () => {
  assert.deepEqual(open(seal('ack', ACK, KEYS, NS), KEYS, NS), { ok: true, kind: 'ack', message: ACK });
});

test('seal carries only the contract fields', () => {
  const extra = { ...INV, debug: 'x' } as Invalidation;
  const opened = open(seal('inv', extra, KEYS, NS), KEYS, NS);
  assert.deepEqual(opened, { ok: true, kind: 'inv', message: INV });
});

test('seal refuses an unknown current key, an invalid message and a kind mismatch', () => {
  const internal = (err: unknown): boolean => err instanceof MiniCdnError && err.code === 'MCDN_INTERNAL';
  assert.throws(() => seal('inv', INV, { current: 'z', keys: { a: 'secret-a' } }, NS), internal);
  assert.throws(() => seal('inv', { ...INV, seq: -1 }, KEYS, NS), internal);
  assert.throws(() => seal('ack', INV, KEYS, NS), internal);
  assert.throws(() => seal('inv', ACK, KEYS, NS), internal);
});

test('key rotation: sealed with a, opened with keys {a, b} and current b', () => {
  const sealed = seal('inv', INV, KEYS, NS);
  const rotated: SigningKeys = { current: 'b', keys: { a: 'secret-a', b: 'secret-b' } };
  assert.deepEqual(open(sealed, rotated, NS), { ok: true, kind: 'inv', message: INV });
  const resealed = seal('inv', INV, rotated, NS);
  assert.equal((JSON.parse(resealed) as { kid: string }).kid, 'b');
  assert.equal(open(resealed, rotated, NS).ok, true);
  // Once a is retired, its envelopes no longer verify.
  assert.deepEqual(open(sealed, { current: 'b', keys: { b: 'secret-b' } }, NS).ok, false);
});

test('a message sealed for one namespace does not open in another that shares the secret (forged)', () => {
  const sealed = seal('inv', INV, KEYS, 'ns-a');
  assert.equal(open(sealed, KEYS, 'ns-a').ok, true);
  for (const other of ['ns-b', 'ns-', 'ns-a ', '', 'NS-A']) {
    const opened = open(sealed, KEYS, other);
    assert.equal(!opened.ok && opened.reason, 'forged', `namespace ${JSON.stringify(other)}`);
  }
  // Length-prefixed: a namespace cannot absorb the start of the body, nor the body the end of the namespace.
  const ackIn = seal('ack', ACK, KEYS, 'ns');
  assert.equal(open(ackIn, KEYS, 'ns').ok, true);
  assert.equal(open(ackIn, KEYS, 'ns\n').ok, false);
});

test('the signature is the HMAC-SHA256 of the length-prefixed namespace, then the body', () => {
  const parsed = JSON.parse(seal('inv', INV, KEYS, NS)) as { v: number; sig: string; body: string };
  assert.equal(parsed.v, 2);
  assert.equal(parsed.sig, createHmac('sha256', 'secret-a').update(macInput(NS, parsed.body)).digest('hex'));
});

const good = JSON.parse(seal('inv', INV, KEYS, NS)) as Record<string, string | number>;
const goodSig = String(good.sig);
const flipped = (goodSig[0] === '0' ? '1' : '0') + goodSig.slice(1);

const forgedForms: [string, string][] = [
  ['signed with the wrong key', seal('inv', INV, { current: 'a', keys: { a: 'not-the-secret' } }, NS)],
  ['an unknown kid', JSON.stringify({ ...good, kid: 'zzz' })],
  ['a kid naming an Object.prototype property', JSON.stringify({ ...good, kid: 'constructor' })],
  ['a kid that is not a string', JSON.stringify({ ...good, kid: 1 })],
  ['no kid', JSON.stringify({ ...good, kid: undefined })],
  ['one hex digit of sig flipped', JSON.stringify({ ...good, sig: flipped })],
  ['a sig of another length', JSON.stringify({ ...good, sig: goodSig.slice(2) })],
  ['a longer sig', JSON.stringify({ ...good, sig: `${goodSig}00` })],
  ['an upper-case sig', JSON.stringify({ ...good, sig: goodSig.toUpperCase() })],
  ['a sig that is not hex', JSON.stringify({ ...good, sig: 'g'.repeat(64) })],
  ['an empty sig', JSON.stringify({ ...good, sig: '' })],
  ['no sig', JSON.stringify({ ...good, sig: undefined })],
  ['a numeric sig', JSON.stringify({ ...good, sig: 5 })],
  ['the body altered after signing', JSON.stringify({ ...good, body: String(good.body).replace('"seq":7', '"seq":8') })],
  ['the body re-serialized with spaces', JSON.stringify({ ...good, body: JSON.stringify(INV, null, 1) })],
  ['an ack signature on another body', JSON.stringify({ ...good, sig: (JSON.parse(seal('ack', ACK, KEYS, NS)) as { sig: string }).sig })],
];

for (const [name, raw] of forgedForms) {
  test(`open: ${name} → forged`, () => {
    const opened = open(raw, KEYS, NS);
    assert.equal(opened.ok, false);
    assert.equal(!opened.ok && opened.reason, 'forged', !opened.ok ? opened.detail : '');
  });
}

const garbledForms: [string, string | Buffer][] = [
  ['not JSON', 'hello'],
  ['empty input', ''],
  ['truncated JSON', seal('inv', INV, KEYS, NS).slice(0, 40)],
  ['a JSON array', '[1,2,3]'],
  ['JSON null', 'null'],
  ['a JSON string', '"x"'],
  ['envelope without body', JSON.stringify({ ...good, body: undefined })],
  ['envelope without v', JSON.stringify({ ...good, v: undefined })],
  ['envelope without kind', JSON.stringify({ ...good, kind: undefined })],
  ['envelope v 1', JSON.stringify({ ...good, v: 1 })],
  ['envelope v 3', JSON.stringify({ ...good, v: 3 })],
  // The format before namespaces were signed: its MAC covers the body only, so it opened in every namespace.
  ['a version-1 envelope (body-only MAC)', JSON.stringify({ ...good, v: 1, sig: createHmac('sha256', 'secret-a').update(String(good.body)).digest('hex') })],
  ['envelope v "1"', JSON.stringify({ ...good, v: '1' })],
  ['unknown kind', JSON.stringify({ ...good, kind: 'purge' })],
  ['envelope with an extra field', JSON.stringify({ ...good, extra: 1 })],
  ['envelope with a __proto__ field', JSON.stringify(good).replace('{', '{"__proto__":{},')],
  ['a body that is an object, not text', JSON.stringify({ ...good, body: INV })],
  ['a signed body that is not JSON', envelope('inv', 'not json')],
  ['a signed body that is a JSON array', envelope('inv', '[]')],
  ['a signed body missing seq', envelope('inv', invBody({ seq: undefined }))],
  ['a signed body missing urls', envelope('inv', invBody({ urls: undefined }))],
  ['a signed body with an extra field', envelope('inv', invBody({ extra: true }))],
  ['a signed body with seq 0', envelope('inv', invBody({ seq: 0 }))],
  ['a signed body with seq -1', envelope('inv', invBody({ seq: -1 }))],
  ['a signed body with seq 1.5', envelope('inv', invBody({ seq: 1.5 }))],
  ['a signed body with seq "1"', envelope('inv', invBody({ seq: '1' }))],
  ['a signed body with seq beyond safe integers', envelope('inv', invBody({ seq: 2 ** 53 }))],
  ['a signed body with v 2', envelope('inv', invBody({ v: 2 }))],
  ['a signed body with an empty epoch', envelope('inv', invBody({ epoch: '' }))],
  ['a signed body with a long epoch', envelope('inv', invBody({ epoch: 'e'.repeat(65) }))],
  ['a signed body with a long id', envelope('inv', invBody({ id: 'i'.repeat(65) }))],
  ['a signed body with negative issuedAtMs', envelope('inv', invBody({ issuedAtMs: -1 }))],
  ['a signed body with urls not an array', envelope('inv', invBody({ urls: 'http://a.test/' }))],
  ['a signed body with a number in tags', envelope('inv', invBody({ tags: [1] }))],
  ['a signed body with a bad tag', envelope('inv', invBody({ tags: ['a b'] }))],
  ['a signed body with too many urls', envelope('inv', invBody({ urls: Array.from({ length: MAX_TARGETS + 1 }, () => 'http://a.test/') }))],
  ['a signed body with a too long prefix', envelope('inv', invBody({ prefixes: [`http://a.test/${'p'.repeat(MAX_URL_CHARS)}`] }))],
  ['a signed body with all as a string', envelope('inv', invBody({ all: 'false' }))],
  ['a signed body with soft missing', envelope('inv', invBody({ soft: undefined }))],
  ['kind inv carrying an ack', envelope('inv', JSON.stringify(ACK))],
  ['kind ack carrying an invalidation', envelope('ack', JSON.stringify(INV))],
  ['an ack with an empty edgeId', envelope('ack', JSON.stringify({ ...ACK, edgeId: '' }))],
  ['an ack with a long edgeId', envelope('ack', JSON.stringify({ ...ACK, edgeId: 'x'.repeat(129) }))],
  ['an ack with negative tookMs', envelope('ack', JSON.stringify({ ...ACK, tookMs: -5 }))],
  ['an ack with an extra field', envelope('ack', JSON.stringify({ ...ACK, at: 1 }))],
  ['an ack with seq 0', envelope('ack', JSON.stringify({ ...ACK, seq: 0 }))],
  ['huge input', ' '.repeat(MAX_ENVELOPE_BYTES + 1)],
  ['huge input in multi-byte characters', 'é'.repeat(MAX_ENVELOPE_BYTES / 2 + 1)],
  ['a huge Buffer', Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20)],
  ['random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256))],
  ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
];

for (const [name, raw] of garbledForms) {
  test(`open: ${name} → garbled`, () => {
    const opened = open(raw, KEYS, NS);
    assert.equal(opened.ok, false);
    assert.equal(!opened.ok && opened.reason, 'garbled', !opened.ok ? opened.detail : '');
  });
}

test('open: a signed body with seq 1e0 is seq 1 (JSON numbers, not text)', () => {
  const opened = open(envelope('inv', invBody({ seq: 1 }).replace('"seq":1', '"seq":1e0')), KEYS, NS);
  assert.ok(opened.ok && opened.message.seq === 1);
});

test('open: inputs that are not text or bytes → garbled, not thrown', () => {
  for (const raw of [undefined, null, 42, {}, [], new Uint8Array(3)]) {
    const opened = open(raw as unknown as string, KEYS, NS);
    assert.equal(!opened.ok && opened.reason, 'garbled');
  }
  const opened = open(seal('inv', INV, KEYS, NS), undefined as unknown as SigningKeys, NS);
  assert.equal(opened.ok, false);
});

/** Mulberry32: a small seeded PRNG, so that a failing case can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('open never throws: 2000 random strings and mutations of a valid envelope', () => {
  const random = prng(20240611);
  const pick = (n: number): number => Math.floor(random() * n);
  const alphabet = '{}[]":,\\ 0123456789abcdefvkindsigbodyinvack-.eE+\u0000\u00e9\ud83d\ude00\ud800';
  const base = seal('inv', INV, KEYS, NS);
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    let raw: string | Buffer;
    const mode = i % 4;
    if (mode === 0) {
      raw = Array.from({ length: pick(200) }, () => alphabet[pick(alphabet.length)]).join('');
    } else if (mode === 1) {
      raw = Buffer.from(Array.from({ length: pick(300) }, () => pick(256)));
    } else {
      const chars = [...base];
      for (let m = 0, n = 1 + pick(4); m < n; m++) {
        const at = pick(chars.length);
        const op = pick(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[pick(alphabet.length)] ?? '');
        else chars[at] = alphabet[pick(alphabet.length)] ?? '';
      }
      raw = mode === 2 ? chars.join('') : Buffer.from(chars.join(''));
    }
    let opened;
    try {
      opened = open(raw, KEYS, NS);
    } catch (err) {
      assert.fail(`open threw on case ${i}: ${String(err)}`);
    }
    if (opened.ok) {
      accepted++;
      // A mutation that still verifies can only have touched the envelope around the signed body.
      assert.deepEqual(opened.message, INV);
    } else {
      assert.ok(opened.reason === 'garbled' || opened.reason === 'forged');
      assert.equal(typeof opened.detail, 'string');
    }
  }
  assert.ok(accepted < 2000);
});
