// The edge's access log: one line per finished request, in JSON (the shape of the process's pino
// lines) or the combined text format, written to stdout through a bounded asynchronous buffer
// (line-writer.ts). Flushed on stop, at exit (best effort) and on SIGHUP (with a reopen, for rotation).
import os from 'node:os';
import type { Logger } from 'pino';
import { combinedAccessLine, jsonAccessLine, jsonBindings } from '../proxy/server/access-log.js';
import type { AccessLogFormat } from '../proxy/server/access-log.js';
import { LineWriter } from '../proxy/server/line-writer.js';
import type { LineTarget, LineWriterStats } from '../proxy/server/line-writer.js';
import type { Outcome } from '../proxy/server/outcome.js';

export interface AccessLog {
  write(outcome: Outcome): void;
  stats(): LineWriterStats;
  /** Writes what is buffered, stops accepting lines, removes the process listeners. */
  close(): Promise<void>;
}

/**
 * Lines are written while `logger` is at level info or below (as when they were pino's own info
 * lines); JSON lines carry pid, hostname and the logger's bindings (the edge id), read at the first line.
 */
export function openAccessLog(format: AccessLogFormat, logger: Logger, target: LineTarget = { fd: 1 }): AccessLog {
  const writer = new LineWriter(target);
  let bindings: string | undefined;
  const line =
    format === 'combined'
      ? combinedAccessLine
      : (outcome: Outcome): string => {
          bindings ??= jsonBindings({ pid: process.pid, hostname: os.hostname(), ...(logger.bindings() as Record<string, string | number | null>) });
          return jsonAccessLine(outcome, bindings, Date.now());
        };
  const atExit = (): void => writer.flushSync();
  const onHup = (): void => {
    writer.reopen().catch((err: unknown) => logger.warn({ err }, 'access log not reopened'));
  };
  process.on('exit', atExit);
  process.on('SIGHUP', onHup);
  return {
    write(outcome) {
      if (logger.isLevelEnabled('info')) writer.write(line(outcome));
    },
    stats: () => writer.stats(),
    async close() {
      process.off('SIGHUP', onHup);
      await writer.close();
      process.off('exit', atExit);
      const { dropped, errors } = writer.stats();
      if (dropped > 0 || errors > 0) logger.warn({ dropped, errors }, 'access log lines dropped (buffer full or write errors)');
    },
  };
}
