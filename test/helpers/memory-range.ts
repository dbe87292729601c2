// Helpers for memory attacks: an edge started as an operator starts it (the CLI, a process of its
// own, so its RSS is its own), its memory read from /proc, raw TCP clients that stop reading, and
// a multipart/byteranges parser to check what a reading client got.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { peakRssBytes, rssBytes, stopChild } from '../../bench/processes.js';
import { startCliEdge as startEdgeProcess } from './cli-edge.js';

export const MIB = 1024 * 1024;

export interface MemoryEdge {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `mini-cdn edge --origin URL --port 0 --no-access-log ...args`, without the caller's MINI_CDN_* environment. */
export async function startCliEdge(originUrl: string, args: string[] = []): Promise<MemoryEdge> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MINI_CDN_')) env[key] = value;
  // No active health checks: the tests count every request the origin receives.
  env['MINI_CDN_HEALTH_CHECK'] = 'false';
  const edge = await startEdgeProcess(['--origin', originUrl, '--port', '0', '--no-access-log', ...args], env);
  return { url: edge.url, pid: edge.pid, child: edge.child, stop: () => stopChild(edge.child) };
}

/** A memory figure of a process from /proc/PID/status, in bytes: VmRSS now, VmHWM its peak. */
export function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const bytes = field === 'VmRSS' ? rssBytes(pid) : peakRssBytes(pid);
  if (bytes === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return bytes;
}

/**
 * Opens `count` raw connections that each send `request`, read the first bytes of the answer
 * (so that the caller knows it began) and then never read again. Resolves with the first chunk
 * of each answer once every one has begun; `close()` cuts them all.
 */
export async function stalledClients(baseUrl: string, count: number, request: string): Promise<{ heads: string[]; close(): void }> {
  const { hostname, port } = new URL(baseUrl);
  const sockets: net.Socket[] = [];
  const close = (): void => {
    for (const s of sockets) s.destroy();
  };
  try {
    const heads = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<string>((resolve, reject) => {
            const socket = net.connect(Number(port), hostname);
            sockets.push(socket);
            const timer = setTimeout(() => reject(new Error('no answer began within 30 s')), 30_000);
            socket.on('error', (err) => reject(err));
            socket.once('data', (chunk: Buffer) => {
              socket.pause(); // from here on the client reads nothing: the kernel buffers fill up
              clearTimeout(timer);
              resolve(chunk.toString('latin1'));
            });
            socket.write(request);
          }),
      ),
    );
    return { heads, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** The parts of a multipart/byteranges body (RFC 9110 §14.6): each part's fields and bytes. */
export function parseByteranges(body: Buffer, contentType: string): Array<{ fields: Record<string, string>; bytes: Buffer }> {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Array<{ fields: Record<string, string>; bytes: Buffer }> = [];
  let at = body.indexOf(delimiter);
  for (let guard = 0; at >= 0 && guard < 1000; guard++) {
    const after = at + delimiter.length;
    if (body.subarray(after, after + 2).toString('latin1') === '--') return parts;
    const headEnd = body.indexOf('\r\n\r\n', after);
    if (headEnd < 0) throw new Error('a part without the end of its fields');
    const fields: Record<string, string> = {};
    for (const line of body.subarray(after + 2, headEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const range = /^bytes (\d+)-(\d+)\/\d+$/.exec(fields['content-range'] ?? '');
    if (!range) throw new Error(`a part without a Content-Range: ${JSON.stringify(fields)}`);
    const length = Number(range[2]) - Number(range[1]) + 1;
    const start = headEnd + 4;
    parts.push({ fields, bytes: body.subarray(start, start + length) });
    if (body.subarray(start + length, start + length + 2).toString('latin1') !== '\r\n') throw new Error('a part not followed by CRLF');
    at = start + length + 2;
    if (!body.subarray(at, at + delimiter.length).equals(delimiter)) throw new Error('a part not followed by the boundary');
  }
  throw new Error('no close delimiter');
}

/** A body whose every byte depends on its offset, so that a misplaced range shows. */
export function patternBody(bytes: number): Buffer {
  const body = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) body[i] = (i * 7 + (i >>> 11)) & 0xff;
  return body;
}
