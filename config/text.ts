// Config text to a plain value, keeping positions: YAML through the `yaml` package's document
// (syntax errors and duplicate keys with line and column; every value's node range for later
// problems), JSON through JSON.parse, with its own scan for where a syntax error is.
import { LineCounter, isMap, isScalar, parseDocument, type Document } from 'yaml';
import type { ConfigProblem } from './problems.js';
import type { ConfigPath } from './shape.js';

export interface Position {
  line: number;
  column: number;
}

export type ParsedText =
  | { ok: true; value: unknown; locate: (path: ConfigPath, key?: string) => Position | undefined }
  | { ok: false; problems: ConfigProblem[] };

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Position of the node at a path (or of the key `key` in the map there); the nearest existing ancestor otherwise. */
function locator(doc: Document, lines: LineCounter) {
  return (path: ConfigPath, key?: string): Position | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const at = path.slice(0, depth);
      const node: unknown = at.length === 0 ? doc.contents : doc.getIn(at, true);
      if (!node || typeof node !== 'object' || !('range' in node)) continue;
      let range = (node as { range?: [number, number, number] | null }).range;
      if (key !== undefined && depth === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (pair && isScalar(pair.key) && pair.key.range) range = pair.key.range;
      }
      if (!range) continue;
      const { line, col } = lines.linePos(range[0]);
      return { line, column: col };
    }
    return undefined;
  };
}

function yamlDocument(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { doc, lines };
}

function yamlProblems(text: string, doc: Document, lines: LineCounter, codes?: readonly string[]): ConfigProblem[] {
  return doc.errors
    .filter((e) => !codes || codes.includes(e.code))
    .map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      const what =
        e.code === 'DUPLICATE_KEY' ? `duplicate key ${JSON.stringify(keyAt(text, e.pos[0]))}`
        : e.code === 'MULTIPLE_DOCS' ? 'a config file holds one YAML document; this one has a second (---)'
        : `YAML syntax error: ${e.message}`;
      return { path: '', message: what, line, column: col };
    });
}

/** The key written at an offset: a quoted or plain scalar. */
function keyAt(text: string, offset: number): string {
  const match = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^:,{}\n]+/y;
  match.lastIndex = offset;
  const written = (match.exec(text)?.[0] ?? '').trim();
  if (written.startsWith('"')) {
    try {
      return JSON.parse(written) as string;
    } catch {
      return written;
    }
  }
  return written.startsWith("'") ? written.slice(1, -1).replace(/''/g, "'") : written;
}

export function parseYaml(text: string): ParsedText {
  const { doc, lines } = yamlDocument(text);
  const problems = yamlProblems(text, doc, lines);
  if (problems.length > 0) return { ok: false, problems };
  let value: unknown;
  try {
    value = doc.toJS(); // aliases expand to at most 100 nodes each (the yaml package's bound)
  } catch (err) {
    return { ok: false, problems: [{ path: '', message: `YAML cannot be read: ${(err as Error).message}` }] };
  }
  // An empty document (or one holding only comments) is the defaults.
  return { ok: true, value: value ?? {}, locate: locator(doc, lines) };
}

export function parseJson(text: string): ParsedText {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const detail = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    return { ok: false, problems: [{ path: '', message: `JSON syntax error: ${detail}`, ...positionOf(text, offset < 0 ? text.length : offset) }] };
  }
  // JSON is YAML: the same document gives positions, and finds keys JSON.parse silently overwrote.
  const { doc, lines } = yamlDocument(text);
  const duplicates = yamlProblems(text, doc, lines, ['DUPLICATE_KEY']);
  if (duplicates.length > 0) return { ok: false, problems: duplicates };
  const usable = doc.errors.length === 0;
  return { ok: true, value, locate: usable ? locator(doc, lines) : () => undefined };
}

/** Offset of the first JSON syntax error (JSON.parse's message does not always say), or -1. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const expect = (ch: string): void => {
    space();
    if (text.charAt(i) !== ch) fail();
    i++;
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      if (i >= text.length) fail();
      const ch = text.charAt(i);
      if (ch === '"') return void i++;
      if (ch === '\\') {
        if (/["\\/bfnrt]/.test(text.charAt(i + 1))) i += 2;
        else if (/^u[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 6))) i += 6;
        else fail();
      } else if (ch < ' ') fail();
      else i++;
    }
  };
  const literal = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
  const value = (): void => {
    space();
    const ch = text.charAt(i);
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      space();
      if (text.charAt(i) === close) return void i++;
      for (;;) {
        if (close === '}') {
          string();
          expect(':');
        }
        value();
        space();
        if (text.charAt(i) === ',') i++;
        else return expect(close);
      }
    }
    if (ch === '"') return string();
    literal.lastIndex = i;
    if (!literal.exec(text)) fail();
    i = literal.lastIndex;
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return -1;
  } catch (err) {
    // Anything else (nesting too deep for this scan): the end of the text is the best guess.
    return err instanceof SyntaxAt ? err.offset : -1;
  }
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}
