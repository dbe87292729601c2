// The long-running commands: origin, edge, demo. Each builds its nodes with the factories of
// the other folders, listens, and stops everything it started on SIGINT / SIGTERM.
import net from 'node:net';
import { parseArgs } from 'node:util';
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
import type { ConsistencyMode, ProxyOptions } from '../proxy/server/options.js';
import { httpUrlFlag, intFlag, redisUrlFlag, signingFromEnv, untilSignal } from './args.js';

const MODES: readonly ConsistencyMode[] = ['ttl', 'callback', 'validate'];

function busFor(redisUrl: string | undefined, signing: SigningKeys, namespace = process.env['MINI_CDN_BUS_NAMESPACE'] ?? DEFAULT_BUS_OPTIONS.namespace): InvalidationBus {
  return createBus({ ...DEFAULT_BUS_OPTIONS, namespace, signing, redisUrl });
}

export async function runOrigin(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' }, redis: { type: 'string' } } });
  const redisUrl = redisUrlFlag(values.redis ?? process.env['MINI_CDN_REDIS_URL']);
  const origin = createDemoOrigin();
  const url = await origin.listen(intFlag(values.port, 'port', 8080), values.host ?? '127.0.0.1');
  // With a bus, every change to a resource is pushed to the edges as a callback.
  const bus = redisUrl ? busFor(redisUrl, signingFromEnv(process.env, true)) : undefined;
  const publisher = bus ? createPublisher({ bus }) : undefined;
  if (publisher) publishChanges(origin, publisher, url, (err) => process.stderr.write(`callback not published: ${(err as Error).message}\n`));
  process.stdout.write(`mini-cdn origin listening on ${url}${publisher ? ', publishing changes on ' + redisUrl : ''}\n`);
  await untilSignal();
  await origin.close();
  await bus?.close();
  return 0;
}

export async function runEdge(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      origin: { type: 'string', multiple: true },
      port: { type: 'string' },
      host: { type: 'string' },
      redis: { type: 'string' },
      id: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-token': { type: 'string' },
      mode: { type: 'string' },
      'edge-ttl-ms': { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-object-bytes': { type: 'string' },
    },
  });
  const [origin] = values.origin ?? [];
  if (!origin) throw new MiniCdnError('MCDN_USAGE', 'edge needs --origin URL');
  httpUrlFlag(origin, 'origin');
  const mode = (values.mode ?? 'ttl') as ConsistencyMode;
  if (!MODES.includes(mode)) throw new MiniCdnError('MCDN_USAGE', `--mode must be one of ${MODES.join(', ')}`);
  const adminToken = values['admin-token'] ?? process.env['MINI_CDN_ADMIN_TOKEN'];
  if (values['admin-port'] !== undefined && !adminToken) throw new MiniCdnError('MCDN_USAGE', '--admin-port needs --admin-token (or MINI_CDN_ADMIN_TOKEN)');
  const redisUrl = redisUrlFlag(values.redis ?? process.env['MINI_CDN_REDIS_URL']);
  const signing = signingFromEnv(process.env, redisUrl !== undefined);
  const proxy: Partial<ProxyOptions> & { origin: string } = {
    origin,
    consistency: { mode, edgeTtlMs: intFlag(values['edge-ttl-ms'], 'edge-ttl-ms', 3_600_000) },
    ...(values['max-bytes'] ? { maxBytes: intFlag(values['max-bytes'], 'max-bytes', 0) } : {}),
    ...(values['max-object-bytes'] ? { maxObjectBytes: intFlag(values['max-object-bytes'], 'max-object-bytes', 0) } : {}),
  };
  const edge = createEdgeNode({ id: values.id, proxy, bus: busFor(redisUrl, signing), signing, heartbeatMs: 2_000 });
  const url = await edge.start(intFlag(values.port, 'port', 8000), values.host ?? '127.0.0.1');
  let admin: AdminServer | undefined;
  let adminUrl = '';
  if (values['admin-port'] !== undefined && adminToken) {
    admin = createAdminServer(edge, { token: adminToken });
    adminUrl = await admin.listen(intFlag(values['admin-port'], 'admin-port', 0), values.host ?? '127.0.0.1');
  }
  process.stdout.write(`mini-cdn edge ${edge.id} listening on ${url}, origin ${origin}, bus ${redisUrl ?? 'in-process'}, mode ${mode}${admin ? `, admin ${adminUrl}` : ''}\n`);
  await untilSignal();
  await admin?.close();
  await edge.close();
  return 0;
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
  const signing = signingFromEnv(process.env, false);
  // One namespace per demo run, so that two demos never see each other's callbacks.
  const namespace = `mini-cdn-demo-${process.pid}`;
  const origin = createDemoOrigin();
  const originUrl = await origin.listen(at(80));
  const publisherBus = busFor(redisUrl, signing, namespace);
  const publisher = createPublisher({ bus: publisherBus });
  publishChanges(origin, publisher, originUrl);
  const shield = createEdgeNode({ id: 'shield', proxy: { origin: originUrl, cacheName: 'mini-cdn-shield' }, bus: busFor(redisUrl, signing, namespace), signing, heartbeatMs: 1_000 });
  const shieldUrl = await shield.start(at(2));
  const edges: EdgeNode[] = [];
  for (const name of ['edge-a', 'edge-b']) {
    const edge = createEdgeNode({ id: name, proxy: { origin: shieldUrl, cacheName: `mini-cdn-${name}` }, bus: busFor(redisUrl, signing, namespace), signing, heartbeatMs: 1_000 });
    edges.push(edge);
  }
  const [edgeA, edgeB] = edges as [EdgeNode, EdgeNode];
  const aUrl = await edgeA.start(at(0));
  const bUrl = await edgeB.start(at(1));
  const admin = createAdminServer(edgeA, { token: 'demo' });
  const adminUrl = await admin.listen(at(3));
  process.stdout.write(
    [
      `bus     ${redisUrl ? `Redis ${redisUrl} (namespace ${namespace})` : 'in-process (no Redis found)'}`,
      `origin  ${originUrl}`,
      `shield  ${shieldUrl}`,
      `edge A  ${aUrl}`,
      `edge B  ${bUrl}`,
      `admin   ${adminUrl}   (token: demo)`,
      '',
      'Try (watch the Cache-Status header):',
      `  curl -si ${aUrl}/news | grep -i cache-status     # miss at edge A and at the shield`,
      `  curl -si ${aUrl}/news | grep -i cache-status     # hit at edge A`,
      `  curl -si ${bUrl}/news | grep -i cache-status     # miss at edge B, hit at the shield`,
      `  sleep 6; curl -si ${aUrl}/news | grep -i cache-status   # stale: revalidated, 304`,
      `  curl -s -X PUT --data 'breaking news' ${originUrl}/news   # a change at the origin...`,
      `  curl -s ${bUrl}/news                                       # ...was pushed to every edge`,
      `  curl -s -X POST -H 'Authorization: Bearer demo' -d '{"urls":["${originUrl}/"],"waitMs":500}' ${adminUrl}/purge`,
      `                                                   # a purge with a receipt from every edge`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  await untilSignal();
  await admin.close();
  for (const edge of [...edges, shield]) await edge.close();
  await publisherBus.close();
  await origin.close();
  return 0;
}
