// The whole config of a mini-cdn node, as one zod schema: every key, its type, its default (units
// in the names), and the rules that tie keys together. Objects are strict: an unknown key is an
// error at its path; a group left out is its defaults (`.prefault({})`). Plain types only: the
// CLI maps a Config onto the proxy's and the bus's options.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseRedisTarget, parseSentinelAddress } from '../common/redis-target.js';

const int = (min: number) => z.number().int().min(min);
const positiveInt = (fallback: number) => int(1).default(fallback);
const nonNegativeInt = (fallback: number) => int(0).default(fallback);
const port = () => int(0).max(65535);
/** Cross-field rules compare only values that passed their own checks (those issues do not stop a parse). */
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/** http(s), absolute, no path other than '/', no query, fragment or credentials. */
function checkOriginUrl(value: string, ctx: z.core.$RefinementCtx<string>): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an absolute http:// or https:// URL, got "${value}"` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `must be http:// or https://, got ${url.protocol}//` });
  else if (url.pathname !== '/' || url.search || url.hash) ctx.addIssue({ code: 'custom', message: `must have no path, query or fragment (only scheme, host and port), got "${value}"` });
  else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not carry credentials' });
}

/** A Host field value: a reg-name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
function checkHostHeader(value: string, ctx: z.core.$RefinementCtx<string>): void {
  if (!/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/.test(value)) ctx.addIssue({ code: 'custom', message: `must be a host name or address with an optional :port, got "${value}"` });
}

/** An IPv4 or IPv6 address, or a CIDR block of one. */
function checkAddressBlock(value: string, ctx: z.core.$RefinementCtx<string>): void {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
  if (family === 0 || !prefixOk || extra !== undefined) ctx.addIssue({ code: 'custom', message: `must be an IP address or a CIDR block (10.0.0.0/8, fd00::/8), got "${value}"` });
}

/** redis://, rediss://, or redis-sentinel://host:port[,host:port...]/NAME (the form MINI_CDN_REDIS_URL and --redis take). */
function checkRedisUrl(value: string, ctx: z.core.$RefinementCtx<string>): void {
  try {
    parseRedisTarget(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

/** A sentinel's host: a name or an address, the way `host:port` spells it. */
function checkSentinelHost(value: string, ctx: z.core.$RefinementCtx<string>): void {
  try {
    parseSentinelAddress(`${value.includes(':') ? `[${value}]` : value}:1`);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a host name or address, got "${value}"` });
  }
}

const sentinelSchema = z.strictObject({
  host: z.string().min(1).superRefine(checkSentinelHost),
  port: int(1).max(65535),
});

export const CONSISTENCY_MODES = ['ttl', 'callback', 'validate'] as const;
export const BALANCING = ['weighted-round-robin', 'least-busy'] as const;
/**
 * Which responses to requests with a Cookie may be shared: explicit-or-static (explicitly cacheable
 * for a shared cache, or heuristically fresh with a static Content-Type), explicit (explicitly
 * cacheable only), never (Varnish's default: a request with a Cookie is never cached).
 */
export const COOKIE_SHARING = ['explicit-or-static', 'explicit', 'never'] as const;
/** Content types that may be shared by heuristic freshness to requests with a Cookie; `type/` matches the whole type. */
export const STATIC_CONTENT_TYPES = ['image/', 'font/', 'audio/', 'video/', 'text/css', 'text/javascript', 'application/javascript', 'application/x-javascript', 'application/wasm', 'application/font-woff', 'application/vnd.ms-fontobject'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Shortest HMAC secret and admin token accepted. */
export const MIN_SECRET_CHARS = 16;
/**
 * The secret older versions fell back to. It is public (in this source), so anyone could sign bus
 * messages and tier fields with it: refused wherever a secret is given.
 */
export const DEVELOPMENT_SECRET = 'mini-cdn-development-secret';

const mode = z.enum(CONSISTENCY_MODES);

const originSchema = z.strictObject({
  url: z.string().superRefine(checkOriginUrl),
  weight: positiveInt(1),
  timeouts: z.strictObject({ connectMs: positiveInt(5_000), headersMs: positiveInt(30_000), bodyMs: positiveInt(30_000) }).prefault({}),
  maxConnections: positiveInt(128),
  hostHeader: z.string().min(1).superRefine(checkHostHeader).nullable().default(null),
});

const healthCheckSchema = z.strictObject({
  path: z.string().startsWith('/', { error: 'must start with /' }).default('/healthz'),
  intervalMs: positiveInt(5_000),
  timeoutMs: positiveInt(2_000),
  healthyAfter: positiveInt(2),
  unhealthyAfter: positiveInt(3),
}).superRefine((h, ctx) => {
  if (isCount(h.intervalMs) && isCount(h.timeoutMs) && h.timeoutMs >= h.intervalMs) ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: `must be less than intervalMs (${h.intervalMs})` });
});

const DEFAULT_MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/** Without its own maxObjectBytes, a cache smaller than the default object limit takes objects up to its whole size. */
function objectLimitWithin(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const cache = raw as Record<string, unknown>;
  const maxBytes = cache['maxBytes'];
  if (cache['maxObjectBytes'] !== undefined || typeof maxBytes !== 'number' || !(maxBytes >= 1 && maxBytes < DEFAULT_MAX_OBJECT_BYTES)) return raw;
  return { ...cache, maxObjectBytes: maxBytes };
}

const cacheObject = z.strictObject({
  maxBytes: positiveInt(256 * 1024 * 1024),
  maxObjectBytes: positiveInt(DEFAULT_MAX_OBJECT_BYTES),
  maxVariantsPerUrl: positiveInt(32),
  heuristicFraction: z.number().min(0).max(1).default(0.1),
  heuristicMaxMs: nonNegativeInt(86_400_000),
  forwardCdnCacheControl: z.boolean().default(false),
  tagFields: z.array(z.string().min(1)).default(['surrogate-key', 'cache-tag']),
  maxInflightBytes: int(1).nullable().default(null),
  requestsWithCookies: z.enum(COOKIE_SHARING).default('explicit-or-static'),
  staticContentTypes: z.array(z.string().min(1)).default([...STATIC_CONTENT_TYPES]),
}).superRefine((c, ctx) => {
  if (isCount(c.maxBytes) && isCount(c.maxObjectBytes) && c.maxObjectBytes > c.maxBytes) ctx.addIssue({ code: 'custom', path: ['maxObjectBytes'], message: `must not exceed cache.maxBytes (${c.maxBytes})` });
});

const cacheSchema = z.preprocess(objectLimitWithin, cacheObject);

const routeSchema = z.strictObject({
  match: z.string().superRefine((m, ctx) => {
    if (!m.startsWith('/')) ctx.addIssue({ code: 'custom', message: `must start with / (a path prefix, or a glob with *), got "${m}"` });
    else if (/[\s?#]/.test(m)) ctx.addIssue({ code: 'custom', message: 'must not contain whitespace, ? or #' });
  }),
  mode: mode.optional(),
  edgeTtlMs: int(0).optional(),
  ttlOverrideMs: int(0).nullable().default(null),
  bypass: z.boolean().default(false),
  cacheKey: z.strictObject({
    ignoreQuery: z.array(z.string().min(1)).default([]),
    sortQuery: z.boolean().default(false),
    headers: z.array(z.string().min(1)).default([]),
    cookies: z.array(z.string().min(1)).default([]),
  }).prefault({}),
});

const busSchema = z.strictObject({
  redisUrl: z.string().superRefine(checkRedisUrl).nullable().default(null),
  sentinels: z.array(sentinelSchema).default([]),
  sentinelMaster: z.string().regex(/^[A-Za-z0-9._-]+$/, { error: "must be letters, digits, '.', '_' or '-'" }).nullable().default(null),
  namespace: z.string().min(1).default('mini-cdn'),
  streamMaxLength: positiveInt(10_000),
  secret: z.string().nullable().default(null),
  keyId: z.string().min(1).default('k1'),
  previousSecret: z.string().nullable().default(null),
  previousKeyId: z.string().min(1).default('k0'),
  leaseRenewMs: positiveInt(1_000),
  leaseMs: positiveInt(3_000),
  leaseMarginMs: nonNegativeInt(1_000),
  commandTimeoutMs: positiveInt(2_000),
}).superRefine((b, ctx) => {
  if (isCount(b.leaseRenewMs) && isCount(b.leaseMs) && b.leaseRenewMs >= b.leaseMs) ctx.addIssue({ code: 'custom', path: ['leaseRenewMs'], message: `must be less than bus.leaseMs (${b.leaseMs})` });
  if (isCount(b.leaseMs) && Number.isSafeInteger(b.leaseMarginMs) && b.leaseMarginMs >= b.leaseMs) ctx.addIssue({ code: 'custom', path: ['leaseMarginMs'], message: `must be less than bus.leaseMs (${b.leaseMs})` });
  const sentinel = b.sentinels.length > 0 || b.sentinelMaster !== null;
  if (b.sentinels.length > 0 && b.sentinelMaster === null) ctx.addIssue({ code: 'custom', path: ['sentinelMaster'], message: 'must name the master the sentinels monitor when bus.sentinels is set' });
  if (b.sentinelMaster !== null && b.sentinels.length === 0) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'must list at least one sentinel ({host, port}) when bus.sentinelMaster is set' });
  if (b.redisUrl !== null && sentinel) ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'must be null when bus.sentinels / bus.sentinelMaster are set: give one server (redisUrl) or a Sentinel setup, not both' });
  if ((b.redisUrl !== null || sentinel) && (b.secret === null || b.secret.length < MIN_SECRET_CHARS)) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: `must be at least ${MIN_SECRET_CHARS} characters when the bus is Redis (bus.redisUrl or bus.sentinels is set: the bus leaves the process)` });
  }
  for (const name of ['secret', 'previousSecret'] as const) {
    if (b[name] === DEVELOPMENT_SECRET) ctx.addIssue({ code: 'custom', path: [name], message: 'is the public development secret: anyone can sign with it; set a random secret of your own' });
  }
  if (b.previousSecret !== null && b.previousSecret.length < MIN_SECRET_CHARS) ctx.addIssue({ code: 'custom', path: ['previousSecret'], message: `must be at least ${MIN_SECRET_CHARS} characters` });
  if (b.previousSecret !== null && b.previousKeyId === b.keyId) ctx.addIssue({ code: 'custom', path: ['previousKeyId'], message: 'must differ from bus.keyId' });
});

const adminSchema = z.strictObject({
  port: port().nullable().default(null),
  host: z.string().min(1).default('127.0.0.1'),
  token: z.string().nullable().default(null),
}).superRefine((a, ctx) => {
  if (a.port !== null && (a.token === null || a.token.length < MIN_SECRET_CHARS)) {
    ctx.addIssue({ code: 'custom', path: ['token'], message: `must be at least ${MIN_SECRET_CHARS} characters when admin.port is set` });
  }
});

const limitsSchema = z.strictObject({
  maxRequestHeaderBytes: positiveInt(16 * 1024),
  maxUrlBytes: positiveInt(8 * 1024),
  requestTimeoutMs: nonNegativeInt(60_000),
  headersTimeoutMs: nonNegativeInt(15_000),
  keepAliveTimeoutMs: nonNegativeInt(5_000),
  sendTimeoutMs: positiveInt(30_000),
}).superRefine((l, ctx) => {
  // Node's HTTP server refuses a headers timeout longer than a (non-zero) request timeout.
  if (isCount(l.requestTimeoutMs) && isCount(l.headersTimeoutMs) && l.headersTimeoutMs > l.requestTimeoutMs) ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: `must not exceed limits.requestTimeoutMs (${l.requestTimeoutMs})` });
});

/** The origin mini-cdn fronts when the config names none: the demo origin's address. */
export const DEFAULT_ORIGIN_URL = 'http://127.0.0.1:8080';

const rootSchema = z.strictObject({
  /** Lets a JSON config name its JSON Schema for editors; ignored. */
  $schema: z.string().optional(),
  listen: z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port: port().default(8000) }).prefault({}).describe('Where the edge serves clients.'),
  origins: z.array(originSchema).min(1).prefault([{ url: DEFAULT_ORIGIN_URL }]).describe('The origins behind this edge; at least one.'),
  balancing: z.enum(BALANCING).default('weighted-round-robin').describe('How requests are spread over the origins.'),
  healthCheck: z
    .union([z.literal(false), healthCheckSchema], { error: 'must be false (no active health checks) or an object' })
    .prefault({})
    .describe('Active health checks of each origin, or false.'),
  passiveEjection: z.strictObject({ failures: positiveInt(5), windowMs: positiveInt(10_000), ejectMs: positiveInt(30_000) }).prefault({}).describe('Take an origin out after this many failures within windowMs, for ejectMs.'),
  retries: z.strictObject({ attempts: nonNegativeInt(2), backoffMs: nonNegativeInt(50) }).prefault({}).describe('Retries of idempotent requests on another origin.'),
  cache: cacheSchema.prefault({}).describe('The cache: bounds and RFC 9111 heuristics.'),
  stale: z.strictObject({ whileRevalidateMs: nonNegativeInt(0), ifErrorMs: nonNegativeInt(0) }).prefault({}).describe('Stale windows granted beyond the origin\'s directives (0 = none).'),
  routes: z.array(routeSchema).default([]).describe('Per-path rules; the first match wins.'),
  defaults: z.strictObject({ mode: mode.default('ttl'), edgeTtlMs: nonNegativeInt(3_600_000) }).prefault({}).describe('Consistency mode and edge TTL of paths no route matches.'),
  bus: busSchema.prefault({}).describe('The invalidation bus: Redis (one server by redisUrl, or a Sentinel setup by sentinels + sentinelMaster), or in-process when neither is set.'),
  admin: adminSchema.prefault({}).describe('The admin API; port null = none.'),
  logging: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info'),
      accessLog: z.boolean().default(true),
      accessLogFormat: z.enum(['json', 'combined']).default('json').describe('Access lines as JSON, or in the Apache/nginx combined format followed by the cache result and the request time.'),
    })
    .prefault({}),
  workers: z.union([int(1), z.literal('auto')], { error: 'must be a positive whole number or "auto"' }).default(1).describe('Worker processes: a number, or "auto" for one per CPU.'),
  limits: limitsSchema.prefault({}).describe('Bounds on incoming requests.'),
  forwarding: z.strictObject({ trustedProxies: z.array(z.string().min(1).superRefine(checkAddressBlock)).default([]) }).prefault({}).describe('Downstream proxies whose X-Forwarded-For this edge extends.'),
  shutdown: z.strictObject({ graceMs: nonNegativeInt(10_000) }).prefault({}).describe('How long in-flight requests may finish on shutdown.'),
});

/**
 * The config schema. Its output is fully defaulted: each route carries its own mode and edgeTtlMs
 * (from `defaults` when the route names none), and `$schema` is dropped.
 */
export const configSchema = rootSchema.transform(({ $schema: _schema, ...config }) => ({
  ...config,
  routes: config.routes.map((route) => ({ ...route, mode: route.mode ?? config.defaults.mode, edgeTtlMs: route.edgeTtlMs ?? config.defaults.edgeTtlMs })),
}));

/** The schema before the final transform: its objects can be walked key by key (env names, suggestions). */
export const configShape = rootSchema;
