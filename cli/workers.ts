// Multi-core edges: `mini-cdn edge --workers N` makes this process a cluster primary that forks N
// workers. Each worker runs the same edge (runEdge again, same argv) on the same port (cluster
// shares the listening socket), registered on the bus as its own edge `<id>-w<k>`, so every
// worker's cache receives every invalidation (Redis bus only: the in-process bus does not span
// processes) and receipts name every worker. The admin API runs in worker 1 only.
// The primary serves nothing: it prints the "listening on" line once every worker is listening,
// restarts a worker that dies, forwards SIGHUP, and on SIGINT / SIGTERM stops every worker
// (each closes gracefully) before it exits.
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import { listenFailed, MiniCdnError } from '../common/errors.js';

// Not MINI_CDN_*: those are config overrides.
const ENV_INDEX = 'MCDN_WORKER_INDEX';
const ENV_PORT = 'MCDN_WORKER_PORT';
const ENV_ADMIN_PORT = 'MCDN_WORKER_ADMIN_PORT';
const ENV_BASE_ID = 'MCDN_WORKER_BASE_ID';

/** What a worker learns from the primary (through its environment). */
export interface WorkerRole {
  /** 1..N */
  index: number;
  /** The port every worker listens on (fixed by the primary). */
  port: number;
  /** The admin port (worker 1 only serves it). */
  adminPort: number | undefined;
  /** The edge id the primary was given (or chose); this worker is `<baseId>-w<index>`. */
  baseId: string;
}

type ToPrimary = { mcdn: 'listening'; line: string };
type ToWorker = { mcdn: 'open' };

/** `workers` (the key --workers sets, validated by the schema) as a number of processes: auto is one per CPU. */
export function workerCount(configured: number | 'auto'): number {
  return configured === 'auto' ? os.availableParallelism() : configured;
}

/** This process's role when it is a worker forked by runPrimary; undefined otherwise. */
export function workerRole(): WorkerRole | undefined {
  const index = process.env[ENV_INDEX];
  if (!cluster.isWorker || index === undefined) return undefined;
  const admin = process.env[ENV_ADMIN_PORT];
  return {
    index: Number(index),
    port: Number(process.env[ENV_PORT]),
    adminPort: admin ? Number(admin) : undefined,
    baseId: process.env[ENV_BASE_ID] ?? 'edge',
  };
}

/**
 * In a worker: tells the primary it listens (with the line the primary prints) and resolves when
 * the primary has printed it, so that no log line of a worker comes before it on stdout.
 */
export function announceListening(line: string): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: ToWorker): void => {
      if (message?.mcdn !== 'open') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send?.({ mcdn: 'listening', line } satisfies ToPrimary);
  });
}

/** In a worker, after its graceful close: lets go of the IPC channel so that the process ends. */
export function leaveCluster(): void {
  if (cluster.worker?.isConnected()) cluster.worker.disconnect();
}

/** In a worker: repeated SIGINT / SIGTERM (the terminal's and the primary's) must not kill it mid-close. */
export function ignoreRepeatedStopSignals(): void {
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
}

export interface PrimaryPlan {
  count: number;
  port: number;
  host: string;
  adminPort: number | undefined;
  adminHost: string;
  /** --id, or a random one. */
  baseId: string;
  /** The workers' grace for requests in flight; the primary waits that long plus a margin, then kills. */
  graceMs: number;
  /** True with --config: SIGHUP is forwarded (each worker reloads); without it there is nothing to reload (logged). */
  reloadable: boolean;
  logger: Logger;
  print(line: string): Promise<void>;
}

/** A port nothing listens on: bound on host, then released (the workers bind it again, shared). */
async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenFailed('workers primary', host, 0, err)));
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the cluster primary until SIGINT / SIGTERM; resolves the exit status. */
export async function runPrimary(plan: PrimaryPlan): Promise<number> {
  const { logger } = plan;
  const port = plan.port === 0 ? await freePort(plan.host) : plan.port;
  const adminPort = plan.adminPort === 0 ? await freePort(plan.adminHost) : plan.adminPort;
  const workers = new Map<number, Worker>();
  const ready = new Set<number>();
  const forkedAt = new Map<number, number>();
  let started = false;
  let stopping = false;
  let firstLine = '';
  let onAllReady: () => void = () => undefined;
  let onStartupFailure: (err: Error) => void = () => undefined;
  const allReady = new Promise<void>((resolve, reject) => {
    onAllReady = resolve;
    onStartupFailure = reject;
  });
  const idOf = (index: number): string => `${plan.baseId}-w${index}`;

  function fork(index: number): void {
    const worker = cluster.fork({
      [ENV_INDEX]: String(index),
      [ENV_PORT]: String(port),
      [ENV_ADMIN_PORT]: adminPort === undefined ? '' : String(adminPort),
      [ENV_BASE_ID]: plan.baseId,
    });
    workers.set(index, worker);
    forkedAt.set(index, Date.now());
    worker.on('message', (message: ToPrimary) => {
      if (message?.mcdn !== 'listening') return;
      if (index === 1 || firstLine === '') firstLine = message.line;
      ready.add(index);
      if (started) {
        logger.info({ worker: idOf(index), workerPid: worker.process.pid }, 'worker restarted');
        worker.send({ mcdn: 'open' } satisfies ToWorker);
      } else if (ready.size === plan.count) {
        onAllReady();
      }
    });
    worker.on('exit', (code, signal) => {
      if (workers.get(index) !== worker) return;
      workers.delete(index);
      ready.delete(index);
      if (stopping) return;
      if (!started) {
        onStartupFailure(new MiniCdnError('MCDN_LISTEN_FAILED', `worker ${idOf(index)} exited during startup, before listening on ${plan.host}:${port}${adminPort === undefined ? '' : ` (admin ${plan.adminHost}:${adminPort})`} (code ${code}, signal ${signal}; its own error is above)`));
        return;
      }
      // A worker that dies at once again and again would spin: wait a second before such a restart.
      const livedMs = Date.now() - (forkedAt.get(index) ?? 0);
      logger.error({ worker: idOf(index), workerPid: worker.process.pid, code, signal }, 'worker died unexpectedly, restarting it');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, livedMs < 1_000 ? 1_000 : 0);
    });
  }

  let signalled: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const onStop = (): void => signalled();
  const onHup = (): void => {
    if (!plan.reloadable) {
      logger.info('SIGHUP: nothing to reload (no --config file; flags and environment are read at start)');
      return;
    }
    // Only to workers that listen: before that a worker has no SIGHUP handler, and SIGHUP would end it.
    logger.info({ workers: ready.size }, 'SIGHUP: every worker reloads its config');
    for (const [index, worker] of workers) if (ready.has(index)) worker.process.kill('SIGHUP');
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHup);

  async function stopAll(): Promise<void> {
    stopping = true;
    const left = [...workers.values()];
    const exits = left.map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))));
    for (const worker of left) if (!worker.isDead()) worker.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const worker of left) {
        if (worker.isDead()) continue;
        logger.error({ workerPid: worker.process.pid }, 'worker did not stop in time, killing it');
        worker.process.kill('SIGKILL');
      }
    }, plan.graceMs + 5_000);
    await Promise.all(exits);
    clearTimeout(killer);
  }

  try {
    for (let index = 1; index <= plan.count; index++) fork(index);
    const first = await Promise.race([allReady.then(() => 'ready' as const), stopRequested.then(() => 'stop' as const)]);
    if (first === 'stop') {
      logger.info('stopped during startup');
      await stopAll();
      return 0;
    }
    started = true;
    await plan.print(firstLine);
    const list = [...workers.entries()].sort(([a], [b]) => a - b).map(([index, worker]) => ({ id: idOf(index), pid: worker.process.pid }));
    logger.info({ port, workers: list, admin: adminPort === undefined ? null : `worker ${idOf(1)}` }, 'workers started');
    for (const worker of workers.values()) worker.send({ mcdn: 'open' } satisfies ToWorker);
    await stopRequested;
    logger.info({ workers: workers.size }, 'shutting down: stopping every worker');
    await stopAll();
    logger.info('stopped');
    return 0;
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHup);
  }
}
