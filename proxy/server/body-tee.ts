// One origin body, many clients. While the response may be stored, the tee reads the origin as
// fast as it comes, keeps every chunk (bounded by maxBytes and by the node's in-flight budget),
// and the kept chunks are the one copy: each client is fed from them by its own cursor, at the
// pace its socket accepts, so a client that does not read costs its cursor, not a copy of the
// body; late clients start from the first chunk; the cache is filled even if every client goes.
// Past a bound, or when the body is not to be stored at all, it keeps only what some client has
// not yet taken, admits no one new, and reads the origin at the pace of the slowest client
// (backpressure), so an uncacheable or oversized body is never held whole in memory.
// A client whose socket takes nothing for sendTimeoutMs is cut: it leaves the tee, the others go on.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { InflightBudget } from './inflight-budget.js';
import { SEND_SLICE_BYTES, StallTimer, endWithin } from './paced-send.js';
import type { SendLimit } from './paced-send.js';

export type TeeOutcome = 'complete' | 'not-buffered' | 'overflow' | 'inflight-budget' | 'failed' | 'abandoned';

export interface BodyTeeOptions {
  /** Keep the body for the store and for late clients. */
  buffer: boolean;
  /** Bound on kept bytes; past it buffering stops. */
  maxBytes: number;
  /** Announced length, when the origin sent Content-Length. */
  expectedBytes: number | undefined;
  /** The node's bound on bytes held by fills in flight. */
  budget: InflightBudget;
  /** A client whose socket takes nothing for this long is cut. */
  send: SendLimit;
  /** The whole body, when it was kept and arrived complete. */
  onComplete: (body: Buffer) => void;
  /** Called once when the tee ends, with how. */
  onDone: (outcome: TeeOutcome) => void;
}

/** Reserved at once for a body of unknown length, so that a fill refused by the budget is known before the headers go out. */
const UNDECLARED_FIRST_BYTES = 64 * 1024;

type State = 'streaming' | 'ended' | 'failed';

/** One client: where it is in the body, and whether it waits for its socket to drain. */
class Sink {
  readonly res: ServerResponse;
  readonly stall: StallTimer;
  /** Absolute number of the next chunk to write, and bytes of it already written. */
  next: number;
  skip = 0;
  /** Bytes written so far. */
  sent = 0;
  waiting = false;

  constructor(res: ServerResponse, next: number, send: SendLimit) {
    this.res = res;
    this.next = next;
    this.stall = new StallTimer(res, send);
  }
}

export class BodyTee {
  private readonly source: Readable;
  private readonly options: BodyTeeOptions;
  private readonly sinks = new Set<Sink>();
  /** Chunks held: chunks[0] is chunk number `dropped` of the body. */
  private chunks: Buffer[] = [];
  private dropped = 0;
  /**
   * The body in one buffer, filled up to `bytes`: allocated at once for an announced length (each
   * chunk is copied in, so the stored body is the only copy and is never concatenated), or the
   * concatenation of the chunks once a body of unknown length is complete.
   */
  private whole: Buffer | undefined;
  /** Bytes received (while buffering: bytes kept). */
  private bytes = 0;
  /** Bytes taken from the budget; given back as held chunks are dropped, or all at the end. */
  private reserved = 0;
  private buffering: boolean;
  private stopReason: 'overflow' | 'inflight-budget' | undefined;
  private state: State = 'streaming';
  private started = false;

  constructor(source: Readable, options: BodyTeeOptions) {
    this.source = source;
    this.options = options;
    this.buffering = options.buffer;
    if (this.buffering) this.reserveUpFront();
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    source.on('error', () => this.onFail());
    source.on('close', () => {
      if (this.state === 'streaming') this.onFail();
    });
    if (this.buffering) this.started = true;
    else source.pause();
  }

  /** True while the body is being kept for the store (false once a bound stopped it). */
  get storing(): boolean {
    return this.buffering;
  }

  /** Why the body stopped being kept, when a bound stopped it. */
  get notStoredBecause(): 'overflow' | 'inflight-budget' | undefined {
    return this.stopReason;
  }

  /** True when a new client can still receive the whole body from here. */
  get joinable(): boolean {
    return this.state !== 'failed' && (this.buffering || !this.started);
  }

  /** Sends the body (what was kept so far, then the rest) to a client; false when it cannot. */
  attach(res: ServerResponse): boolean {
    if (!this.joinable) return false;
    const sink = new Sink(res, this.dropped, this.options.send);
    this.sinks.add(sink);
    // `on`, not `once`: detach is idempotent, and once() wraps each listener.
    res.on('close', () => this.detach(sink));
    res.on('drain', () => this.drained(sink));
    if (!this.started) {
      this.started = true;
      this.source.resume();
    }
    this.pump(sink);
    return true;
  }

  /** Nobody will attach: stop reading unless the body is being kept for the store. */
  abandonIfUnused(): void {
    if (this.sinks.size === 0 && !this.buffering && this.state === 'streaming') this.abandon();
  }

  private reserveUpFront(): void {
    const { expectedBytes, maxBytes, budget } = this.options;
    const wanted = expectedBytes ?? Math.min(UNDECLARED_FIRST_BYTES, maxBytes);
    if (wanted > maxBytes) this.stopBuffering('overflow');
    else if (!budget.tryReserve(wanted)) this.stopBuffering('inflight-budget');
    else {
      this.reserved = wanted;
      // Only the received part is ever read: no need to zero it.
      if (expectedBytes !== undefined) this.whole = Buffer.allocUnsafe(expectedBytes);
    }
  }

  /** Takes budget for `length` more kept bytes; false when a bound says no. */
  private keep(length: number): boolean {
    if (this.bytes + length > this.options.maxBytes) {
      this.stopBuffering('overflow');
      return false;
    }
    const more = this.bytes + length - this.reserved;
    if (more > 0) {
      if (!this.options.budget.tryReserve(more)) {
        this.stopBuffering('inflight-budget');
        return false;
      }
      this.reserved += more;
    }
    return true;
  }

  /** Not stored after all: what no client still needs is dropped, the rest streams with backpressure. */
  private stopBuffering(reason: 'overflow' | 'inflight-budget'): void {
    this.buffering = false;
    this.stopReason = reason;
    // Reserved up front for bytes that will never be kept.
    if (this.reserved > this.bytes) this.giveBack(this.reserved - this.bytes);
  }

  private giveBack(bytes: number): void {
    const given = Math.min(bytes, this.reserved);
    this.reserved -= given;
    this.options.budget.release(given);
  }

  private onData(chunk: Buffer): void {
    if (this.whole) {
      // More than the origin announced: not this body (node's parser should never let it through).
      if (this.bytes + chunk.length > this.whole.length) return this.onFail();
      chunk.copy(this.whole, this.bytes);
      this.bytes += chunk.length;
      for (const sink of this.sinks) this.pump(sink);
      return;
    }
    if (this.buffering) this.keep(chunk.length);
    this.bytes += chunk.length;
    this.chunks.push(chunk);
    for (const sink of this.sinks) this.pump(sink);
    if (!this.buffering) this.followSlowest();
  }

  /** Writes to one client what it has not had, until its socket is full; ends it at the end of the body. */
  private pump(sink: Sink): void {
    if (sink.waiting) return;
    const { res } = sink;
    for (;;) {
      const piece = this.nextPiece(sink);
      if (piece === undefined) break;
      sink.sent += piece.length;
      if (!res.write(piece)) {
        sink.waiting = true;
        sink.stall.arm();
        return;
      }
    }
    if (this.state === 'ended') this.finish(sink);
  }

  /** What the client is to get next, at most one slice; undefined when it has all there is so far. */
  private nextPiece(sink: Sink): Buffer | undefined {
    if (this.whole) return sink.sent < this.bytes ? this.whole.subarray(sink.sent, Math.min(this.bytes, sink.sent + SEND_SLICE_BYTES)) : undefined;
    const chunk = this.chunks[sink.next - this.dropped];
    if (chunk === undefined) return undefined;
    if (chunk.length - sink.skip > SEND_SLICE_BYTES) {
      sink.skip += SEND_SLICE_BYTES;
      return chunk.subarray(sink.skip - SEND_SLICE_BYTES, sink.skip);
    }
    const piece = sink.skip === 0 ? chunk : chunk.subarray(sink.skip);
    sink.next++;
    sink.skip = 0;
    return piece;
  }

  private drained(sink: Sink): void {
    if (!sink.waiting || !this.sinks.has(sink)) return;
    sink.waiting = false;
    sink.stall.disarm();
    this.pump(sink);
    if (!this.buffering) this.followSlowest();
  }

  /**
   * Not keeping the body: drop the chunks every client has taken, and read the origin only while
   * no client waits (the slowest client sets the pace).
   */
  private followSlowest(): void {
    let lowest = this.dropped + this.chunks.length;
    let waiting = false;
    for (const sink of this.sinks) {
      if (sink.next < lowest) lowest = sink.next;
      if (sink.waiting) waiting = true;
    }
    while (this.dropped < lowest) {
      const chunk = this.chunks.shift() as Buffer;
      this.dropped++;
      if (this.reserved > 0) this.giveBack(chunk.length);
    }
    if (this.state !== 'streaming' || !this.started) return;
    if (this.sinks.size === 0) return this.abandon();
    if (waiting) this.source.pause();
    else this.source.resume();
  }

  private finish(sink: Sink): void {
    this.sinks.delete(sink);
    sink.res.end();
    endWithin(sink.res, this.options.send, sink.stall);
    this.afterSinkLeft();
  }

  private detach(sink: Sink): void {
    if (!this.sinks.delete(sink)) return;
    sink.stall.stop();
    this.afterSinkLeft();
  }

  private afterSinkLeft(): void {
    if (this.state === 'streaming') {
      if (!this.buffering) this.followSlowest();
    } else if (this.sinks.size === 0) {
      // The body is stored (the store counts it) or dropped: nothing is in flight any more.
      this.giveBack(this.reserved);
    }
  }

  private abandon(): void {
    this.state = 'failed';
    this.source.destroy();
    this.release();
    this.options.onDone('abandoned');
  }

  private onEnd(): void {
    if (this.state !== 'streaming') return;
    this.state = 'ended';
    const { expectedBytes } = this.options;
    let outcome: TeeOutcome;
    if (!this.buffering) {
      outcome = this.stopReason ?? 'not-buffered';
    } else if (expectedBytes !== undefined && expectedBytes !== this.bytes) {
      // Never store a body whose length disagrees with what the origin announced.
      outcome = 'failed';
    } else {
      // The clients still behind read on from the stored body: the chunks are let go.
      this.whole ??= this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
      this.chunks = [];
      this.options.onComplete(this.whole);
      outcome = 'complete';
    }
    for (const sink of [...this.sinks]) this.pump(sink);
    // Held for clients still behind: counted until they have it (or are cut).
    if (this.sinks.size === 0) this.giveBack(this.reserved);
    this.options.onDone(outcome);
  }

  private onFail(): void {
    if (this.state !== 'streaming') return;
    this.state = 'failed';
    // Cutting the connection is how HTTP/1.1 tells a client its body is incomplete.
    for (const sink of this.sinks) {
      sink.stall.stop();
      sink.res.destroy();
    }
    this.sinks.clear();
    this.release();
    this.options.onDone('failed');
  }

  private release(): void {
    this.chunks = [];
    this.whole = undefined;
    this.giveBack(this.reserved);
  }
}

/** A body that is not stored, to one client at its pace (backpressure), cut after sendTimeoutMs without progress. */
export function streamUnstored(source: Readable, res: ServerResponse, budget: InflightBudget, send: SendLimit): void {
  const tee = new BodyTee(source, { buffer: false, maxBytes: 0, expectedBytes: undefined, budget, send, onComplete: () => undefined, onDone: () => undefined });
  if (!tee.attach(res)) res.destroy();
}
