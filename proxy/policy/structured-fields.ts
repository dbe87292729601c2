// Structured Field Values (RFC 8941, RFC 9651): the parsing of Dictionaries and Lists that
// CDN-Cache-Control (RFC 9213 §2.1) and Cache-Status (RFC 9211 §2) need, and serialization of
// tokens and strings. A parse failure returns undefined: the whole field is then ignored.
import { isTchar } from './fields.js';

export type SfBareItem =
  | { kind: 'integer'; value: number }
  | { kind: 'decimal'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'token'; value: string }
  | { kind: 'bytes'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'date'; value: number }
  | { kind: 'display-string'; value: string };

export type SfParams = ReadonlyMap<string, SfBareItem>;

const NO_PARAMS: SfParams = new Map();
export type SfMember =
  | { kind: 'item'; item: SfBareItem; params: SfParams }
  | { kind: 'inner-list'; items: Array<{ item: SfBareItem; params: SfParams }>; params: SfParams };

const SP = 0x20;
const HTAB = 0x09;

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }
  skipSp(): void {
    while (this.peek() === SP) this.pos++;
  }
  skipOws(): void {
    for (let c = this.peek(); c === SP || c === HTAB; c = this.peek()) this.pos++;
  }

  // RFC 9651 §4.2.3.3: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
  key(): string | undefined {
    const start = this.pos;
    const first = this.peek();
    if (!(isLcAlpha(first) || first === 0x2a)) return undefined;
    this.pos++;
    for (let c = this.peek(); isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a; c = this.peek()) {
      this.pos++;
    }
    return this.s.slice(start, this.pos);
  }

  // RFC 9651 §4.2.3.2
  params(): SfParams | undefined {
    if (this.peek() !== 0x3b /* ; */) return NO_PARAMS; // the common case, without allocating
    const params = new Map<string, SfBareItem>();
    while (this.peek() === 0x3b /* ; */) {
      this.pos++;
      this.skipSp();
      const key = this.key();
      if (key === undefined) return undefined;
      let value: SfBareItem | undefined = { kind: 'boolean', value: true };
      if (this.peek() === 0x3d /* = */) {
        this.pos++;
        value = this.bareItem();
        if (value === undefined) return undefined;
      }
      params.set(key, value);
    }
    return params;
  }

  // RFC 9651 §4.2.1.1 (item or inner list)
  member(): SfMember | undefined {
    if (this.peek() === 0x28 /* ( */) return this.innerList();
    const item = this.bareItem();
    if (item === undefined) return undefined;
    const params = this.params();
    return params === undefined ? undefined : { kind: 'item', item, params };
  }

  // RFC 9651 §4.2.1.2
  innerList(): SfMember | undefined {
    this.pos++; // (
    const items: Array<{ item: SfBareItem; params: SfParams }> = [];
    for (;;) {
      this.skipSp();
      if (this.peek() === 0x29 /* ) */) {
        this.pos++;
        const params = this.params();
        return params === undefined ? undefined : { kind: 'inner-list', items, params };
      }
      const item = this.bareItem();
      if (item === undefined) return undefined;
      const params = this.params();
      if (params === undefined) return undefined;
      items.push({ item, params });
      const c = this.peek();
      if (c !== SP && c !== 0x29) return undefined;
    }
  }

  // RFC 9651 §4.2.3.1
  bareItem(): SfBareItem | undefined {
    const c = this.peek();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x22) return this.string();
    if (c === 0x2a || isAlpha(c)) return this.token();
    if (c === 0x3a) return this.bytes();
    if (c === 0x3f) return this.boolean();
    if (c === 0x40) return this.date();
    if (c === 0x25) return this.displayString();
    return undefined;
  }

  // RFC 9651 §4.2.4: at most 15 integer digits, or 12 + "." + 1..3 decimal digits.
  number(): SfBareItem | undefined {
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++;
    const digitsStart = this.pos;
    if (!isDigit(this.peek())) return undefined;
    let dot = -1;
    for (let c = this.peek(); ; c = this.peek()) {
      if (isDigit(c)) this.pos++;
      else if (c === 0x2e && dot < 0) {
        if (this.pos - digitsStart > 12) return undefined;
        dot = this.pos++;
      } else break;
      if (dot < 0 && this.pos - digitsStart > 15) return undefined;
      if (dot >= 0 && this.pos - dot > 4) return undefined;
    }
    const value = Number(this.s.slice(start, this.pos));
    if (dot < 0) return { kind: 'integer', value };
    if (dot === this.pos - 1) return undefined; // "1." is not a decimal
    return { kind: 'decimal', value };
  }

  // RFC 9651 §4.2.5: printable ASCII; only \" and \\ escapes.
  string(): SfBareItem | undefined {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === -1) return undefined;
      this.pos++;
      if (c === 0x5c) {
        const next = this.peek();
        if (next !== 0x22 && next !== 0x5c) return undefined;
        out += this.s[this.pos];
        this.pos++;
      } else if (c === 0x22) {
        return { kind: 'string', value: out };
      } else if (c < 0x20 || c > 0x7e) {
        return undefined;
      } else {
        out += this.s[this.pos - 1];
      }
    }
  }

  // RFC 9651 §4.2.6: tchar / ":" / "/"
  token(): SfBareItem {
    const start = this.pos;
    this.pos++;
    for (let c = this.peek(); c >= 0 && (isTchar(c) || c === 0x3a || c === 0x2f); c = this.peek()) this.pos++;
    return { kind: 'token', value: this.s.slice(start, this.pos) };
  }

  // RFC 9651 §4.2.7
  bytes(): SfBareItem | undefined {
    const start = ++this.pos;
    for (let c = this.peek(); c !== 0x3a; c = this.peek()) {
      if (c === -1 || !(isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2f || c === 0x3d)) return undefined;
      this.pos++;
    }
    this.pos++;
    return { kind: 'bytes', value: this.s.slice(start, this.pos - 1) };
  }

  // RFC 9651 §4.2.8
  boolean(): SfBareItem | undefined {
    this.pos++;
    const c = this.peek();
    if (c !== 0x30 && c !== 0x31) return undefined;
    this.pos++;
    return { kind: 'boolean', value: c === 0x31 };
  }

  // RFC 9651 §4.2.9
  date(): SfBareItem | undefined {
    this.pos++;
    const n = this.number();
    return n !== undefined && n.kind === 'integer' ? { kind: 'date', value: n.value } : undefined;
  }

  // RFC 9651 §4.2.10: %"..." with %xx lower-case hex escapes of UTF-8 bytes.
  displayString(): SfBareItem | undefined {
    this.pos++;
    if (this.peek() !== 0x22) return undefined;
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === -1 || c < 0x20 || c > 0x7e) return undefined;
      this.pos++;
      if (c === 0x22) break;
      if (c === 0x25) {
        const hi = lowerHexValue(this.peek());
        this.pos++;
        const lo = lowerHexValue(this.peek());
        this.pos++;
        if (hi < 0 || lo < 0) return undefined;
        bytes.push(hi * 16 + lo);
      } else bytes.push(c);
    }
    try {
      return { kind: 'display-string', value: new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes)) };
    } catch {
      return undefined;
    }
  }
}

/** RFC 9651 §4.2.2: a Dictionary; undefined on any parse error. Duplicate keys: the last wins. */
export function parseSfDictionary(input: string): Map<string, SfMember> | undefined {
  const p = new Parser(input);
  const dict = new Map<string, SfMember>();
  p.skipSp();
  while (p.pos < input.length) {
    const key = p.key();
    if (key === undefined) return undefined;
    let member: SfMember | undefined;
    if (p.peek() === 0x3d /* = */) {
      p.pos++;
      member = p.member();
    } else {
      const params = p.params();
      member = params === undefined ? undefined : { kind: 'item', item: { kind: 'boolean', value: true }, params };
    }
    if (member === undefined) return undefined;
    dict.delete(key); // RFC 9651 §4.2.2: a later duplicate overwrites the earlier one
    dict.set(key, member);
    if (!afterMember(p)) return undefined;
  }
  return dict;
}

/** RFC 9651 §4.2.1: a List; undefined on any parse error. */
export function parseSfList(input: string): SfMember[] | undefined {
  const p = new Parser(input);
  const list: SfMember[] = [];
  p.skipSp();
  while (p.pos < input.length) {
    const member = p.member();
    if (member === undefined) return undefined;
    list.push(member);
    if (!afterMember(p)) return undefined;
  }
  return list;
}

/** OWS, then end of input or a comma that is followed by another member. */
function afterMember(p: Parser): boolean {
  p.skipOws();
  if (p.pos >= p.s.length) return true;
  if (p.peek() !== 0x2c) return false;
  p.pos++;
  p.skipOws();
  return p.pos < p.s.length; // a trailing comma is an error
}

/** True when text is a valid sf-token (RFC 9651 §3.3.4). */
export function isSfToken(text: string): boolean {
  if (text.length === 0) return false;
  const first = text.charCodeAt(0);
  if (!(isAlpha(first) || first === 0x2a)) return false;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(isTchar(c) || c === 0x3a || c === 0x2f)) return false;
  }
  return true;
}

/** RFC 9651 §4.1.6: an sf-string; characters outside printable ASCII become "?". */
export function serializeSfString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + text[i];
    else if (c < 0x20 || c > 0x7e) out += '?';
    else out += text[i];
  }
  return out + '"';
}

/** A token when valid as one, an sf-string otherwise. */
export function serializeSfTokenOrString(text: string): string {
  return isSfToken(text) ? text : serializeSfString(text);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isAlpha(c: number): boolean {
  return isLcAlpha(c) || (c >= 0x41 && c <= 0x5a);
}
function lowerHexValue(c: number): number {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}
