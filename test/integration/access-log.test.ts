// The access log through real sockets: a proxy node whose outcomes go to the edge's access log
// (cli/access-log.ts) writing to a temp file, in both formats. Each request is sent on its own
// connection (Connection: close) so that the bytes the client received are exactly the bytes the
// line counts. One line per request (errors before an Exchange, parse errors and CONNECT too),
// with the cache result, status and bytes; the Cache-Status member on the wire is the one
// serialised from the outcome's decision. Then the CLI: --access-log-format combined, lines
// flushed on SIGTERM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openAccessLog } from '../../cli/access-log.js';
import { formatCacheStatus, parseCacheStatus } from '../../proxy/policy/index.js';
import type { AccessLogFormat } from '../../proxy/server/access-log.js';
import type { Outcome } from '../../proxy/server/outcome.js';
import { createProxyNode } from '../../proxy/server/proxy-node.js';
import type { ProxyNode } from '../../proxy/server/proxy-node.js';
import { customOrigin, fetchFrom, rawExchange, waitFor } from '../helpers/harness.js';

const BIN = fileURLToPath(new URL('../../../bin/mini-cdn.js', import.meta.url));
const BODY = 'hello, world\n';

/** The test's origin: /page is cacheable for a minute, /fail answers 500, anything else echoes the method. */
async function testOrigin(): Promise<Awaited<ReturnType<typeof customOrigin>>> {
  return customOrigin((req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/page')) {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(BODY) });
        res.end(BODY);
      } else if (req.url === '/fail') {
        res.writeHead(500, { 'content-length': '4' });
        res.end('oops');
      } else {
        res.writeHead(201, { 'content-length': String(req.method?.length ?? 0) });
        res.end(req.method);
      }
    });
  });
}

interface Received {
  bytes: number;
  status: number;
  bodyBytes: number;
  /** The Cache-Status received (this node's member alone: the test's origin sends none). */
  ownCacheStatus: string | undefined;
}

/** What came back on one raw connection: byte count, status, body length, our Cache-Status member. */
function received(raw: string): Received {
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, headEnd);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const field = /\r\ncache-status: ([^\r]*)/i.exec(head)?.[1];
  return { bytes: raw.length, status, bodyBytes: headEnd < 0 ? 0 : raw.length - headEnd - 4, ownCacheStatus: field };
}

const request = (method: string, target: string, extra = ''): string => `${method} ${target} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: log-test/1\r\n${extra}Connection: close\r\n\r\n`;

interface Case {
  name: string;
  bytes: string;
  status: number;
  /** The cache result: the JSON line's `cache`; the combined line's is the same without `fwd=`. */
  cache: string;
  /** The JSON line's method and path ('' for a request node could not parse). */
  method: string;
  path: string;
}

const cases: Case[] = [
  { name: 'a miss, stored', bytes: request('GET', '/page'), status: 200, cache: 'fwd=uri-miss', method: 'GET', path: '/page' },
  { name: 'a hit', bytes: request('GET', '/page'), status: 200, cache: 'hit', method: 'GET', path: '/page' },
  { name: 'a HEAD hit', bytes: request('HEAD', '/page'), status: 200, cache: 'hit', method: 'HEAD', path: '/page' },
  { name: 'a range from the stored body', bytes: request('GET', '/page', 'Range: bytes=0-4\r\n'), status: 206, cache: 'hit', method: 'GET', path: '/page' },
  { name: 'a 304 to the client\'s own conditional', bytes: request('GET', '/page', 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n'), status: 304, cache: 'hit', method: 'GET', path: '/page' },
  { name: 'a pass-through POST', bytes: request('POST', '/echo', 'Content-Length: 0\r\n'), status: 201, cache: 'fwd=method', method: 'POST', path: '/echo' },
  { name: 'request no-store', bytes: request('GET', '/page2', 'Cache-Control: no-store\r\n'), status: 200, cache: 'fwd=request', method: 'GET', path: '/page2' },
  { name: 'an origin error, relayed', bytes: request('GET', '/fail'), status: 500, cache: 'fwd=uri-miss', method: 'GET', path: '/fail' },
  { name: 'only-if-cached with nothing stored', bytes: request('GET', '/never', 'Cache-Control: only-if-cached\r\n'), status: 504, cache: 'fwd=uri-miss', method: 'GET', path: '/never' },
  { name: 'a request refused before an Exchange exists (two Host lines)', bytes: request('GET', '/dup', 'Host: other.test\r\n'), status: 400, cache: 'fwd=bypass', method: 'GET', path: '/dup' },
  { name: 'a request node cannot parse (clientError)', bytes: 'GARBAGE\r\n\r\n', status: 400, cache: 'fwd=bypass', method: '', path: '' },
  { name: 'CONNECT, never tunnelled', bytes: 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nUser-Agent: log-test/1\r\n\r\n', status: 405, cache: 'fwd=bypass', method: 'CONNECT', path: 'example.test:443' },
];

const dirs: string[] = [];
function tempLog(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-log-'));
  dirs.push(dir);
  return path.join(dir, name);
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

for (const format of ['json', 'combined'] as AccessLogFormat[]) {
  describe(`access log, ${format} format, to a file`, () => {
    let origin: Awaited<ReturnType<typeof testOrigin>>;
    let node: ProxyNode;
    let url: string;
    const file = tempLog(`${format}.log`);
    const outcomes: Outcome[] = [];
    const seen: Received[] = [];
    let lines: string[] = [];

    before(async () => {
      origin = await testOrigin();
      const logger = pino({ level: 'info' }, fs.createWriteStream(os.devNull));
      logger.setBindings({ edge: 'log-test' });
      const log = openAccessLog(format, logger, { path: file });
      node = createProxyNode({ origin: origin.url }, undefined, (o) => {
        outcomes.push(o);
        log.write(o);
      });
      url = await node.listen(0);
      for (const c of cases) {
        const before = outcomes.length;
        seen.push(received(await rawExchange(url, c.bytes, 5000)));
        await waitFor(() => outcomes.length > before);
      }
      await log.close();
      lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    });

    after(async () => {
      await node.close();
      await origin.close();
    });

    test('one line per request, nothing else', () => {
      assert.equal(outcomes.length, cases.length);
      assert.equal(lines.length, cases.length, lines.join('\n'));
    });

    test('the Cache-Status member on the wire is the one serialised from the outcome\'s decision', () => {
      cases.forEach((c, i) => {
        const outcome = outcomes[i] as Outcome;
        assert.ok(outcome.cache, c.name);
        assert.equal((seen[i] as Received).ownCacheStatus, formatCacheStatus('mini-cdn', outcome.cache), c.name);
        const [member] = parseCacheStatus((seen[i] as Received).ownCacheStatus ?? '');
        const result = member?.params['hit'] === true ? 'hit' : `fwd=${String(member?.params['fwd'])}`;
        assert.equal(result, c.cache, c.name);
        assert.equal(outcome.originStatus, outcome.cache.fwdStatus);
      });
    });

    test('each line has the request, its status, the cache result and the bytes the client received', () => {
      cases.forEach((c, i) => {
        const line = lines[i] as string;
        const got = seen[i] as Received;
        assert.equal(got.status, c.status, c.name);
        if (format === 'json') {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          assert.equal(parsed['msg'], 'request');
          assert.equal(parsed['edge'], 'log-test');
          assert.equal(parsed['pid'], process.pid);
          assert.equal(parsed['method'], c.method, c.name);
          assert.equal(parsed['path'], c.path, c.name);
          assert.equal(parsed['status'], c.status, c.name);
          assert.equal(parsed['cache'], c.cache, c.name);
          assert.equal(parsed['bytes'], got.bytes, `${c.name}: bytes on the connection`);
          assert.equal(parsed['remote'], '127.0.0.1');
          assert.equal(typeof parsed['durationMs'], 'number');
        } else {
          const match = /^(\S+) - - \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" "([^"]*)" (\d+\.\d{3})$/.exec(line);
          assert.ok(match, `${c.name}: a combined line: ${line}`);
          const [, remote, time, requestLine, status, bodyBytes, , userAgent, cache] = match;
          assert.equal(remote, '127.0.0.1');
          assert.match(time as string, /^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/);
          assert.equal(requestLine, c.method === '' ? '-' : `${c.method} ${c.path} HTTP/1.1`, c.name);
          assert.equal(Number(status), c.status, c.name);
          assert.equal(Number(bodyBytes), got.bodyBytes, `${c.name}: body bytes`);
          assert.equal(userAgent, c.method === '' ? '-' : 'log-test/1', c.name);
          assert.equal(cache, c.cache.replace(/^fwd=/, ''), c.name);
        }
      });
    });

    test('the origin was asked only for what the log says went to it', () => {
      // Miss, POST, no-store, 500: four requests; hits, 304, range, refusals never reached it.
      assert.equal(origin.stats.requests, 4);
    });
  });
}

describe('mini-cdn edge --access-log-format combined', () => {
  test('writes combined lines to stdout and flushes them on SIGTERM', async () => {
    const origin = await testOrigin();
    const out = tempLog('edge.out');
    const fd = fs.openSync(out, 'w');
    const child = spawn(process.execPath, [BIN, 'edge', '--origin', origin.url, '--port', '0', '--access-log-format', 'combined'], { stdio: ['ignore', fd, 'pipe'] });
    try {
      let edgeUrl = '';
      await waitFor(() => {
        edgeUrl = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(fs.readFileSync(out, 'utf8'))?.[1] ?? '';
        return edgeUrl !== '';
      }, 20_000);
      assert.ok(edgeUrl, fs.readFileSync(out, 'utf8'));
      assert.equal((await fetchFrom(edgeUrl, 'GET', '/page')).cacheStatus.fwd, 'uri-miss');
      assert.equal((await fetchFrom(edgeUrl, 'GET', '/page')).cacheStatus.hit, true);
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      assert.equal(code, 0);
      const access = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('127.0.0.1 - - ['));
      assert.equal(access.length, 2, fs.readFileSync(out, 'utf8'));
      assert.match(access[0] as string, /"GET \/page HTTP\/1\.1" 200 13 "-" "[^"]*" "uri-miss" \d+\.\d{3}$/);
      assert.match(access[1] as string, /"GET \/page HTTP\/1\.1" 200 13 "-" "[^"]*" "hit" \d+\.\d{3}$/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.closeSync(fd);
      await origin.close();
    }
  });

  test('refuses an unknown format', async () => {
    const child = spawn(process.execPath, [BIN, 'edge', '--origin', 'http://127.0.0.1:1', '--port', '0', '--access-log-format', 'apache'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(output, /MCDN_USAGE: --access-log-format: logging.accessLogFormat must be one of "json", "combined"/);
  });
});
