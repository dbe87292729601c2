// Metrics and the access hook of an edge, through real sockets: a miss, a hit, a revalidation
// answered 304, a purge, a forged and a garbled bus message; then GET /metrics on the admin API
// shows each of them in the exposition text, and the access hook saw one record per request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdminServer } from '../../edge/admin-api.js';
import type { AdminServer } from '../../edge/admin-api.js';
import { createMemoryBus } from '../../edge/bus/memory-bus.js';
import type { MemoryBus } from '../../edge/bus/memory-bus.js';
import { buildInvalidation, seal } from '../../edge/bus/messages.js';
import { DEFAULT_BUS_OPTIONS } from '../../edge/bus/types.js';
import type { BusOptions } from '../../edge/bus/types.js';
import { createEdgeNode } from '../../edge/edge-node.js';
import type { EdgeNode } from '../../edge/edge-node.js';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { cacheLabel } from '../../proxy/server/outcome.js';
import type { Outcome } from '../../proxy/server/outcome.js';
import { fetchFrom, waitFor } from '../helpers/harness.js';

const signing = { current: 'k1', keys: { k1: 'test-secret' } };
const auth = { authorization: 'Bearer metrics-token' };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample with this name whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return (found[0] as Sample).value;
}

describe('edge metrics and access hook', () => {
  let origin: DemoOrigin;
  let originUrl: string;
  let options: BusOptions;
  let edge: EdgeNode;
  let other: EdgeNode;
  let bus: MemoryBus;
  let edgeUrl: string;
  let admin: AdminServer;
  let adminUrl: string;
  const records: Outcome[] = [];

  before(async () => {
    origin = createDemoOrigin();
    originUrl = await origin.listen(0);
    options = { ...DEFAULT_BUS_OPTIONS, namespace: `metrics-test-${process.pid}-${Date.now()}`, signing };
    bus = createMemoryBus(options);
    edge = createEdgeNode({ id: 'metrics-edge', proxy: { origin: originUrl }, bus, signing, metrics: true, onResponse: (r) => records.push(r) });
    edgeUrl = await edge.start(0);
    // A second edge with metrics in the same process: its own registry, no clash.
    other = createEdgeNode({ id: 'other-edge', proxy: { origin: originUrl }, bus: createMemoryBus(options), signing, metrics: true });
    await other.start(0);
    admin = createAdminServer(edge, { token: 'metrics-token' });
    adminUrl = await admin.listen(0);

    origin.setResource('/m/page', { body: 'page', headers: { 'cache-control': 'max-age=600' } });
    origin.setResource('/m/reval', { body: 'reval', headers: { 'cache-control': 'no-cache' } });
    const expect = async (path: string, cache: string): Promise<void> => {
      const res = await fetchFrom(edgeUrl, 'GET', path);
      assert.equal(res.status, 200);
      assert.equal(res.cacheStatus.hit === true ? 'hit' : `fwd=${String(res.cacheStatus.fwd)}`, cache, path);
    };
    await expect('/m/page', 'fwd=uri-miss');
    await expect('/m/page', 'hit');
    await expect('/m/reval', 'fwd=uri-miss');
    await expect('/m/reval', 'fwd=stale');
    const purge = await fetchFrom(adminUrl, 'POST', '/purge', { headers: auth, body: JSON.stringify({ urls: [`${originUrl}/m/page`], waitMs: 5000 }) });
    assert.equal(purge.status, 202);
    assert.equal((JSON.parse(purge.text) as { receipt: { complete: boolean } }).receipt.complete, true);
    await expect('/m/page', 'fwd=uri-miss');
    // A message sealed with a key the edges do not know, and one that is not even JSON.
    const forged = buildInvalidation({ all: true }, { epoch: 'e', seq: 2, id: 'forged-0001', issuedAtMs: Date.now() });
    bus.injectRaw('inv', seal('inv', forged, { current: 'rogue', keys: { rogue: 'not-the-secret' } }, options.namespace));
    bus.injectRaw('inv', '{"garbled');
    await waitFor(() => edge.bus.stats().forged === 1 && edge.bus.stats().garbled === 1 && records.length === 5);
  });

  after(async () => {
    await admin.close();
    await edge.close();
    await other.close();
    await origin.close();
  });

  test('GET /metrics needs the bearer token', async () => {
    const res = await fetchFrom(adminUrl, 'GET', '/metrics');
    assert.equal(res.status, 401);
    assert.match(res.text, /MCDN_UNAUTHORIZED/);
  });

  test('GET /metrics answers the Prometheus text format with prom-client\'s content type', async () => {
    const res = await fetchFrom(adminUrl, 'GET', '/metrics', { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], edge.metrics?.contentType);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^# HELP minicdn_hits_total /m);
    assert.match(res.text, /^# TYPE minicdn_hits_total counter$/m);
  });

  test('the engine, store, bus and origin counters have the values of what happened', async () => {
    const samples = parseExposition((await fetchFrom(adminUrl, 'GET', '/metrics', { headers: auth })).text);
    const expected: Array<[string, Record<string, string>, number]> = [
      ['minicdn_hits_total', {}, 1],
      ['minicdn_misses_total', {}, 3],
      ['minicdn_revalidations_total', {}, 1],
      ['minicdn_not_modified_total', {}, 1],
      ['minicdn_collapsed_total', {}, 0],
      ['minicdn_upstream_errors_total', {}, 0],
      ['minicdn_invalidations_applied_total', {}, 1],
      ['minicdn_store_entries', {}, 2],
      ['minicdn_store_evictions_total', {}, 0],
      ['minicdn_responses_total', { cache: 'hit', code: '2xx' }, 1],
      ['minicdn_responses_total', { cache: 'fwd=uri-miss', code: '2xx' }, 3],
      ['minicdn_responses_total', { cache: 'fwd=stale', code: '2xx' }, 1],
      ['minicdn_origin_request_duration_seconds_count', { cache: 'fwd=uri-miss', outcome: '2xx' }, 3],
      ['minicdn_origin_request_duration_seconds_count', { cache: 'fwd=stale', outcome: '3xx' }, 1],
      ['minicdn_origin_request_duration_seconds_bucket', { cache: 'fwd=stale', outcome: '3xx', le: '+Inf' }, 1],
      ['minicdn_bus_state', { state: 'in-sync' }, 1],
      ['minicdn_bus_state', { state: 'down' }, 0],
      ['minicdn_bus_last_applied_seq', {}, 1],
      ['minicdn_bus_applied_total', {}, 1],
      ['minicdn_bus_forged_total', {}, 1],
      ['minicdn_bus_garbled_total', {}, 1],
      ['minicdn_bus_foreign_epoch_total', {}, 0],
      ['minicdn_bus_ahead_of_counter_total', {}, 0],
      ['minicdn_bus_resyncs_total', {}, 0],
      ['minicdn_bus_gaps_total', {}, 0],
      ['minicdn_bus_replayed_total', {}, 0],
      ['minicdn_invalidation_lag_seconds_count', {}, 1],
      ['minicdn_origin_up', { origin: originUrl }, 1],
      ['minicdn_origin_in_flight', { origin: originUrl }, 0],
      ['minicdn_origin_attempts_total', { origin: originUrl }, 4],
      ['minicdn_origin_failed_fast_total', {}, 0],
    ];
    for (const [name, labels, value] of expected) assert.equal(valueOf(samples, name, labels), value, `${name}${JSON.stringify(labels)}`);
    assert.ok(valueOf(samples, 'minicdn_store_bytes') > 0);
    assert.ok(samples.every((s) => s.labels['edge'] === 'metrics-edge'), 'every series names its edge');
    assert.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'), 'process metrics');
    assert.ok(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes'), 'Node.js metrics');
  });

  test('counters are read at scrape time and only grow', async () => {
    const scrape = async (): Promise<number> => valueOf(parseExposition((await fetchFrom(adminUrl, 'GET', '/metrics', { headers: auth })).text), 'minicdn_hits_total');
    const before = await scrape();
    assert.equal(await scrape(), before, 'a scrape does not count anything');
    assert.equal((await fetchFrom(edgeUrl, 'GET', '/m/page')).cacheStatus.hit, true);
    assert.equal(await scrape(), before + 1);
  });

  test('another edge in the same process keeps its own registry', async () => {
    const samples = parseExposition(await (other.metrics as NonNullable<EdgeNode['metrics']>).text());
    assert.equal(valueOf(samples, 'minicdn_hits_total'), 0);
    assert.equal(valueOf(samples, 'minicdn_bus_applied_total'), 1, 'it applied the purge too');
    assert.ok(samples.every((s) => s.labels['edge'] === 'other-edge'));
  });

  test('an edge made without metrics has none, and its admin API says so', async () => {
    const plain = createEdgeNode({ proxy: { origin: originUrl }, bus: createMemoryBus(options), signing });
    const plainAdmin = createAdminServer(plain, { token: 't' });
    try {
      await plain.start(0);
      const url = await plainAdmin.listen(0);
      assert.equal(plain.metrics, undefined);
      assert.equal((await fetchFrom(url, 'GET', '/metrics', { headers: { authorization: 'Bearer t' } })).status, 404);
    } finally {
      await plainAdmin.close();
      await plain.close();
    }
  });

  test('the access hook got one outcome per request, with the decision its Cache-Status was made from', () => {
    const first = records.slice(0, 5);
    assert.deepEqual(first.map((r) => [r.method, r.path, r.status, cacheLabel(r.cache)]), [
      ['GET', '/m/page', 200, 'fwd=uri-miss'],
      ['GET', '/m/page', 200, 'hit'],
      ['GET', '/m/reval', 200, 'fwd=uri-miss'],
      ['GET', '/m/reval', 200, 'fwd=stale'],
      ['GET', '/m/page', 200, 'fwd=uri-miss'],
    ]);
    assert.equal((first[3] as Outcome).cache?.fwdStatus, 304);
    assert.equal((first[3] as Outcome).originStatus, 304);
    for (const r of first) {
      assert.ok(r.bytes > 0, 'bytes written');
      assert.ok(r.durationMs >= 0);
      assert.equal(r.remote, '127.0.0.1');
      assert.equal(r.host, new URL(edgeUrl).host);
      assert.equal(r.aborted, false);
    }
  });
});
