// The long-running commands: origin, edge, demo. Each builds its nodes with the factories of
// the other folders, listens, and stops everything it started on SIGINT / SIGTERM.
// Stdout: first the plain "... listening on http://..." line (users and scripts read it), then
// pino JSON: started, reloads, shutdown and, for an edge, one access line per request (JSON, or
// the combined text format with --access-log-format combined), written through a bounded buffer.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { MiniCdnError } from '../common/errors.js';
import { createAdminServer } from '../edge/admin-api.js';
import type { AdminServer } from '../edge/admin-api.js';
import { createBus } from '../edge/bus/index.js';
import { DEFAULT_BUS_OPTIONS } from '../edge/bus/types.js';
import type { InvalidationBus, SigningKeys } from '../edge/bus/types.js';
import { createEdgeNode } from '../edge/edge-node.js';
import type { EdgeNode } from '../edge/edge-node.js';
import { createDemoOrigin } from '../origin/demo-origin.js';
import { createPublisher, publishChanges } from '../origin/publisher.js';
import type { ProxyOptions } from '../proxy/server/options.js';
import type { AccessLogFormat } from '../proxy/server/access-log.js';
import type { Outcome } from '../proxy/server/outcome.js';
import { openAccessLog } from './access-log.js';
import { resolveConfig } from '../config/load.js';
import type { Config, ConfigOverride } from '../config/load.js';
import { watchConfig } from '../config/reload.js';
import { intFlag, randomSecret, redisUrlFlag, signingFromEnv, untilSignal } from './args.js';
import { edgeParseOptions, flagOf, overridesFromFlags } from './edge-flags.js';
import { busTimingFrom, printableConfig, proxyOptionsFrom, redisUrlFrom, signingFrom } from './from-config.js';
import type { BusTiming } from './from-config.js';
import { announceListening, ignoreRepeatedStopSignals, leaveCluster, runPrimary, workerCount, workerRole } from './workers.js';

/** The Host the demo's edges send to their shield, as one site served by both. */
const DEMO_SITE = 'demo.mini-cdn.test';

function busFor(redisUrl: string | undefined, signing: SigningKeys, namespace?: string, streamMaxLength = DEFAULT_BUS_OPTIONS.streamMaxLength, timing: Partial<BusTiming> = {}): InvalidationBus {
  return createBus({ ...DEFAULT_BUS_OPTIONS, ...timing, namespace: namespace ?? process.env['MINI_CDN_BUS_NAMESPACE'] ?? DEFAULT_BUS_OPTIONS.namespace, streamMaxLength, signing, redisUrl });
}

export async function runOrigin(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' }, redis: { type: 'string' } } });
  const redisUrl = redisUrlFlag(values.redis ?? process.env['MINI_CDN_REDIS_URL']);
  // A publisher signs for every edge: refused before listening when its secret is missing or weak.
  const signing = redisUrl ? signingFromEnv(process.env, true) : undefined;
  const stopped = untilSignal();
  const origin = createDemoOrigin();
  const url = await origin.listen(intFlag(values.port, 'port', 8080), values.host ?? '127.0.0.1');
  // With a bus, every change to a resource is pushed to the edges as a callback.
  const bus = redisUrl && signing ? busFor(redisUrl, signing) : undefined;
  const publisher = bus ? createPublisher({ bus }) : undefined;
  const logger = pino({ level: 'info' });
  if (publisher) publishChanges(origin, publisher, url, (err) => logger.warn({ err }, 'callback not published'));
  await printLine(`mini-cdn origin listening on ${url}${publisher ? ', publishing changes on ' + redisUrl : ''}`);
  logger.info({ url, bus: redisUrl ?? null }, 'origin started');
  await stopped;
  logger.info('shutting down');
  await origin.close();
  await bus?.close();
  logger.info('stopped');
  return 0;
}

/** Writes a plain line to stdout and waits until it is out, so that no log line can overtake it. */
function printLine(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${text}\n`, () => resolve()));
}

/**
 * Access records, held until open(): requests may arrive before the "listening on" line is
 * printed, and their lines must come after it. At most `max` are held.
 */
function holdUntilOpen(write: (record: Outcome) => void, max = 1000): { push: (record: Outcome) => void; open: () => void } {
  let held: Outcome[] | undefined = [];
  return {
    push(record) {
      if (held === undefined) write(record);
      else if (held.length < max) held.push(record);
    },
    open() {
      const records = held ?? [];
      held = undefined;
      for (const record of records) write(record);
    },
  };
}

export async function runEdge(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: edgeParseOptions() });
  const flags = values as Record<string, string | boolean | string[] | undefined>;
  const file = typeof flags['config'] === 'string' ? flags['config'] : undefined;
  const id = typeof flags['id'] === 'string' ? flags['id'] : undefined;
  if (flags['watch'] === true && file === undefined) throw new MiniCdnError('MCDN_USAGE', '--watch needs --config FILE (there is nothing else to watch)');
  if (file === undefined && flags['origin'] === undefined && !originsFromEnv(process.env)) throw new MiniCdnError('MCDN_USAGE', 'edge needs --origin URL (or --config FILE)');
  // One config for every way of starting: defaults ← file ← environment ← flags (a flag against the file is refused).
  const overrides = overridesFromFlags(flags);
  const config = await resolveConfig({ file, overrides, flagOf });
  if (flags['print-config'] === true) {
    await printLine(JSON.stringify(printableConfig(config), null, 2));
    return 0;
  }
  const settings = settingsFrom(config);
  const { port, host } = settings;
  const logger = pino({ level: settings.logLevel });
  // With --workers N > 1 this process is the cluster primary; its workers run the code below.
  const role = workerRole();
  if (!role) {
    const count = workerCount(settings.workers);
    if (count > 1) {
      if (!settings.redisUrl) throw new MiniCdnError('MCDN_USAGE', '--workers > 1 needs a Redis bus (--redis URL, bus.redisUrl or bus.sentinels)');
      logger.setBindings({ edge: id ?? null, role: 'primary' });
      return runPrimary({
        count,
        port,
        host,
        adminPort: settings.adminPort !== undefined && settings.adminToken ? settings.adminPort : undefined,
        adminHost: settings.adminHost,
        baseId: id ?? `edge-${randomBytes(4).toString('hex')}`,
        graceMs: settings.graceMs,
        reloadable: file !== undefined,
        logger,
        print: printLine,
      });
    }
  } else {
    ignoreRepeatedStopSignals();
  }
  // Listening for stop signals before the "listening on" line: a SIGTERM right after it must stop cleanly.
  const stopped = untilSignal();
  const accessLog = settings.accessLog ? openAccessLog(settings.accessLogFormat, logger) : undefined;
  const access = holdUntilOpen((outcome) => accessLog?.write(outcome));
  // Workers: the admin API (and with it /metrics) in worker 1 only.
  const withAdmin = settings.adminPort !== undefined && !!settings.adminToken && (!role || role.index === 1);
  const adminPort = role ? role.adminPort : settings.adminPort;
  const edge = createEdgeNode({
    id: role ? `${role.baseId}-w${role.index}` : id,
    proxy: settings.proxy,
    bus: busFor(settings.redisUrl, settings.signing, settings.namespace, settings.streamMaxLength, settings.busTiming),
    signing: settings.signing,
    // The admin API serves /metrics; without it nobody could read them.
    metrics: withAdmin,
    ...(settings.accessLog ? { onResponse: access.push } : {}),
    onUnsafePublishFailure: (err, urls) => logger.warn({ err, urls }, 'unsafe-request invalidation not published to the other edges'),
    onResync: (reason) => logger.warn({ reason }, 'invalidation bus resync: every stored copy is revalidated before its next use'),
  });
  logger.setBindings({ edge: edge.id });
  let admin: AdminServer | undefined;
  let adminUrl = '';
  let url: string;
  try {
    url = await edge.start(role ? role.port : port, host);
    if (withAdmin && adminPort !== undefined && settings.adminToken) {
      admin = createAdminServer(edge, { token: settings.adminToken });
      adminUrl = await admin.listen(adminPort, settings.adminHost);
    }
  } catch (err) {
    // Nothing may keep the process alive after a failed start (the bus, the origin pool).
    await admin?.close();
    await edge.close();
    // A worker's IPC channel would keep it alive, and the primary would wait for it forever.
    if (role) leaveCluster();
    throw err;
  }
  const mode = settings.proxy.consistency?.mode ?? 'ttl';
  // A worker does not print: the primary prints worker 1's line (with the edge's base id) once every worker listens.
  await (role ? announceListening : printLine)(`mini-cdn edge ${role ? role.baseId : edge.id} listening on ${url}, origin ${settings.proxy.origin}, bus ${settings.redisUrl ?? 'in-process'}, mode ${mode}${admin ? `, admin ${adminUrl}` : ''}`);
  logger.info({ url, origin: settings.proxy.origin, bus: settings.redisUrl ?? 'in-process', mode, admin: admin ? adminUrl : null, accessLog: settings.accessLog }, 'edge started');
  access.open();
  const stopReloads = reloadOn({ file, overrides, watch: flags['watch'] === true }, edge, logger, settings);
  await stopped;
  logger.info('shutting down');
  stopReloads();
  await admin?.close();
  // Deregister first (receipts stop waiting for this edge), then let requests in flight finish.
  await edge.close(settings.graceMs);
  await accessLog?.close();
  logger.info('stopped');
  if (role) leaveCluster();
  return 0;
}

/** MINI_CDN_ORIGINS or MINI_CDN_ORIGINS__0__URL...: the origins come from the environment. */
function originsFromEnv(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(env).some((name) => (name === 'MINI_CDN_ORIGINS' || name.startsWith('MINI_CDN_ORIGINS__')) && env[name] !== undefined && env[name] !== '');
}

interface EdgeSettings {
  proxy: Partial<ProxyOptions> & { origin: string };
  port: number;
  host: string;
  redisUrl: string | undefined;
  namespace: string;
  /** Bound of the Redis replay stream (bus.streamMaxLength). */
  streamMaxLength: number;
  /** Leases, margin, command timeout (defaults without a config file). */
  busTiming: Partial<BusTiming>;
  signing: SigningKeys;
  adminPort: number | undefined;
  adminHost: string;
  adminToken: string | undefined;
  logLevel: Config['logging']['level'];
  accessLog: boolean;
  accessLogFormat: AccessLogFormat;
  /** The config as resolved at start (a reload compares with it). */
  config: Config;
  /** How long requests in flight may finish on SIGTERM. */
  graceMs: number;
  /** Worker processes (cluster); 1 is a single process. */
  workers: number | 'auto';
}

function settingsFrom(config: Config): EdgeSettings {
  return {
    proxy: proxyOptionsFrom(config),
    port: config.listen.port,
    host: config.listen.host,
    redisUrl: redisUrlFrom(config),
    namespace: config.bus.namespace,
    streamMaxLength: config.bus.streamMaxLength,
    busTiming: busTimingFrom(config),
    signing: signingFrom(config),
    adminPort: config.admin.port ?? undefined,
    adminHost: config.admin.host,
    adminToken: config.admin.token ?? undefined,
    logLevel: config.logging.level,
    accessLog: config.logging.accessLog,
    accessLogFormat: config.logging.accessLogFormat,
    config,
    graceMs: config.shutdown.graceMs,
    workers: config.workers,
  };
}

/** Parts of the config a running process cannot take over: the socket, the bus, the admin API, the process layout. */
const PROCESS_SETTINGS = ['listen', 'bus', 'admin', 'workers'] as const;

interface ReloadSources {
  /** The --config file; without one there is nothing to reload (flags and environment are read at start). */
  file: string | undefined;
  /** The flags, laid over the file again at each reload. */
  overrides: readonly ConfigOverride[];
  watch: boolean;
}

/**
 * Reloads the config on SIGHUP (and on file change with --watch): the file again, the environment
 * and the flags over it. A valid new config takes effect at once for what is read per request (and
 * the log level); an invalid one is refused, its problems logged, and the running config kept.
 * Without a file SIGHUP only says so: it never ends the process.
 */
function reloadOn(sources: ReloadSources, edge: EdgeNode, logger: Logger, started: EdgeSettings): () => void {
  const { file, overrides } = sources;
  const { accessLog, accessLogFormat, config: running } = started;
  const apply = (result: { ok: true; config: Config } | { ok: false; error: Error }): void => {
    if (!result.ok) {
      logger.error({ file, problems: result.error.message }, 'config reload refused, keeping the running config');
      return;
    }
    const needRestart = edge.proxy.reconfigure(proxyOptionsFrom(result.config));
    if (result.config.logging.accessLog !== accessLog) needRestart.push('logging.accessLog');
    if (result.config.logging.accessLogFormat !== accessLogFormat) needRestart.push('logging.accessLogFormat');
    for (const name of PROCESS_SETTINGS) {
      if (JSON.stringify(running[name]) !== JSON.stringify(result.config[name])) needRestart.push(name);
    }
    logger.level = result.config.logging.level;
    logger.info({ file, needRestart }, `config reloaded from ${file}${needRestart.length ? `; these settings take effect after a restart: ${needRestart.join(', ')}` : ''}`);
  };
  const onHup = (): void => {
    if (file === undefined) {
      logger.info('SIGHUP: nothing to reload (no --config file; flags and environment are read at start)');
      return;
    }
    resolveConfig({ file, overrides }).then(
      (config) => apply({ ok: true, config }),
      (error: Error) => apply({ ok: false, error }),
    );
  };
  process.on('SIGHUP', onHup);
  const stopWatching = sources.watch && file !== undefined ? watchConfig(file, (result) => apply(result.ok ? result : { ok: false, error: result.error }), { overrides }) : () => undefined;
  return () => {
    process.off('SIGHUP', onHup);
    stopWatching();
  };
}

/** True when a Redis answers at host:port within a short time. */
function redisReachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, redis: { type: 'string' }, 'no-redis': { type: 'boolean' } } });
  const base = intFlag(values.port, 'port', 8000);
  const at = (offset: number): number => (base === 0 ? 0 : base + offset);
  let redisUrl = redisUrlFlag(values.redis ?? process.env['MINI_CDN_REDIS_URL']);
  if (!redisUrl && !values['no-redis'] && (await redisReachable('127.0.0.1', 6379))) redisUrl = 'redis://127.0.0.1:6379';
  // A secret and an admin token of this run's own: nobody else can sign for its bus or call its admin API.
  const signing: SigningKeys = { current: 'k1', keys: { k1: randomSecret() } };
  const adminToken = randomBytes(12).toString('hex');
  const stopped = untilSignal();
  // One namespace per demo run, so that two demos never see each other's callbacks.
  const namespace = `mini-cdn-demo-${process.pid}`;
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(at(80));
  const publisherBus = busFor(redisUrl, signing, namespace);
  const publisher = createPublisher({ bus: publisherBus });
  publishChanges(origin, publisher, originUrl);
  // The shield trusts its edges (all on loopback here): the origin sees the clients' addresses.
  const shield = createEdgeNode({ id: 'shield', proxy: { origin: originUrl, cacheName: 'mini-cdn-shield', trustedProxies: ['127.0.0.1', '::1'] }, bus: busFor(redisUrl, signing, namespace), signing });
  const shieldUrl = await shield.start(at(2));
  const edges: EdgeNode[] = [];
  for (const name of ['edge-a', 'edge-b']) {
    // Edge A has the admin API, and with it /metrics.
    // Edges pass the client's Host on, and the shield keys on it. Real edges share one site name
    // (DNS); these two differ by port, so they send the shield one name of the demo's own.
    const toShield = [{ url: shieldUrl, weight: 1, hostHeader: DEMO_SITE }];
    const edge = createEdgeNode({ id: name, proxy: { origin: shieldUrl, origins: toShield, cacheName: `mini-cdn-${name}` }, bus: busFor(redisUrl, signing, namespace), signing, metrics: name === 'edge-a' });
    edges.push(edge);
  }
  const [edgeA, edgeB] = edges as [EdgeNode, EdgeNode];
  const aUrl = await edgeA.start(at(0));
  const bUrl = await edgeB.start(at(1));
  const admin = createAdminServer(edgeA, { token: adminToken });
  const adminUrl = await admin.listen(at(3));
  process.stdout.write(
    [
      `bus     ${redisUrl ? `Redis ${redisUrl} (namespace ${namespace})` : 'in-process (no Redis found)'}`,
      `origin  ${originUrl}`,
      `shield  ${shieldUrl}`,
      `edge A  ${aUrl}`,
      `edge B  ${bUrl}`,
      `admin   ${adminUrl}   (token: ${adminToken})`,
      '',
      'Try (watch the Cache-Status header):',
      `  curl -si ${aUrl}/news | grep -i cache-status     # miss at edge A and at the shield`,
      `  curl -si ${aUrl}/news | grep -i cache-status     # hit at edge A`,
      `  curl -si ${bUrl}/news | grep -i cache-status     # miss at edge B, hit at the shield`,
      `  sleep 6; curl -si ${aUrl}/news | grep -i cache-status   # stale: revalidated, 304`,
      `  curl -s -X PUT --data 'breaking news' ${originUrl}/news   # a change at the origin...`,
      `  curl -s ${bUrl}/news                                       # ...was pushed to every edge`,
      `  curl -s -X POST -H 'Authorization: Bearer ${adminToken}' -d '{"urls":["${originUrl}/"],"waitMs":500}' ${adminUrl}/purge`,
      `                                                   # a purge with a receipt from every edge`,
      `  curl -s -H 'Authorization: Bearer ${adminToken}' ${adminUrl}/metrics | grep '^minicdn_'   # edge A's metrics`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  await stopped;
  await admin.close();
  for (const edge of [...edges, shield]) await edge.close();
  await publisherBus.close();
  await origin.close();
  return 0;
}
