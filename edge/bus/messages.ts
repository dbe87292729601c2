// The bus's messages: validating a publisher's request into an Invalidation, and the signed
// envelope every message travels in. An envelope carries the body as JSON text and an
// HMAC-SHA256 of the bus's namespace and exactly that text, so a receiver verifies before it
// parses anything it did not sign, and a message sealed for one namespace does not open in
// another that shares the secret. Pure: no I/O, no clock reads (times are passed in). open()
// never throws.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MiniCdnError } from '../../common/errors.js';
import type { Ack, Invalidation, InvalidationRequest, SigningKeys } from './types.js';

/** Entries per list (urls, prefixes, tags). */
export const MAX_TARGETS = 1000;
export const MAX_URL_CHARS = 8192;
export const MAX_TAG_CHARS = 256;
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

const MAX_EPOCH_CHARS = 64;
const MAX_ID_CHARS = 64;
const MAX_EDGE_ID_CHARS = 128;
/** Room an envelope keeps for everything but its body (v, kind, kid, sig, punctuation). */
const ENVELOPE_HEADROOM = 4096;
/** How much of an offending value an error message quotes. */
const QUOTE_CHARS = 80;

const REQUEST_FIELDS = ['urls', 'prefixes', 'tags', 'all', 'soft'] as const;
const INVALIDATION_FIELDS = ['v', 'epoch', 'seq', 'id', 'issuedAtMs', 'urls', 'prefixes', 'tags', 'all', 'soft'] as const;
const ACK_FIELDS = ['v', 'id', 'seq', 'edgeId', 'tookMs'] as const;
const ENVELOPE_FIELDS: ReadonlySet<string> = new Set(['v', 'kind', 'kid', 'sig', 'body']);
/**
 * Version of the envelope (not of its body): 2 signs the namespace with the body. A version-1
 * envelope (body only) is refused: it would open in every namespace that shares the secret.
 */
export const ENVELOPE_VERSION = 2;
/** A tag is one token of a comma-separated Cache-Tag / Surrogate-Key list: no separators, no controls. */
const TAG_FORBIDDEN = /[\s\p{Cc},]/u;
const SIG_HEX = /^[0-9a-f]{64}$/;

type Fields = Record<string, unknown>;

export type Opened =
  | { ok: true; kind: 'inv'; message: Invalidation }
  | { ok: true; kind: 'ack'; message: Ack }
  | { ok: false; reason: 'garbled' | 'forged'; detail: string };

/**
 * Validates a publisher's request and builds the message. Throws MiniCdnError
 * ('MCDN_INVALIDATION_INVALID') naming the bad field or entry. URLs become their normalized href;
 * prefixes are kept as given (a prefix may end mid-path) once they parse; lists are de-duplicated.
 */
export function buildInvalidation(
  request: InvalidationRequest,
  ids: { epoch: string; seq: number; id: string; issuedAtMs: number },
): Invalidation {
  if (!isRecord(request)) invalid('the request must be a JSON object');
  for (const key of Object.keys(request)) {
    if (!(REQUEST_FIELDS as readonly string[]).includes(key)) {
      invalid(`unknown field ${quote(key)} (the fields are ${REQUEST_FIELDS.join(', ')})`);
    }
  }
  const urls = requestList(request, 'urls', normalizeUrl);
  const prefixes = requestList(request, 'prefixes', (entry, where) => {
    normalizeUrl(entry, where);
    return entry;
  });
  const tags = requestList(request, 'tags', (entry, where) => {
    const problem = tagProblem(entry);
    if (problem !== undefined) invalid(`${where}: ${problem}`);
    return entry;
  });
  const all = requestFlag(request, 'all');
  const soft = requestFlag(request, 'soft');
  if (!all && urls.length === 0 && prefixes.length === 0 && tags.length === 0) {
    invalid('nothing to invalidate: give non-empty urls, prefixes or tags, or all: true');
  }
  const message: Invalidation = {
    v: 1, epoch: ids.epoch, seq: ids.seq, id: ids.id, issuedAtMs: ids.issuedAtMs, urls, prefixes, tags, all, soft,
  };
  const problem = invalidationProblem(message);
  if (problem !== undefined) throw new MiniCdnError('MCDN_INTERNAL', `cannot number an invalidation: ${problem}`);
  const bytes = Buffer.byteLength(JSON.stringify(JSON.stringify(message)));
  if (bytes > MAX_ENVELOPE_BYTES - ENVELOPE_HEADROOM) {
    invalid(`the invalidation is too large to send (${bytes} bytes; at most ${MAX_ENVELOPE_BYTES - ENVELOPE_HEADROOM})`);
  }
  return message;
}

/**
 * JSON text of a signed envelope:
 * {"v":2,"kind":"inv"|"ack","kid":"<key id>","sig":"<hex HMAC-SHA256 of namespace and body>","body":"<JSON text>"}
 * (see macInput). The body carries exactly the message's contract fields. Throws (MCDN_INTERNAL)
 * when the current key is not configured or the message would not pass open(): a bug here, not
 * the peer's problem.
 */
export function seal(kind: 'inv' | 'ack', message: Invalidation | Ack, signing: SigningKeys, namespace: string): string {
  const secret = secretOf(signing, signing.current);
  if (secret === undefined) {
    throw new MiniCdnError('MCDN_INTERNAL', `the current signing key ${quote(signing.current)} is not among the configured keys`);
  }
  const fields = kind === 'inv' ? INVALIDATION_FIELDS : ACK_FIELDS;
  const source = message as unknown as Fields;
  const canonical: Fields = {};
  for (const field of fields) canonical[field] = source[field];
  const problem = kind === 'inv' ? invalidationProblem(canonical) : ackProblem(canonical);
  if (problem !== undefined) throw new MiniCdnError('MCDN_INTERNAL', `refusing to seal an invalid ${kind} message: ${problem}`);
  const body = JSON.stringify(canonical);
  const envelope = JSON.stringify({ v: ENVELOPE_VERSION, kind, kid: signing.current, sig: sign(secret, namespace, body), body });
  if (Buffer.byteLength(envelope) > MAX_ENVELOPE_BYTES) {
    throw new MiniCdnError('MCDN_INTERNAL', `the sealed ${kind} message exceeds ${MAX_ENVELOPE_BYTES} bytes`);
  }
  return envelope;
}

/** Verifies (for `namespace`) and parses an envelope. Never throws, whatever the input. */
export function open(raw: string | Buffer, signing: SigningKeys, namespace: string): Opened {
  try {
    return openEnvelope(raw, signing, namespace);
  } catch (err) {
    // Unreachable by design; the contract is that a peer can never make a receiver throw.
    return garbled(`unreadable envelope (${err instanceof Error ? err.name : 'error'})`);
  }
}

function openEnvelope(raw: unknown, signing: SigningKeys, namespace: string): Opened {
  let text: string;
  if (typeof raw === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units: the cheap test first.
    if (raw.length > MAX_ENVELOPE_BYTES || Buffer.byteLength(raw) > MAX_ENVELOPE_BYTES) return garbled('envelope too large');
    text = raw;
  } else if (Buffer.isBuffer(raw)) {
    if (raw.length > MAX_ENVELOPE_BYTES) return garbled('envelope too large');
    text = raw.toString('utf8');
  } else {
    return garbled('envelope is neither text nor bytes');
  }
  const envelope = parseJson(text);
  if (!isRecord(envelope)) return garbled('envelope is not a JSON object');
  for (const key of Object.keys(envelope)) {
    if (!ENVELOPE_FIELDS.has(key)) return garbled(`envelope has an unknown field ${quote(key)}`);
  }
  if (envelope.v !== ENVELOPE_VERSION) return garbled(`unsupported envelope version (this bus reads version ${ENVELOPE_VERSION})`);
  const kind = envelope.kind;
  if (kind !== 'inv' && kind !== 'ack') return garbled('unknown message kind');
  const body = envelope.body;
  if (typeof body !== 'string') return garbled('envelope has no body text');

  const kid = envelope.kid;
  if (typeof kid !== 'string') return forged('no key id');
  const secret = secretOf(signing, kid);
  if (secret === undefined) return forged(`unknown key id ${quote(kid)}`);
  const sig = envelope.sig;
  if (typeof sig !== 'string') return forged('no signature');
  if (!SIG_HEX.test(sig)) return forged('malformed signature');
  if (typeof namespace !== 'string') return forged('no namespace to verify for');
  const expected = createHmac('sha256', secret).update(macInput(namespace, body), 'utf8').digest();
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return forged('signature mismatch');

  const message = parseJson(body);
  if (kind === 'inv') {
    const problem = invalidationProblem(message);
    return problem === undefined ? { ok: true, kind, message: message as Invalidation } : garbled(`invalid inv body: ${problem}`);
  }
  const problem = ackProblem(message);
  return problem === undefined ? { ok: true, kind, message: message as Ack } : garbled(`invalid ack body: ${problem}`);
}

/** What is wrong with an Invalidation body, or undefined when it is one. */
function invalidationProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not a JSON object';
  return (
    exactFields(value, INVALIDATION_FIELDS) ??
    (value.v !== 1 ? 'v must be 1' : undefined) ??
    boundedString(value.epoch, 'epoch', MAX_EPOCH_CHARS) ??
    sequenceProblem(value.seq) ??
    boundedString(value.id, 'id', MAX_ID_CHARS) ??
    nonNegative(value.issuedAtMs, 'issuedAtMs') ??
    listProblem(value.urls, 'urls', (entry) => lengthProblem(entry, MAX_URL_CHARS)) ??
    listProblem(value.prefixes, 'prefixes', (entry) => lengthProblem(entry, MAX_URL_CHARS)) ??
    listProblem(value.tags, 'tags', tagProblem) ??
    (typeof value.all !== 'boolean' ? 'all must be a boolean' : undefined) ??
    (typeof value.soft !== 'boolean' ? 'soft must be a boolean' : undefined)
  );
}

/** What is wrong with an Ack body, or undefined when it is one. */
function ackProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not a JSON object';
  return (
    exactFields(value, ACK_FIELDS) ??
    (value.v !== 1 ? 'v must be 1' : undefined) ??
    boundedString(value.id, 'id', MAX_ID_CHARS) ??
    sequenceProblem(value.seq) ??
    boundedString(value.edgeId, 'edgeId', MAX_EDGE_ID_CHARS) ??
    nonNegative(value.tookMs, 'tookMs')
  );
}

function exactFields(value: Fields, fields: readonly string[]): string | undefined {
  for (const field of fields) if (!Object.hasOwn(value, field)) return `missing field ${field}`;
  const keys = Object.keys(value);
  if (keys.length === fields.length) return undefined;
  const extra = keys.find((key) => !fields.includes(key)) ?? '';
  return `unknown field ${quote(extra)}`;
}

function boundedString(value: unknown, name: string, max: number): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${name} must be a non-empty string`;
  return value.length > max ? `${name} is longer than ${max} characters` : undefined;
}

function sequenceProblem(value: unknown): string | undefined {
  return Number.isSafeInteger(value) && (value as number) > 0 ? undefined : 'seq must be a positive integer';
}

function nonNegative(value: unknown, name: string): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : `${name} must be a finite number >= 0`;
}

function listProblem(value: unknown, name: string, entryProblem: (entry: string) => string | undefined): string | undefined {
  if (!Array.isArray(value)) return `${name} must be an array`;
  if (value.length > MAX_TARGETS) return `${name} has more than ${MAX_TARGETS} entries`;
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    if (typeof entry !== 'string') return `${name}[${i}] must be a string`;
    const problem = entryProblem(entry);
    if (problem !== undefined) return `${name}[${i}]: ${problem}`;
  }
  return undefined;
}

function lengthProblem(entry: string, max: number): string | undefined {
  if (entry.length === 0) return 'empty';
  return entry.length > max ? `longer than ${max} characters` : undefined;
}

function tagProblem(tag: string): string | undefined {
  if (tag.length === 0) return 'a tag must not be empty';
  if (tag.length > MAX_TAG_CHARS) return `a tag is at most ${MAX_TAG_CHARS} characters`;
  if (TAG_FORBIDDEN.test(tag)) return `${quote(tag)}: a tag must not contain whitespace, control characters or commas`;
  return undefined;
}

/** The de-duplicated entries of a request's list, each passed through `check` (which throws). */
function requestList(request: Fields, name: string, check: (entry: string, where: string) => string): string[] {
  const value = request[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(`${name} must be an array of strings`);
  if (value.length > MAX_TARGETS) invalid(`${name} has ${value.length} entries; at most ${MAX_TARGETS} per request`);
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    if (typeof entry !== 'string') invalid(`${name}[${i}] must be a string`);
    seen.add(check(entry, `${name}[${i}]`));
  }
  return [...seen];
}

function requestFlag(request: Fields, name: string): boolean {
  const value = request[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') invalid(`${name} must be true or false`);
  return value;
}

/** The normalized href of an absolute http(s) URL; throws otherwise. */
function normalizeUrl(entry: string, where: string): string {
  if (entry.length > MAX_URL_CHARS) invalid(`${where} is longer than ${MAX_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    invalid(`${where}: ${quote(entry)} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(`${where}: ${quote(entry)} is not an http: or https: URL`);
  if (url.href.length > MAX_URL_CHARS) invalid(`${where} is longer than ${MAX_URL_CHARS} characters once normalized`);
  return url.href;
}

function secretOf(signing: SigningKeys, kid: string): string | undefined {
  const keys: unknown = signing?.keys;
  if (!isRecord(keys) || !Object.hasOwn(keys, kid)) return undefined;
  const secret = keys[kid];
  return typeof secret === 'string' && secret.length > 0 ? secret : undefined;
}

/**
 * What the MAC covers: the namespace, length-prefixed so that no namespace/body split is
 * ambiguous, then the body text. The namespace travels nowhere: each side supplies its own.
 */
function macInput(namespace: string, body: string): string {
  return `mini-cdn-bus/${ENVELOPE_VERSION} ${namespace.length}:${namespace}\n${body}`;
}

function sign(secret: string, namespace: string, body: string): string {
  return createHmac('sha256', secret).update(macInput(namespace, body), 'utf8').digest('hex');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_CHARS ? `${value.slice(0, QUOTE_CHARS)}…` : value);
}

function invalid(message: string): never {
  throw new MiniCdnError('MCDN_INVALIDATION_INVALID', message);
}

function garbled(detail: string): Opened {
  return { ok: false, reason: 'garbled', detail };
}

function forged(detail: string): Opened {
  return { ok: false, reason: 'forged', detail };
}
