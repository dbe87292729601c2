// Acknowledged purges: publish an invalidation, then wait (bounded) until every edge that was
// live when it was published has confirmed it. The receipt names who confirmed, how long each
// took, and who did not: the sender knows exactly which receivers got the message.
import { MiniCdnError } from '../../common/errors.js';
import { BusClosedError } from './types.js';
import type { Ack, EdgeInfo, Invalidation, InvalidationBus, InvalidationRequest } from './types.js';

export interface PurgeReceipt {
  id: string;
  seq: number;
  epoch: string;
  /** Edges that confirmed, with the publish-to-applied time each measured. */
  confirmed: Array<{ edgeId: string; tookMs: number }>;
  /** Edges that were live at publish time and did not confirm within the wait. */
  missing: string[];
  /** True when every live edge confirmed. */
  complete: boolean;
  waitedMs: number;
}

export interface PublishOptions {
  /** Wait this long for acknowledgements; 0 publishes without waiting (no receipt). */
  waitMs?: number;
  /** Keep retrying a publish that found the bus unavailable for this long (Redis restarting). */
  retryForMs?: number;
}

export interface Published {
  message: Invalidation;
  receipt?: PurgeReceipt;
}

export async function publishInvalidation(bus: InvalidationBus, request: InvalidationRequest, options: PublishOptions = {}): Promise<Published> {
  const waitMs = options.waitMs ?? 0;
  // One retry budget for every step: Redis may be restarting at any of them.
  const until = Date.now() + (options.retryForMs ?? 0);
  if (waitMs <= 0) return { message: await withRetry(() => bus.publish(request), until) };
  // Listen before publishing, so that no fast ack is missed; note who is live now.
  const acks: Ack[] = [];
  let notify: (() => void) | undefined;
  const stop = await withRetry(
    () =>
      bus.onAck((ack) => {
        acks.push(ack);
        notify?.();
      }),
    until,
  );
  try {
    const live: EdgeInfo[] = await withRetry(() => bus.liveEdges(), until);
    const started = Date.now();
    const message = await withRetry(() => bus.publish(request), until);
    const expected = new Set(live.map((edge) => edge.id));
    const confirmed = new Map<string, number>();
    const collect = (): void => {
      for (const ack of acks.splice(0)) if (ack.id === message.id && expected.has(ack.edgeId)) confirmed.set(ack.edgeId, ack.tookMs);
    };
    const deadline = started + waitMs;
    collect();
    while (confirmed.size < expected.size && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      notify = undefined;
      collect();
    }
    const missing = [...expected].filter((edgeId) => !confirmed.has(edgeId)).sort();
    return {
      message,
      receipt: {
        id: message.id,
        seq: message.seq,
        epoch: message.epoch,
        confirmed: [...confirmed].map(([edgeId, tookMs]) => ({ edgeId, tookMs })).sort((a, b) => a.edgeId.localeCompare(b.edgeId)),
        missing,
        complete: missing.length === 0,
        waitedMs: Date.now() - started,
      },
    };
  } finally {
    stop();
  }
}

/** Runs `step` again while the bus is unavailable (not closed), until the deadline. */
async function withRetry<T>(step: () => Promise<T>, until: number): Promise<T> {
  for (let pauseMs = 25; ; pauseMs = Math.min(pauseMs * 2, 500)) {
    try {
      return await step();
    } catch (err) {
      const unavailable = err instanceof MiniCdnError && err.code === 'MCDN_BUS_UNAVAILABLE' && !(err instanceof BusClosedError);
      if (!unavailable || Date.now() + pauseMs > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
