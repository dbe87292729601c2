// Helpers of the secrets-and-framing attacks: the CLI as a child process with an environment of
// the test's own (no MINI_CDN_* inherited), and a raw HTTP/1.1 response reader for framing checks.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));

/** process.env without any MINI_CDN_* variable, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MINI_CDN_')) env[key] = value;
  return { ...env, ...extra };
}

/**
 * Runs `mini-cdn ...args` to its end; a command still running after `deadlineMs` (it did not
 * refuse to start) is killed by its PID and reported with code null.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, deadlineMs = 8_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

/** Starts `mini-cdn ...args`; resolves once `ready` matches its output (stdout and stderr). */
export function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (ready.test(output)) resolve({ child, output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`mini-cdn ${args[0]} exited ${code}: ${output}`)));
  });
}

export function stopCli(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

export interface RawResponse {
  status: number;
  /** Field lines as received, names lower-cased. */
  fields: Array<[string, string]>;
  body: Buffer;
  /** Bytes after this response's framed end. */
  rest: Buffer;
}

/**
 * Reads one HTTP/1.1 response from `bytes` by its own framing: Content-Length, chunked, or (no
 * body) 1xx/204/304 and answers to HEAD. Undefined when the bytes hold no complete response.
 */
export function parseResponse(bytes: Buffer, forHead = false): RawResponse | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const fields = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const start = end + 4;
  const field = (name: string): string | undefined => fields.find(([n]) => n === name)?.[1];
  if (forHead || status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, fields, body: Buffer.alloc(0), rest: bytes.subarray(start) };
  if (field('transfer-encoding')?.toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let at = start;
    for (let guard = 0; guard < 100_000; guard++) {
      const lineEnd = bytes.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) {
        // Trailer fields, if any, end with an empty line.
        const trailerEnd = bytes.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return undefined;
        return { status, fields, body: Buffer.concat(chunks), rest: bytes.subarray(trailerEnd + 4) };
      }
      if (bytes.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    return undefined;
  }
  const length = Number(field('content-length') ?? 0);
  if (bytes.length < start + length) return undefined;
  return { status, fields, body: bytes.subarray(start, start + length), rest: bytes.subarray(start + length) };
}
