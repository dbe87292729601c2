// A redis-server of the bench's own on a free port, without persistence; stopped by its PID. It
// can be stopped and started again on the same port (an outage): like any Redis without
// persistence, it then comes back empty.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { stopChild } from './processes.js';

export interface BenchRedis {
  url: string;
  port: number;
  /** PID of the running redis-server; undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops redis-server (SIGTERM to its PID); what it held is gone. Does nothing when stopped. */
  stop(): Promise<void>;
  /** Starts it again, empty, on the same port. Does nothing when running. */
  start(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.on('connect', () => socket.write('PING\r\n'));
  });
}

/** redis-server on `port`, once it answers PING; rejects if it exits first (the port taken) or never answers. */
async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  for (let i = 0; i < 100 && !exited; i++) {
    if ((await answersPing(port)) && !exited) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(child);
  throw new Error(exited ? `redis-server exited at once (is it installed? is port ${port} taken?)` : `redis-server did not answer on port ${port}`);
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running) await stopChild(running);
    },
    async start() {
      if (!child) child = await spawnRedis(port);
    },
  };
}
