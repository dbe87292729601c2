// Writing bodies to clients at the pace their sockets accept, and cutting a client whose socket
// accepts nothing for limits.sendTimeoutMs. Large bodies go out in slices so that a slow but
// reading client shows progress (each slice taken is a 'drain'), while one that reads nothing is
// cut; node keeps a reference to each slice it was given, never a copy.
import type { ServerResponse } from 'node:http';

/** Largest write handed to a socket at once; also the progress a client must make per sendTimeoutMs. */
export const SEND_SLICE_BYTES = 64 * 1024;

/**
 * One per client that may wait on its socket: armed when a write is not taken at once, disarmed
 * by 'drain'. It measures from the latest arm; firing while armed destroys the response (the
 * client sees a cut connection, never a wrong body). One timer object, refreshed, not one per write.
 */
export class StallTimer {
  private readonly res: ServerResponse;
  private readonly ms: number;
  private timer: NodeJS.Timeout | undefined;
  private armed = false;

  constructor(res: ServerResponse, ms: number) {
    this.res = res;
    this.ms = ms;
  }

  arm(): void {
    this.armed = true;
    // refresh() also re-activates a timer that already fired while disarmed.
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.fire(), this.ms).unref();
  }

  disarm(): void {
    this.armed = false;
  }

  stop(): void {
    this.armed = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.armed) this.res.destroy();
  }
}

/**
 * After res.end(): when the socket did not take the last bytes at once, the client must read
 * them within `ms` ('finish'), or it is cut. Nothing is scheduled when the write completed.
 */
export function endWithin(res: ServerResponse, ms: number, timer?: StallTimer): void {
  if (res.writableLength === 0 || res.destroyed) {
    timer?.stop();
    return;
  }
  const stall = timer ?? new StallTimer(res, ms);
  stall.arm();
  const stop = (): void => stall.stop();
  res.once('finish', stop);
  res.once('close', stop);
}

/** A stored body (a hit): at once when small, else slice by slice on 'drain'; cut after `ms` without progress. */
export function sendStoredBody(res: ServerResponse, body: Buffer, ms: number): void {
  if (body.length <= SEND_SLICE_BYTES) {
    res.end(body);
    endWithin(res, ms);
    return;
  }
  const timer = new StallTimer(res, ms);
  let offset = 0;
  const pump = (): void => {
    timer.disarm();
    while (offset < body.length && !res.destroyed) {
      const piece = body.subarray(offset, offset + SEND_SLICE_BYTES);
      offset += piece.length;
      if (offset >= body.length) {
        res.off('drain', pump);
        res.end(piece);
        endWithin(res, ms, timer);
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
