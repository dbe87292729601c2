// A redis-server of our own on a free port, without persistence: stopping it loses its state, as
// a crash of a cache-only Redis would. Stopped by its PID (never by name), started again on the
// same port. The bench's outage scenarios and the system tests share it; the caller stops it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from './processes.js';

export interface BenchRedis {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** PID of the running server; undefined while stopped. */
  readonly pid: number | undefined;
  /** Starts it (again, empty) on the same port and waits until it answers PING; nothing when running. */
  start(): Promise<void>;
  /** Stops it by its PID (SIGTERM, then SIGKILL after 5 s) and waits for the exit. */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const READY_DEADLINE_MS = 10_000;
const KILL_AFTER_MS = 5_000;

/** True when something on the port answers PING with PONG. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'));
    });
    socket.on('connect', () => socket.write('PING\r\n'));
  });
}

/** A port nothing listens on: bound on 127.0.0.1, then released. */

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  async function start(): Promise<void> {
    if (child !== undefined) return; // already running
    output = '';
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let gone = false;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        gone = true;
        resolve();
      });
      proc.once('error', (err) => {
        gone = true;
        output += `\n${err.message}`;
        resolve();
      });
    });
    const until = Date.now() + READY_DEADLINE_MS;
    while (!gone && Date.now() < until) {
      if (await pings(port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    await stop();
    throw new Error(`redis-server did not answer on port ${port}: ${output.trim()}`);
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (proc === undefined) return;
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      process.kill(proc.pid, 'SIGTERM');
      const forced = setTimeout(() => {
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
      }, KILL_AFTER_MS);
      await exited;
      clearTimeout(forced);
    }
    child = undefined;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}
