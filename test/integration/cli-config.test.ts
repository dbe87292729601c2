// The config file from the command line: `config check`, `edge --config`, and reload on SIGHUP
// (a valid config takes effect without dropping the cache; an invalid one is refused).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoOrigin } from '../../origin/demo-origin.js';
import type { DemoOrigin } from '../../origin/demo-origin.js';
import { fetchFrom, sleep } from '../helpers/harness.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../config/examples/', import.meta.url));
const env = { ...process.env, MINI_CDN_REDIS_URL: '', MINI_CDN_ADMIN_TOKEN: '' };

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

let dir: string;
let origin: DemoOrigin;
let originUrl: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mini-cdn-cli-config-'));
  origin = createDemoOrigin();
  originUrl = await origin.listen(0);
});
after(async () => {
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

test('config check accepts both examples', async () => {
  for (const name of ['minimal.yaml', 'full.yaml']) {
    const { code, output } = await run(['config', 'check', join(EXAMPLES, name)]);
    assert.equal(code, 0, output);
    assert.match(output, /^ok: /);
  }
});

test('config check lists every problem with its path and line, exit 1', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'origins:\n  - url: ftp://x\ncache:\n  maxBytes: -1\nsurprise: true\n');
  const { code, output } = await run(['config', 'check', file]);
  assert.equal(code, 1);
  assert.match(output, /MCDN_CONFIG_INVALID/);
  assert.match(output, /:2:\d+ origins\[0\]\.url/);
  assert.match(output, /:4:\d+ cache\.maxBytes/);
  assert.match(output, /:5:\d+ surprise/);
});

function yaml(mode: string): string {
  return [`listen: { host: 127.0.0.1, port: 0 }`, `origins:`, `  - url: ${originUrl}`, `routes:`, `  - { match: /news, mode: ${mode} }`, ''].join('\n');
}

test('edge --config serves by its routes, and SIGHUP reloads: a valid config applies, an invalid one is refused', async () => {
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, yaml('ttl'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'edge', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`edge exited ${code}: ${output}`)));
  });
  try {
    await fetchFrom(url, 'GET', '/news');
    assert.equal((await fetchFrom(url, 'GET', '/news')).cacheStatus.hit, true);
    writeFileSync(file, yaml('validate'));
    child.kill('SIGHUP');
    for (let i = 0; i < 50 && !output.includes('config reloaded'); i++) await sleep(100);
    const validated = await fetchFrom(url, 'GET', '/news');
    assert.equal(validated.cacheStatus.detail, 'validate-mode', 'the new route mode applies');
    assert.equal(validated.cacheStatus['fwd-status'], 304, 'the cache was kept: revalidated, not refetched');
    writeFileSync(file, 'origins: []\n');
    child.kill('SIGHUP');
    for (let i = 0; i < 50 && !output.includes('config reload refused'); i++) await sleep(100);
    assert.match(output, /config reload refused/);
    assert.equal((await fetchFrom(url, 'GET', '/news')).cacheStatus.detail, 'validate-mode', 'the running config is kept');
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
});

test('edge --config: the bus lease keys reach the bus (the lease an edge trusts runs at most leaseMs - leaseMarginMs)', async () => {
  const file = join(dir, 'lease.yaml');
  const token = 'lease-admin-token-0123';
  writeFileSync(file, [yaml('callback'), `admin: { port: 0, token: ${token} }`, 'bus: { leaseRenewMs: 200, leaseMs: 900, leaseMarginMs: 300, commandTimeoutMs: 500 }', ''].join('\n'));
  // The environment's token wins over the file's (an empty one here would refuse the admin port).
  const child: ChildProcess = spawn(process.execPath, [BIN, 'edge', '--config', file], { env: { ...env, MINI_CDN_ADMIN_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const adminUrl = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /admin (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`edge exited ${code}: ${output}`)));
  });
  try {
    const leases: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetchFrom(adminUrl, 'GET', '/stats', { headers: { authorization: `Bearer ${token}` } });
      leases.push((JSON.parse(res.text) as { bus: { leaseValidForMs: number } }).bus.leaseValidForMs);
      await sleep(50);
    }
    assert.ok(leases.some((ms) => ms > 0), `the edge holds a lease: ${leases.join(', ')}`);
    assert.ok(leases.every((ms) => ms <= 900 - 300), `never more than leaseMs - leaseMarginMs (the defaults would allow 2000): ${leases.join(', ')}`);
  } finally {
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
});
