// Starting and stopping the processes a bench scenario measures. Each runs on 127.0.0.1, prints
// its URL, and is stopped by its own PID.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/mini-cdn.js', import.meta.url));

export interface Started {
  name: string;
  url: string;
  /** The line it printed when it began listening (the edge's names its admin URL). */
  banner: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A port nothing listens on: bound on 127.0.0.1, then released. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when `taskset` can pin processes to cores (Linux with util-linux). */
export const CAN_PIN = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pins this process (the load generator) to one core, so that it does not steal the server's. */
export function pinSelf(cpu: number): boolean {
  if (!CAN_PIN) return false;
  execFileSync('taskset', ['-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
  return true;
}

/**
 * Runs `node script ...args` (pinned to `cpu` when given and possible) and resolves once it
 * prints an http://127.0.0.1:PORT URL. taskset execs node, so the PID is node's own. With
 * `stdoutFile` its stdout goes to that file, as an operator's `> file` would (its logs cost it
 * a write to a file, not a pipe the bench must drain), and the file is read for the URL.
 */
export function startNode(name: string, script: string, args: string[], options: { nodeFlags?: string[]; cpu?: number; env?: NodeJS.ProcessEnv; stdoutFile?: string } = {}): Promise<Started> {
  const command = [process.execPath, ...(options.nodeFlags ?? []), script, ...args];
  const pinned = options.cpu !== undefined && CAN_PIN ? ['taskset', '-c', String(options.cpu), ...command] : command;
  const fd = options.stdoutFile !== undefined ? openSync(options.stdoutFile, 'a') : undefined;
  const child = spawn(pinned[0] as string, pinned.slice(1), { stdio: ['ignore', fd ?? 'pipe', 'pipe'], env: options.env ?? process.env });
  if (fd !== undefined) closeSync(fd);
  // stdout (when piped) and stderr as they came; with a file, the file's head comes first.
  let piped = '';
  let head = '';
  return new Promise((resolve, reject) => {
    let poll: NodeJS.Timeout | undefined;
    const stopWatching = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
    };
    const timer = setTimeout(() => {
      stopWatching();
      reject(new Error(`${name} did not start: ${head}${piped}`));
    }, 15_000);
    const check = (): void => {
      const output = head + piped;
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (!match || !output.includes('\n', match.index)) return;
      stopWatching();
      // Started: keep draining its output (logs) without holding on to it.
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      const banner = output.slice(output.lastIndexOf('\n', match.index) + 1, output.indexOf('\n', match.index));
      resolve({ name, url: match[0], banner, child, stop: () => stopChild(child) });
    };
    child.stdout?.on('data', (d: Buffer) => {
      piped += d.toString();
      check();
    });
    if (options.stdoutFile !== undefined) {
      const file = options.stdoutFile;
      // The banner is the first line it prints: the file's head is enough.
      poll = setInterval(() => {
        head = headOf(file);
        check();
      }, 20);
    }
    child.stderr?.on('data', (d: Buffer) => (piped += d.toString()));
    child.on('exit', (code) => {
      stopWatching();
      reject(new Error(`${name} exited (${code}) before listening: ${head}${piped}`));
    });
  });
}

function headOf(file: string): string {
  const buffer = Buffer.alloc(16_384);
  const fd = openSync(file, 'r');
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString();
  } finally {
    closeSync(fd);
  }
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere.
 * Steadier than throughput on a shared machine: CPU per request does not depend on how much
 * of the core the neighbours left us.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes, from /proc (Linux); undefined elsewhere. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The kernel's high-water mark of a process's RSS (Linux): the true peak, not only the sampled one. */
export function peakRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves once `url` answers any HTTP status; rejects after `timeoutMs`. For servers that print no URL. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The edge's admin URL from its banner ("..., admin http://127.0.0.1:PORT"). */
export function adminUrlOf(edge: Started): string | undefined {
  return /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.banner)?.[1];
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
