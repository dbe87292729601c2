// One origin body, many clients. While the response may be stored, the tee reads the origin at
// its own pace, keeps every chunk (bounded by maxBytes) and replays them to clients that attach
// late; the cache is filled even if every client goes away. Past the bound, or when the body
// is not to be stored at all, it keeps nothing, admits no one new, and follows the slowest
// client (backpressure), so an uncacheable or oversized body is never held whole in memory.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export interface BodyTeeOptions {
  /** Keep the body for the store and for late clients. */
  buffer: boolean;
  /** Bound on kept bytes; past it buffering stops. */
  maxBytes: number;
  /** Announced length, when the origin sent Content-Length. */
  expectedBytes: number | undefined;
  /** The whole body, when it was kept and arrived complete. */
  onComplete: (body: Buffer) => void;
  /** Called once when the tee ends without a complete stored body. */
  onDone: (outcome: 'complete' | 'not-buffered' | 'overflow' | 'failed' | 'abandoned') => void;
}

type State = 'streaming' | 'ended' | 'failed';

export class BodyTee {
  private readonly source: Readable;
  private readonly options: BodyTeeOptions;
  private readonly sinks = new Set<ServerResponse>();
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private buffering: boolean;
  private state: State = 'streaming';
  private started = false;
  /** Clients whose socket buffer is full; the origin is paused until they drain. Made when first needed. */
  private waitingDrain: Set<ServerResponse> | undefined;

  constructor(source: Readable, options: BodyTeeOptions) {
    this.source = source;
    this.options = options;
    this.buffering = options.buffer;
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    source.on('error', () => this.onFail());
    source.on('close', () => {
      if (this.state === 'streaming') this.onFail();
    });
    if (this.buffering) this.started = true;
    else source.pause();
  }

  /** True when a new client can still receive the whole body from here. */
  get joinable(): boolean {
    return this.state !== 'failed' && (this.buffering || !this.started);
  }

  /** Sends the body (what was kept so far, then the rest) to a client; false when it cannot. */
  attach(res: ServerResponse): boolean {
    if (!this.joinable) return false;
    for (const chunk of this.chunks) res.write(chunk);
    if (this.state === 'ended') {
      res.end();
      return true;
    }
    this.sinks.add(res);
    // `on`, not `once`: detach is idempotent, and once() wraps each listener.
    res.on('close', () => this.detach(res));
    if (!this.started) {
      this.started = true;
      this.source.resume();
    }
    return true;
  }

  /** Nobody will attach: stop reading unless the body is being kept for the store. */
  abandonIfUnused(): void {
    if (this.sinks.size === 0 && !this.buffering && this.state === 'streaming') {
      this.state = 'failed';
      this.source.destroy();
      this.options.onDone('abandoned');
    }
  }

  private detach(res: ServerResponse): void {
    if (!this.sinks.delete(res)) return;
    if (this.waitingDrain?.has(res)) this.drained(res);
    if (this.sinks.size === 0 && !this.buffering && this.state === 'streaming') {
      this.state = 'failed';
      this.source.destroy();
      this.options.onDone('abandoned');
    }
  }

  private onData(chunk: Buffer): void {
    if (this.buffering) {
      if (this.bytes + chunk.length > this.options.maxBytes) {
        // Too large to store after all: drop what was kept, stream on with backpressure.
        this.buffering = false;
        this.chunks.length = 0;
        this.bytes = 0;
      } else {
        this.chunks.push(chunk);
        this.bytes += chunk.length;
      }
    }
    for (const res of this.sinks) {
      if (!res.write(chunk) && !this.buffering && !this.waitingDrain?.has(res)) {
        (this.waitingDrain ??= new Set()).add(res);
        res.once('drain', () => this.drained(res));
      }
    }
    if (this.waitingDrain !== undefined && this.waitingDrain.size > 0) this.source.pause();
  }

  private drained(res: ServerResponse): void {
    this.waitingDrain?.delete(res);
    if (!this.waitingDrain?.size && this.state === 'streaming') this.source.resume();
  }

  private onEnd(): void {
    if (this.state !== 'streaming') return;
    this.state = 'ended';
    for (const res of this.sinks) res.end();
    this.sinks.clear();
    const { expectedBytes } = this.options;
    if (!this.buffering) {
      this.options.onDone(this.options.buffer ? 'overflow' : 'not-buffered');
    } else if (expectedBytes !== undefined && expectedBytes !== this.bytes) {
      // Never store a body whose length disagrees with what the origin announced.
      this.options.onDone('failed');
    } else {
      this.options.onComplete(this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes));
      this.options.onDone('complete');
    }
  }

  private onFail(): void {
    if (this.state !== 'streaming') return;
    this.state = 'failed';
    // Cutting the connection is how HTTP/1.1 tells a client its body is incomplete.
    for (const res of this.sinks) res.destroy();
    this.sinks.clear();
    this.chunks.length = 0;
    this.options.onDone('failed');
  }
}
