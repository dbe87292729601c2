// A Redis Sentinel setup of the tests' own, as real processes on free ports of 127.0.0.1: a
// primary, a replica of it, and three sentinels (quorum 2, down after 500 ms) that promote the
// replica when the primary dies. Every process is stopped by its PID (stopAll, also after a
// failure); each sentinel has its own conf file, written fresh in a temp dir (sentinels rewrite it).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../bench/processes.js';
import { sentinelUrl } from '../../common/redis-target.js';

export const MASTER_NAME = 'm';
const READY_DEADLINE_MS = 15_000;
const KILL_AFTER_MS = 5_000;

export interface RedisProcess {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Last output lines, for failure messages. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

export interface SentinelSetup {
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: RedisProcess[];
  /** redis-sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/m */
  readonly url: string;
  /** Sends one signal to one process, by its PID. */
  signal(proc: RedisProcess, signal: NodeJS.Signals): void;
  /** The master's port as every sentinel reports it, once they agree on `port` (bounded wait). */
  waitForMaster(port: number, deadlineMs?: number): Promise<void>;
  /** One command on the server at `port` (a connection of its own, closed after). */
  command(port: number, ...args: (string | number)[]): Promise<unknown>;
  /** Stops every process by its PID (SIGCONT first, for a stopped one), removes the temp dir. */
  stopAll(): Promise<void>;
}

function startRedisProcess(name: string, port: number, args: string[]): RedisProcess {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      output += `\n${err.message}`;
      resolve();
    });
  });
  return { name, port, child, exited, output: () => output };
}

const running = (proc: RedisProcess): boolean => proc.child.exitCode === null && proc.child.signalCode === null && proc.child.pid !== undefined;

/** A short-lived client: no retries, no offline queue surprises. */
async function withClient<T>(port: number, run: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await run(client);
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${deadlineMs} ms; ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mini-cdn-sentinel-'));
  const all: RedisProcess[] = [];
  const setupSignal = (proc: RedisProcess, signal: NodeJS.Signals): void => {
    if (running(proc)) process.kill(proc.child.pid as number, signal);
  };
  async function stopAll(): Promise<void> {
    await Promise.all(
      all.map(async (proc) => {
        if (!running(proc)) return;
        setupSignal(proc, 'SIGCONT');
        setupSignal(proc, 'SIGTERM');
        const forced = setTimeout(() => setupSignal(proc, 'SIGKILL'), KILL_AFTER_MS);
        await proc.exited;
        clearTimeout(forced);
      }),
    );
    await rm(dir, { recursive: true, force: true });
  }
  const describe = (): string => all.map((p) => `${p.name}:${p.port} ${running(p) ? 'running' : 'gone'}: ${p.output().trim().split('\n').slice(-3).join(' | ')}`).join('\n');
  const command = (port: number, ...args: (string | number)[]): Promise<unknown> => withClient(port, (client) => client.call(String(args[0]), ...args.slice(1).map(String)));
  try {
    const serverArgs = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const primaryPort = await freePort();
    const primary = startRedisProcess('primary', primaryPort, [...serverArgs(primaryPort), '--dbfilename', 'primary.rdb']);
    all.push(primary);
    const replicaPort = await freePort();
    const replica = startRedisProcess('replica', replicaPort, [...serverArgs(replicaPort), '--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(primaryPort)]);
    all.push(replica);
    await until('primary and replica answering', async () => (await command(primaryPort, 'PING')) === 'PONG' && (await command(replicaPort, 'PING')) === 'PONG', READY_DEADLINE_MS, describe);
    await until('the replica in sync', async () => String(await command(replicaPort, 'INFO', 'replication')).includes('master_link_status:up'), READY_DEADLINE_MS, describe);
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = path.join(dir, `sentinel-${i}.conf`);
      await writeFile(conf, [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 500`,
        `sentinel failover-timeout ${MASTER_NAME} 2000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'));
      const proc = startRedisProcess(`sentinel-${i}`, port, [conf, '--sentinel']);
      all.push(proc);
      sentinels.push(proc);
    }
    // Ready for a fail-over: every sentinel knows the replica and the two other sentinels.
    await until('sentinels aware of the replica and of each other', async () => {
      for (const s of sentinels) {
        const replicas = (await command(s.port, 'SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[];
        const peers = (await command(s.port, 'SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
        if (replicas.length < 1 || peers.length < 2) return false;
      }
      return true;
    }, 30_000, describe);
    return {
      primary,
      replica,
      sentinels,
      url: sentinelUrl(sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), MASTER_NAME),
      signal: setupSignal,
      command,
      async waitForMaster(port: number, deadlineMs = 60_000): Promise<void> {
        await until(`every sentinel naming 127.0.0.1:${port} the master`, async () => {
          for (const s of sentinels) {
            const addr = (await command(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[] | null;
            if (addr?.[1] !== String(port)) return false;
          }
          return String(await command(port, 'ROLE')).startsWith('master');
        }, deadlineMs, describe);
      },
      stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
