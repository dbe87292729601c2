// The command line as a user runs it: real processes, stopped by PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fetchFrom } from '../helpers/harness.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));

/** Starts the command and resolves the first URL it prints. */
function start(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (match) resolve({ child, url: match[0], output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

test('mini-cdn origin and mini-cdn edge serve and cache, and stop on SIGTERM', async () => {
  const origin = await start(['origin', '--port', '0']);
  const edge = await start(['edge', '--origin', origin.url, '--port', '0']);
  try {
    const miss = await fetchFrom(edge.url, 'GET', '/news');
    assert.equal(miss.status, 200);
    assert.equal(miss.cacheStatus.fwd, 'uri-miss');
    const hit = await fetchFrom(edge.url, 'GET', '/news');
    assert.equal(hit.cacheStatus.hit, true);
    // Flags get the defaults: the client's Host goes to the origin, no downstream proxy is trusted.
    const echo = JSON.parse((await fetchFrom(edge.url, 'GET', '/echo', { headers: { host: 'www.example.test', 'x-forwarded-for': '203.0.113.7' } })).text) as { headers: Record<string, string> };
    assert.equal(echo.headers['host'], 'www.example.test');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['forwarded'], 'for=127.0.0.1;host=www.example.test;proto=http');
  } finally {
    assert.equal(await stop(edge.child), 0);
    assert.equal(await stop(origin.child), 0);
  }
});

test('mini-cdn demo prints its URLs and curl lines', async () => {
  const demo = await start(['demo', '--port', '0']);
  try {
    await fetchFrom(demo.url, 'GET', '/');
    assert.match(demo.output(), /origin\s+http:\/\/127\.0\.0\.1:\d+/);
    for (let i = 0; i < 100 && !/edge B\s+http/.test(demo.output()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(demo.output(), /curl/);
    // As the curl lines say: edge B's miss is a hit at the shield, which edge A filled.
    const edgeUrl = (name: string): string => (new RegExp(`${name}\\s+(http://\\S+)`).exec(demo.output()) as RegExpExecArray)[1] as string;
    await fetchFrom(edgeUrl('edge A'), 'GET', '/news');
    const fromB = await fetchFrom(edgeUrl('edge B'), 'GET', '/news');
    assert.equal(fromB.cacheStatus.fwd, 'uri-miss');
    assert.match(String(fromB.headers['cache-status']), /mini-cdn-shield; hit/);
  } finally {
    assert.equal(await stop(demo.child), 0);
  }
});

const usageErrors: Array<{ args: string[]; says: RegExp }> = [
  { args: ['nonsense'], says: /MCDN_USAGE: unknown command/ },
  { args: ['edge'], says: /MCDN_USAGE: edge needs --origin/ },
  { args: ['edge', '--origin', 'ftp://x'], says: /MCDN_USAGE: --origin: origins\[0\]\.url must be http:\/\/ or https:\/\// },
  { args: ['edge', '--origin', 'http://127.0.0.1:1', '--port', 'abc'], says: /MCDN_USAGE: --port takes a whole number/ },
  { args: ['origin', '--bogus'], says: /MCDN_USAGE/ },
  { args: ['edge', '--origin', 'http://127.0.0.1:1', '--max-bytes', '1000', '--max-object-bytes', '2000'], says: /MCDN_USAGE: --max-object-bytes: cache\.maxObjectBytes must not exceed cache\.maxBytes \(1000\)/ },
  { args: ['edge', '--origin', 'http://127.0.0.1:1', '--max-bytes', '0'], says: /MCDN_USAGE: --max-bytes: cache\.maxBytes must be ≥ 1/ },
  { args: ['bench', 'no-such-scenario'], says: /MCDN_USAGE: unknown scenario 'no-such-scenario'; known: hit-small/ },
  { args: ['bench', '--duration', '0'], says: /MCDN_USAGE: --duration must be a number of seconds/ },
];
for (const row of usageErrors) {
  test(`mini-cdn ${row.args.join(' ')}: exit 2 with a clear message`, async () => {
    const { code, output } = await run(row.args);
    assert.equal(code, 2);
    assert.match(output, row.says);
  });
}
