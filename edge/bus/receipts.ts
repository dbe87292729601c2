// Acknowledged purges: publish an invalidation and, read atomically with it, who held a lease;
// then wait (bounded) for each holder's ack, or for its lease to run out. A holder is
// `confirmed` (it applied the purge), `lapsed` (its lease ran out in the registry, by Redis's
// clock, after the publisher waited its expiry plus the margin: it cannot be trusting copies past
// freshness any more, and a renewal would first bring it the message, because the renewal's PING
// is answered after every earlier message) or `unknown` (the wait ended first). `complete` only
// when every holder confirmed or lapsed and the registry is trustworthy (not reset recently).
import { performance } from 'node:perf_hooks';
import { MiniCdnError } from '../../common/errors.js';
import { BusClosedError } from './types.js';
import type { Ack, Invalidation, InvalidationBus, InvalidationRequest } from './types.js';

export interface PurgeReceipt {
  id: string;
  seq: number;
  epoch: string;
  /** Lease holders that confirmed, with the publish-to-applied time each measured. */
  confirmed: Array<{ edgeId: string; tookMs: number }>;
  /** Lease holders whose lease ran out unrenewed (or renewed and ran out again) without an ack. */
  lapsed: string[];
  /** Lease holders that neither confirmed nor lapsed within the wait. */
  unknown: string[];
  /** The registry was reset (Redis restarted empty) within one lease: leases it lost may still run. */
  registryReset: boolean;
  /** True when every lease holder confirmed or lapsed, and the registry was not reset. */
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

/** When the registry cannot be read, try again this much later (within the wait). */
const RECHECK_MS = 250;

export async function publishInvalidation(bus: InvalidationBus, request: InvalidationRequest, options: PublishOptions = {}): Promise<Published> {
  const waitMs = options.waitMs ?? 0;
  // One retry budget for every step: Redis may be restarting at any of them.
  const until = Date.now() + (options.retryForMs ?? 0);
  if (waitMs <= 0) return { message: await withRetry(() => bus.publish(request), until) };
  // Listen before publishing, so that no fast ack is missed.
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
    const started = performance.now();
    const published = await withRetry(() => bus.publishLeased(request), until);
    const returnedAt = performance.now();
    const { message, leaseMarginMs: marginMs } = published;
    // Each holder's lease, converted to this process's clock: expiry - Redis's now, from when the script returned.
    const pending = new Map<string, { expiresAtMs: number; checkAt: number }>();
    for (const holder of published.holders) pending.set(holder.edgeId, { expiresAtMs: holder.expiresAtMs, checkAt: returnedAt + (holder.expiresAtMs - published.busNowMs) + marginMs });
    const confirmed = new Map<string, number>();
    const lapsed = new Set<string>();
    const collect = (): void => {
      for (const ack of acks.splice(0)) {
        if (ack.id !== message.id || !pending.has(ack.edgeId)) continue;
        confirmed.set(ack.edgeId, ack.tookMs);
        pending.delete(ack.edgeId);
      }
    };
    const deadline = started + waitMs;
    collect();
    while (pending.size > 0 && performance.now() < deadline) {
      const due = [...pending].filter(([, p]) => p.checkAt <= performance.now());
      if (due.length > 0) await checkLeases(bus, due, pending, lapsed, marginMs);
      collect();
      if (pending.size === 0) break;
      const next = Math.min(deadline, ...[...pending.values()].map((p) => p.checkAt));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, next - performance.now()));
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      notify = undefined;
      collect();
    }
    const unknown = [...pending.keys()].sort();
    const sortedLapsed = [...lapsed].sort();
    return {
      message,
      receipt: {
        id: message.id,
        seq: message.seq,
        epoch: message.epoch,
        confirmed: [...confirmed].map(([edgeId, tookMs]) => ({ edgeId, tookMs })).sort((a, b) => a.edgeId.localeCompare(b.edgeId)),
        lapsed: sortedLapsed,
        unknown,
        registryReset: published.registryReset,
        complete: unknown.length === 0 && !published.registryReset,
        waitedMs: Math.round(performance.now() - started),
      },
    };
  } finally {
    stop();
  }
}

/**
 * Reads the leases of the holders whose wait is over. Lapsed: no entry, or an expiry that Redis's
 * clock has passed (the one read at publish time, or a later one: an edge that renewed after the
 * publish had the message before its renewal counted, so its later lapse is as good). A lease
 * still running (renewed) is waited for again, until its new expiry plus the margin.
 */
async function checkLeases(
  bus: InvalidationBus,
  due: Array<[string, { expiresAtMs: number; checkAt: number }]>,
  pending: Map<string, { expiresAtMs: number; checkAt: number }>,
  lapsed: Set<string>,
  marginMs: number,
): Promise<void> {
  let reading;
  const askedAt = performance.now();
  try {
    reading = await bus.leases(due.map(([edgeId]) => edgeId));
  } catch {
    for (const [, p] of due) p.checkAt = performance.now() + RECHECK_MS;
    return;
  }
  for (const [edgeId, p] of due) {
    if (!pending.has(edgeId)) continue;
    const expiry = reading.expiries[edgeId];
    if (expiry === undefined || expiry <= reading.busNowMs) {
      pending.delete(edgeId);
      lapsed.add(edgeId);
    } else {
      p.expiresAtMs = expiry;
      p.checkAt = askedAt + (expiry - reading.busNowMs) + marginMs;
    }
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
