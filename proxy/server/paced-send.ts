// Writing bodies to clients at the pace their sockets accept, and cutting a client whose socket
// accepts nothing for limits.sendTimeoutMs. Large bodies go out in slices so that a slow but
// reading client shows progress (each slice taken is a 'drain'), while one that reads nothing is
// cut; node keeps a reference to each slice it was given, never a copy.
import type { ServerResponse } from 'node:http';

/** Largest write handed to a socket at once; also the progress a client must make per sendTimeoutMs. */
export const SEND_SLICE_BYTES = 64 * 1024;

/** How long a client's socket may take nothing; `onCut` counts the clients cut. */
export interface SendLimit {
  timeoutMs: number;
  onCut: () => void;
}

/**
 * One per client that may wait on its socket: armed when a write is not taken at once, disarmed
 * by 'drain'. It measures from the latest arm; firing while armed destroys the response (the
 * client sees a cut connection, never a wrong body). One timer object, refreshed, not one per write.
 */
export class StallTimer {
  private readonly res: ServerResponse;
  private readonly limit: SendLimit;
  private timer: NodeJS.Timeout | undefined;
  private armed = false;

  constructor(res: ServerResponse, limit: SendLimit) {
    this.res = res;
    this.limit = limit;
  }

  arm(): void {
    this.armed = true;
    // refresh() also re-activates a timer that already fired while disarmed.
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.fire(), this.limit.timeoutMs).unref();
  }

  disarm(): void {
    this.armed = false;
  }

  stop(): void {
    this.armed = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private fire(): void {
    if (!this.armed || this.res.destroyed) return;
    // A pipelined response queued behind another has no socket yet: its wait is the other's
    // (which has its own timer), not this client's reading.
    if (this.res.socket === null) {
      this.timer?.refresh();
      return;
    }
    this.limit.onCut();
    this.res.destroy();
  }
}

/**
 * After res.end(): when the socket did not take the last bytes at once, the client must read
 * them within the limit ('finish'), or it is cut. Nothing is scheduled when the write completed.
 */
export function endWithin(res: ServerResponse, limit: SendLimit, timer?: StallTimer): void {
  if (res.writableLength === 0 || res.destroyed) {
    timer?.stop();
    return;
  }
  const stall = timer ?? new StallTimer(res, limit);
  stall.arm();
  const stop = (): void => stall.stop();
  res.once('finish', stop);
  res.once('close', stop);
}

/** A stored body (a hit): at once when small, else slice by slice on 'drain'; cut when the socket takes nothing within the limit. */
export function sendStoredBody(res: ServerResponse, body: Buffer, limit: SendLimit): void {
  if (body.length <= SEND_SLICE_BYTES) {
    res.end(body);
    endWithin(res, limit);
    return;
  }
  const timer = new StallTimer(res, limit);
  let offset = 0;
  const pump = (): void => {
    timer.disarm();
    while (offset < body.length && !res.destroyed) {
      const piece = body.subarray(offset, offset + SEND_SLICE_BYTES);
      offset += piece.length;
      if (offset >= body.length) {
        res.off('drain', pump);
        res.end(piece);
        endWithin(res, limit, timer);
        return;
      }
      if (!res.write(piece)) {
        timer.arm();
        return;
      }
    }
  };
  res.on('drain', pump);
  res.once('close', () => timer.stop());
  pump();
}
