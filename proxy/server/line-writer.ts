// Lines written to a file descriptor (stdout) or a file, buffered and asynchronously: a response
// never waits for the log. Lines of one event-loop turn go out in one write; at most one write is
// in flight. The buffer is bounded: a line that does not fit is dropped and counted, never
// queued without bound. flush() waits for everything; flushSync() is the best effort at exit;
// reopen() flushes and, for a file, opens the path again (log rotation moves the old one away).
import fs from 'node:fs';

export interface LineWriterOptions {
  /** Bytes held (buffered plus in flight) beyond which lines are dropped; default 4 MiB. */
  maxBufferedBytes?: number;
  /** Tried again after this long when the descriptor is not ready (a full non-blocking pipe). */
  retryMs?: number;
}

export interface LineWriterStats {
  /** Lines accepted (buffered or written). */
  lines: number;
  /** Lines dropped because the buffer was full, or lost to a write error. */
  dropped: number;
  /** Failed writes (other than a full pipe, which is retried). */
  errors: number;
  /** Bytes held now. */
  bufferedBytes: number;
}

/** Where the lines go: an open descriptor the writer does not own (1 for stdout), or a path it opens for appending. */
export type LineTarget = { fd: number } | { path: string };

const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class LineWriter {
  private fd: number;
  private readonly path: string | undefined;
  private readonly maxBufferedBytes: number;
  private readonly retryMs: number;
  private queue: string[] = [];
  /** Lines in `queue` plus the ones in the write under way. */
  private queuedLines = 0;
  private inFlightLines = 0;
  private heldBytes = 0;
  private writing = false;
  private scheduled = false;
  /** No more lines accepted. */
  private closed = false;
  /** The descriptor is given up: nothing more is tried on it. */
  private fdClosed = false;
  private waiters: Array<() => void> = [];
  private readonly counts = { lines: 0, dropped: 0, errors: 0 };

  constructor(target: LineTarget, options: LineWriterOptions = {}) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.retryMs = options.retryMs ?? 10;
    if ('path' in target) {
      this.path = target.path;
      this.fd = fs.openSync(target.path, 'a');
    } else {
      this.path = undefined;
      this.fd = target.fd;
    }
  }

  /** Queues one line (with its newline); false when it was dropped (buffer full, or closed). */
  write(line: string): boolean {
    // String length, not bytes: the bound is approximate for non-ASCII text, and costs nothing.
    if (this.closed || this.heldBytes + line.length > this.maxBufferedBytes) {
      this.counts.dropped++;
      return false;
    }
    this.queue.push(line);
    this.queuedLines++;
    this.heldBytes += line.length;
    this.counts.lines++;
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(this.startWrite);
    }
    return true;
  }

  stats(): LineWriterStats {
    return { ...this.counts, bufferedBytes: this.heldBytes };
  }

  /** Resolves once every line accepted so far is written (or lost to an error, counted). */
  flush(): Promise<void> {
    if (this.heldBytes === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (!this.scheduled && !this.writing) this.startWrite();
    });
  }

  /**
   * Best effort for process exit, where nothing asynchronous completes: the queued lines are
   * written synchronously. A write already in flight is left to finish on its own.
   */
  flushSync(): void {
    if (this.queue.length === 0) return;
    const text = this.queue.join('');
    const data = Buffer.from(text);
    this.queue = [];
    this.heldBytes -= text.length;
    this.queuedLines = 0;
    let offset = 0;
    // Bounded: a pipe that stays full gets a few tries, then the rest is dropped.
    for (let tries = 0; offset < data.length && tries < 100; tries++) {
      try {
        offset += fs.writeSync(this.fd, data, offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') break;
      }
    }
    if (offset < data.length) this.counts.errors++;
  }

  /** Flushes, then (writing to a path) opens the path anew: after rotation, lines go to the new file. */
  async reopen(): Promise<void> {
    await this.flush();
    if (this.path === undefined || this.fdClosed) return;
    const old = this.fd;
    this.fd = fs.openSync(this.path, 'a');
    fs.close(old, () => undefined);
  }

  /**
   * Stops accepting lines, writes what is held (waiting at most waitMs for a descriptor that
   * takes nothing, e.g. a pipe nobody reads), and closes the file it opened.
   */
  async close(waitMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    this.fdClosed = true;
    if (this.path !== undefined) await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
  }

  private readonly startWrite = (): void => {
    this.scheduled = false;
    if (this.writing) return;
    if (this.queue.length === 0) {
      this.settle();
      return;
    }
    const text = this.queue.join('');
    this.queue = [];
    this.inFlightLines = this.queuedLines;
    this.queuedLines = 0;
    this.writing = true;
    this.writeOut(Buffer.from(text), 0, text.length);
  };

  /** Writes data[offset..] (a write may take part of it); `held` is what it counts for in heldBytes. */
  private writeOut(data: Buffer, offset: number, held: number): void {
    fs.write(this.fd, data, offset, data.length - offset, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN' && !this.fdClosed) {
          setTimeout(() => this.writeOut(data, offset, held), this.retryMs);
          return;
        }
        this.counts.errors++;
        this.counts.dropped += this.inFlightLines;
        this.done(held);
        return;
      }
      if (offset + written < data.length) {
        this.writeOut(data, offset + written, held);
        return;
      }
      this.done(held);
    });
  }

  private done(held: number): void {
    this.writing = false;
    this.inFlightLines = 0;
    this.heldBytes -= held;
    if (this.queue.length > 0) this.startWrite();
    else this.settle();
  }

  private settle(): void {
    if (this.heldBytes !== 0 || this.writing) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
