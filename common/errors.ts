// The one table of mini-cdn's error codes. Every error a user, operator or client can see carries
// one of these codes; the README lists them. Codes are stable: never rename one, add new ones.

export const ERROR_CODES = {
  // Requests from clients
  MCDN_REQUEST_INVALID: { status: 400, summary: 'The request is malformed and was not forwarded.' },
  MCDN_URI_TOO_LONG: { status: 414, summary: 'The request target is longer than the configured limit.' },
  MCDN_BODY_TOO_LARGE: { status: 413, summary: 'A request body is larger than the limit (admin API purge bodies: 64 KiB).' },
  MCDN_METHOD_NOT_ALLOWED: { status: 405, summary: 'The method cannot be proxied (CONNECT).' },
  MCDN_ONLY_IF_CACHED: { status: 504, summary: 'only-if-cached was requested and no usable stored response exists.' },
  // The origin
  MCDN_UPSTREAM_CONNECT: { status: 502, summary: 'The origin could not be reached (refused, unreachable, reset before answering).' },
  MCDN_UPSTREAM_TIMEOUT: { status: 504, summary: 'The origin did not answer in time (connect or headers timeout).' },
  MCDN_UPSTREAM_PROTOCOL: { status: 502, summary: 'The origin answered with something that is not valid HTTP/1.1.' },
  MCDN_UPSTREAM_FAILED: { status: 502, summary: 'The request to the origin failed for another reason.' },
  MCDN_NO_HEALTHY_ORIGIN: { status: 503, summary: 'Every origin is down or ejected; the client gets 503 with Retry-After.' },
  MCDN_INTERNAL: { status: 500, summary: 'An unexpected fault in mini-cdn itself; the process stays up. Please report it.' },
  // Invalidation callbacks
  MCDN_INVALIDATION_INVALID: { status: 400, summary: 'An invalidation request is malformed (no target, a URL that is not absolute http(s), too many entries).' },
  MCDN_BUS_UNAVAILABLE: { status: 503, summary: 'The invalidation bus (Redis) cannot be reached; the purge was not published.' },
  MCDN_UNAUTHORIZED: { status: 401, summary: 'The admin API needs a valid bearer token.' },
  // Operating the process
  MCDN_USAGE: { status: 0, summary: 'The command line is wrong; see `mini-cdn --help`.' },
  MCDN_LISTEN_FAILED: { status: 0, summary: 'A server could not listen on its address or port.' },
  MCDN_CONFIG_INVALID: { status: 0, summary: 'The config file is invalid; every problem is listed with its path (and line for YAML).' },
  MCDN_CONFIG_UNREADABLE: { status: 0, summary: 'The config file cannot be read or parsed.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code from ERROR_CODES, and the HTTP status it maps to where it has one. */
export class MiniCdnError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MiniCdnError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/**
 * A server's failed listen as MCDN_LISTEN_FAILED naming the address, e.g. "edge cannot listen on
 * 127.0.0.1:8000: EADDRINUSE (listen EADDRINUSE: address already in use 127.0.0.1:8000)".
 */
export function listenFailed(server: string, host: string, port: number, err: Error): MiniCdnError {
  const code = (err as NodeJS.ErrnoException).code;
  return new MiniCdnError('MCDN_LISTEN_FAILED', `${server} cannot listen on ${host}:${port}: ${code ? `${code} (${err.message})` : err.message}`, { cause: err });
}
