// The publisher SDK: what an origin (any Node web server) uses to push invalidation callbacks to
// every edge, and optionally wait for their receipts.
//   const publisher = createPublisher({ bus });            // or { redisUrl, signing }
//   const { receipt } = await publisher.invalidate({ urls: ['https://site/a'], waitMs: 500 });
import { createBus } from '../edge/bus/index.js';
import { publishInvalidation } from '../edge/bus/receipts.js';
import type { Published } from '../edge/bus/receipts.js';
import { DEFAULT_BUS_OPTIONS } from '../edge/bus/types.js';
import type { BusOptions, InvalidationBus, InvalidationRequest, SigningKeys } from '../edge/bus/types.js';
import type { DemoOrigin } from './demo-origin.js';

export interface Publisher {
  /** Publishes; with waitMs, resolves with a receipt: lease holders confirmed, lapsed or unknown, and whether it is complete. */
  invalidate(request: InvalidationRequest & { waitMs?: number }): Promise<Published>;
  close(): Promise<void>;
}

export type PublisherOptions =
  | { bus: InvalidationBus; retryForMs?: number }
  | ({ redisUrl: string; signing: SigningKeys; namespace?: string; retryForMs?: number } & Partial<Pick<BusOptions, 'leaseMs' | 'leaseMarginMs' | 'commandTimeoutMs'>>);

export function createPublisher(options: PublisherOptions): Publisher {
  const ownsBus = !('bus' in options);
  // The lease timing must match the edges' (the margin a receipt waits, the reset window).
  const bus = 'bus' in options ? options.bus : createBus({ ...DEFAULT_BUS_OPTIONS, ...timingOf(options), namespace: options.namespace ?? DEFAULT_BUS_OPTIONS.namespace, signing: options.signing, redisUrl: options.redisUrl });
  const retryForMs = options.retryForMs ?? 5_000;
  return {
    invalidate({ waitMs, ...request }) {
      return publishInvalidation(bus, request, { waitMs, retryForMs });
    },
    async close() {
      if (ownsBus) await bus.close();
    },
  };
}

function timingOf(options: Partial<Pick<BusOptions, 'leaseMs' | 'leaseMarginMs' | 'commandTimeoutMs'>>): Partial<BusOptions> {
  const timing: Partial<BusOptions> = {};
  if (options.leaseMs !== undefined) timing.leaseMs = options.leaseMs;
  if (options.leaseMarginMs !== undefined) timing.leaseMarginMs = options.leaseMarginMs;
  if (options.commandTimeoutMs !== undefined) timing.commandTimeoutMs = options.commandTimeoutMs;
  return timing;
}

/**
 * The demo origin as a well-behaved origin: each change to a resource publishes a callback for
 * its URL. Returns a function that stops it. Failures are reported, never thrown into the origin.
 */
export function publishChanges(origin: DemoOrigin, publisher: Publisher, baseUrl: string, onError: (err: unknown) => void = () => undefined): () => void {
  return origin.onChange((path) => {
    publisher.invalidate({ urls: [urlOfPath(baseUrl, path)] }).catch(onError);
  });
}

/** The base URL's origin with the path appended: '//a//b' is a path, not a protocol-relative URL of host 'a'. */
function urlOfPath(baseUrl: string, path: string): string {
  return path.startsWith('/') ? new URL(baseUrl).origin + path : new URL(path, baseUrl).href;
}
