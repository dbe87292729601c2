// One config path for `mini-cdn edge` (issue 12), from the command line as an operator runs it:
// flags get the file defaults, the environment applies without --config, a flag against the file
// is refused, SIGHUP never kills a flag-started edge, https origins are accepted, listen errors
// are coded, and /metrics follows a reload onto other origins.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCliEdge } from '../helpers/cli-edge.js';
import type { CliEdge } from '../helpers/cli-edge.js';
import { customOrigin, fetchFrom, sleep, waitFor } from '../helpers/harness.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
const TOKEN = 'cfgpath-admin-token-0123';

/** The process environment without MINI_CDN_* (the tests set their own), plus `extra`. */
function envWith(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MINI_CDN_')) env[key] = value;
  return { ...env, ...extra };
}

/** Runs the command to its end (killed by PID after `deadlineMs`: then code is null). */
function run(args: string[], env = envWith(), deadlineMs = 15_000): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output });
    }),
  );
}

type Running = CliEdge;

/** Starts `mini-cdn edge ...` and resolves once it prints its "listening on" line. */
function startEdge(args: string[], env = envWith()): Promise<Running> {
  return startCliEdge(args, env);
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(force);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** A cacheable page on every path but /healthz, which answers `healthStatus`; counts both. */
async function pageOrigin(name: string, healthStatus = 404): Promise<Awaited<ReturnType<typeof customOrigin>> & { checks: () => number; pages: () => number }> {
  let checks = 0;
  let pages = 0;
  const origin = await customOrigin((req, res) => {
    if (req.url === '/healthz') {
      checks++;
      res.statusCode = healthStatus;
      return res.end();
    }
    pages++;
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain' });
    res.end(`${name} ${req.url}`);
  });
  return Object.assign(origin, { checks: () => checks, pages: () => pages });
}

/** A server of the test's own on a port, so that the edge finds it taken. */
async function takenPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mini-cdn-cfgpath-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('edge with flags: --print-config shows the file defaults (retries 2 / 50 ms, health checks on), exit 0', async () => {
  const { code, stdout, output } = await run(['edge', '--origin', 'http://127.0.0.1:1', '--port', '0', '--print-config']);
  assert.equal(code, 0, output);
  const config = JSON.parse(stdout) as { retries: unknown; healthCheck: unknown; origins: { url: string }[]; listen: unknown };
  assert.deepEqual(config.retries, { attempts: 2, backoffMs: 50 });
  assert.deepEqual(config.healthCheck, { path: '/healthz', intervalMs: 5000, timeoutMs: 2000, healthyAfter: 2, unhealthyAfter: 3 });
  assert.deepEqual(config.origins.map((o) => o.url), ['http://127.0.0.1:1']);
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 0 });
});

test('edge --origin https://127.0.0.1:1 is accepted (print-config shows it)', async () => {
  const { code, stdout, output } = await run(['edge', '--origin', 'https://127.0.0.1:1', '--print-config']);
  assert.equal(code, 0, output);
  assert.deepEqual((JSON.parse(stdout) as { origins: { url: string }[] }).origins.map((o) => o.url), ['https://127.0.0.1:1']);
});

test('MINI_CDN_CACHE__MAX_BYTES applies without --config; a flag wins over a variable', async () => {
  const env = envWith({ MINI_CDN_CACHE__MAX_BYTES: '123456', MINI_CDN_DEFAULTS__MODE: 'validate' });
  const { code, stdout, output } = await run(['edge', '--origin', 'http://127.0.0.1:1', '--mode', 'callback', '--print-config'], env);
  assert.equal(code, 0, output);
  const config = JSON.parse(stdout) as { cache: { maxBytes: number }; defaults: { mode: string } };
  assert.equal(config.cache.maxBytes, 123456);
  assert.equal(config.defaults.mode, 'callback');
});

test('--print-config hides secrets and tokens', async () => {
  const secret = 'cfgpath-bus-secret-0123456789';
  const env = envWith({ MINI_CDN_BUS_SECRET: secret });
  const { code, stdout, output } = await run(['edge', '--origin', 'http://127.0.0.1:1', '--admin-port', '0', '--admin-token', TOKEN, '--print-config'], env);
  assert.equal(code, 0, output);
  assert.ok(!stdout.includes(secret) && !stdout.includes(TOKEN), stdout);
  const config = JSON.parse(stdout) as { bus: { secret: string }; admin: { token: string; port: number } };
  assert.equal(config.bus.secret, '(hidden)');
  assert.equal(config.admin.token, '(hidden)');
  assert.equal(config.admin.port, 0);
});

test('a flag giving another value for a key the file sets: exit 2, MCDN_USAGE naming the flag and the key', async () => {
  const file = configFile('conflict.yaml', 'listen: { port: 0 }\norigins:\n  - url: http://127.0.0.1:1\ncache:\n  maxBytes: 5000\n');
  const { code, output } = await run(['edge', '--config', file, '--max-bytes', '6000']);
  assert.equal(code, 2, output);
  assert.match(output, /MCDN_USAGE: --max-bytes: conflicts with cache\.maxBytes in .*conflict\.yaml \(the file sets 5000, the flag 6000\)/);
  const origin = await run(['edge', '--config', file, '--origin', 'http://127.0.0.1:2']);
  assert.equal(origin.code, 2, origin.output);
  assert.match(origin.output, /MCDN_USAGE: --origin: conflicts with origins/);
});

test('--port, --host and --id beside --config replace the file\'s values; a flag for a key the file leaves out applies', async () => {
  const origin = await pageOrigin('a');
  const file = configFile('beside.yaml', `listen: { host: 127.0.0.1, port: 1 }\norigins:\n  - url: ${origin.url}\n`);
  const edge = await startEdge(['--config', file, '--port', '0', '--host', '127.0.0.1', '--id', 'beside-edge', '--mode', 'validate']);
  try {
    assert.match(edge.output(), /mini-cdn edge beside-edge listening on http:\/\/127\.0\.0\.1:\d+, .*mode validate/);
    assert.equal((await fetchFrom(edge.url, 'GET', '/x')).text, 'a /x');
  } finally {
    assert.equal(await stop(edge.child), 0);
    await origin.close();
  }
});

test('SIGHUP on an edge started with flags: it logs "nothing to reload", keeps running and keeps its cache', async () => {
  const origin = await pageOrigin('flags');
  const edge = await startEdge(['--origin', origin.url, '--port', '0'], envWith({ MINI_CDN_HEALTH_CHECK: 'false' }));
  try {
    assert.equal((await fetchFrom(edge.url, 'GET', '/page')).status, 200);
    assert.equal((await fetchFrom(edge.url, 'GET', '/page')).cacheStatus.hit, true);
    edge.child.kill('SIGHUP');
    await waitFor(() => edge.output().includes('nothing to reload'), 10_000);
    assert.match(edge.output(), /SIGHUP: nothing to reload/);
    edge.child.kill('SIGHUP');
    await sleep(200);
    assert.equal(edge.child.exitCode, null, 'still running');
    assert.equal(edge.child.signalCode, null, 'not killed by the signal');
    const after = await fetchFrom(edge.url, 'GET', '/page');
    assert.equal(after.status, 200);
    assert.equal(after.cacheStatus.hit, true, 'the cache survived');
    assert.equal(origin.pages(), 1);
  } finally {
    assert.equal(await stop(edge.child), 0);
    await origin.close();
  }
});

test('health checks of an edge started with flags: an origin without /healthz (404) stays up; one whose /healthz says 503 goes down', async () => {
  // Checks every 200 ms (through the environment, which now applies without a file).
  const env = envWith({ MINI_CDN_HEALTH_CHECK__INTERVAL_MS: '200', MINI_CDN_HEALTH_CHECK__TIMEOUT_MS: '150' });
  const plain = await pageOrigin('plain', 404);
  const failing = await pageOrigin('failing', 503);
  const admin = ['--port', '0', '--admin-port', '0', '--admin-token', TOKEN];
  const toPlain = await startEdge(['--origin', plain.url, ...admin], env);
  const toFailing = await startEdge(['--origin', failing.url, ...admin], env);
  const adminOf = (edge: Running): string => /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.output())?.[1] as string;
  try {
    // More checks than unhealthyAfter (3): a 404 counted as a failure would have taken the origin out by now.
    await waitFor(() => plain.checks() >= 5 && failing.checks() >= 5, 20_000);
    assert.ok(plain.checks() >= 5 && failing.checks() >= 5, `checks: ${plain.checks()}, ${failing.checks()}`);
    assert.match(await metricsText(adminOf(toPlain)), new RegExp(`minicdn_origin_up\\{origin="${plain.url}"[^}]*\\} 1\\b`));
    assert.match(await metricsText(adminOf(toFailing)), new RegExp(`minicdn_origin_up\\{origin="${failing.url}"[^}]*\\} 0\\b`));
    const served = await fetchFrom(toPlain.url, 'GET', '/news');
    assert.equal(served.status, 200);
    assert.equal(served.text, 'plain /news');
    assert.equal(served.cacheStatus.fwd, 'uri-miss');
  } finally {
    assert.equal(await stop(toPlain.child), 0);
    assert.equal(await stop(toFailing.child), 0);
    await plain.close();
    await failing.close();
  }
});

test('edge on a port already taken: exit 1, MCDN_LISTEN_FAILED naming the port', async () => {
  const taken = await takenPort();
  try {
    const { code, output } = await run(['edge', '--origin', 'http://127.0.0.1:1', '--port', String(taken.port)]);
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`MCDN_LISTEN_FAILED: .*127\\.0\\.0\\.1:${taken.port}: EADDRINUSE`));
  } finally {
    await taken.close();
  }
});

test('edge with --admin-port already taken: exit 1, MCDN_LISTEN_FAILED naming the admin port', async () => {
  const taken = await takenPort();
  try {
    const { code, output } = await run(['edge', '--origin', 'http://127.0.0.1:1', '--port', '0', '--admin-port', String(taken.port), '--admin-token', TOKEN]);
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`MCDN_LISTEN_FAILED: admin API cannot listen on 127\\.0\\.0\\.1:${taken.port}: EADDRINUSE`));
  } finally {
    await taken.close();
  }
});

/** GET /metrics of the admin API. */
function metricsText(adminUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

test('a reload onto another origin shows in /metrics: the new origin is named, the old one is gone', async () => {
  const first = await pageOrigin('first');
  const second = await pageOrigin('second');
  const yaml = (url: string): string => `listen: { port: 0 }\norigins:\n  - url: ${url}\nhealthCheck: false\nadmin: { port: 0, token: ${TOKEN} }\n`;
  const file = configFile('metrics.yaml', yaml(first.url));
  const edge = await startEdge(['--config', file]);
  try {
    const adminUrl = /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(edge.output())?.[1] as string;
    assert.ok(adminUrl, edge.output());
    assert.equal((await fetchFrom(edge.url, 'GET', '/a')).text, 'first /a');
    assert.ok((await metricsText(adminUrl)).includes(`minicdn_origin_attempts_total{origin="${first.url}"`));
    writeFileSync(file, yaml(second.url));
    edge.child.kill('SIGHUP');
    await waitFor(() => edge.output().includes('config reloaded'), 10_000);
    assert.match(edge.output(), /config reloaded/);
    assert.equal((await fetchFrom(edge.url, 'GET', '/b')).text, 'second /b');
    const text = await metricsText(adminUrl);
    assert.ok(text.includes(`minicdn_origin_attempts_total{origin="${second.url}"`), text);
    assert.ok(text.includes(`minicdn_origin_up{origin="${second.url}"`), text);
    assert.ok(!text.includes(`origin="${first.url}"`), 'the replaced pool is not reported');
  } finally {
    assert.equal(await stop(edge.child), 0);
    await first.close();
    await second.close();
  }
});
