// Config files on disk: loading by extension, unreadable files, `config check`, and watching for
// changes. Real temp files, removed afterwards; waits are bounded, never timed assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigFile } from '../../config/check.js';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { watchConfig, type ReloadResult } from '../../config/reload.js';

const NO_ENV = {};

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mini-cdn-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function loadError(file: string, env: NodeJS.ProcessEnv = NO_ENV): Promise<ConfigError> {
  try {
    await loadConfigFile(file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected the file to be rejected');
}

test('loadConfigFile picks the format by extension: .yaml, .yml, .json', async (t) => {
  const dir = await tempDir(t);
  const files: [string, string][] = [
    ['a.yaml', 'listen:\n  port: 9001\n'],
    ['b.yml', 'listen: { port: 9002 }\n'],
    ['c.json', '{ "listen": { "port": 9003 } }\n'],
    ['d.YAML', 'listen: { port: 9004 }\n'],
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  const ports = [];
  for (const [name] of files) ports.push((await loadConfigFile(join(dir, name), NO_ENV)).listen.port);
  assert.deepEqual(ports, [9001, 9002, 9003, 9004]);
});

test('the environment applies over a loaded file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'c.yaml'), 'listen: { port: 9001 }\n');
  const c = await loadConfigFile(join(dir, 'c.yaml'), { MINI_CDN_LISTEN__PORT: '9100' });
  assert.equal(c.listen.port, 9100);
});

test('unreadable files: missing, a directory, an unknown extension', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.toml'), 'x = 1\n');
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.yaml'), /no such file/],
    [dir + '/sub.json', /no such file/],
    [join(dir, 'config.toml'), /\.yaml, \.yml or \.json/],
  ];
  for (const [file, message] of cases) {
    const err = await loadError(file);
    assert.equal(err.code, 'MCDN_CONFIG_UNREADABLE', file);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(file), err.message);
  }
  const asDir = join(dir, 'folder.yaml');
  await mkdir(asDir);
  assert.equal((await loadError(asDir)).code, 'MCDN_CONFIG_UNREADABLE');
});

test('a problem in a file names the file, line and column', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'listen:\n  port: 8000\ncache:\n  maxBytes: nope\n');
  const err = await loadError(file);
  assert.equal(err.code, 'MCDN_CONFIG_INVALID');
  assert.equal(err.message, `${file}:4:13 cache.maxBytes: expected number, got the text "nope"`);
});

test('checkConfigFile: a one-line summary, or the full report', async (t) => {
  const dir = await tempDir(t);
  const good = join(dir, 'good.yaml');
  await writeFile(good, [
    'origins: [{ url: "http://a:1" }, { url: "http://b:2" }]',
    'routes: [{ match: /a }, { match: /b }, { match: "/c/*" }]',
    'bus: { redisUrl: "redis://user:hunter2hunter2@r.example:6379", secret: "0123456789abcdef" }',
    'admin: { port: 9000, token: "0123456789abcdef" }',
  ].join('\n'));
  const ok = await checkConfigFile(good, NO_ENV);
  assert.ok(ok.ok);
  assert.match(ok.summary, /^ok: 2 origins, 3 routes, bus redis:\/\/r\.example:6379, admin on :9000/);
  assert.ok(!ok.summary.includes('hunter2'), 'the Redis password must not be shown');
  const single = await checkConfigFile(join(dir, 'missing.yaml'), NO_ENV);
  assert.ok(!single.ok);
  assert.match(single.report, /^MCDN_CONFIG_UNREADABLE: .*missing\.yaml: 1 problem\n/);
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'workers: 0\nlisten: { port: -1 }\n');
  const report = await checkConfigFile(bad, NO_ENV);
  assert.ok(!report.ok);
  assert.equal(report.report, `MCDN_CONFIG_INVALID: ${bad}: 2 problems\n${bad}:1:10 workers: must be ≥ 1, got number 0\n${bad}:2:17 listen.port: must be ≥ 0, got number -1`);
});

/** Collects watch results; next() waits (boundedly) for one that satisfies a predicate. */
function recorder() {
  const results: ReloadResult[] = [];
  const waiters: { match: (r: ReloadResult) => boolean; resolve: (r: ReloadResult) => void }[] = [];
  return {
    results,
    push(result: ReloadResult): void {
      results.push(result);
      for (const w of [...waiters]) {
        if (w.match(result)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(result);
        }
      }
    },
    next(match: (r: ReloadResult) => boolean, what: string, boundMs = 10_000): Promise<ReloadResult> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no watch result ${what} within ${boundMs} ms; got ${results.length} results`)), boundMs);
        waiters.push({ match, resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        } });
      });
    },
  };
}

test('watchConfig reports a valid change, then an invalid one, then an editor-style replace', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'edge.yaml');
  await writeFile(file, 'listen: { port: 9001 }\n');
  const seen = recorder();
  const stop = watchConfig(file, (r) => seen.push(r), { debounceMs: 20, env: NO_ENV });
  t.after(stop);

  const valid = seen.next((r) => r.ok && r.config.listen.port === 9002, 'with port 9002');
  await writeFile(file, 'listen: { port: 9002 }\n');
  const first = await valid;
  assert.ok(first.ok && Object.isFrozen(first.config));

  const invalid = seen.next((r) => !r.ok, 'that is invalid');
  await writeFile(file, 'listen: { port: "x" }\n');
  const second = await invalid;
  assert.ok(!second.ok);
  assert.equal(second.error.code, 'MCDN_CONFIG_INVALID');
  assert.deepEqual(second.error.problems.map((p) => [p.path, p.line]), [['listen.port', 1]]);

  // Editors write a new file and rename it over the old one.
  const replaced = seen.next((r) => r.ok && r.config.listen.port === 9003, 'after a rename');
  await writeFile(join(dir, 'edge.yaml.tmp'), 'listen: { port: 9003 }\n');
  await rename(join(dir, 'edge.yaml.tmp'), file);
  assert.ok((await replaced).ok);
});

test('watchConfig ignores other files in the directory and reports nothing after stop()', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'edge.yaml');
  await writeFile(file, 'workers: 1\n');
  const seen = recorder();
  const stop = watchConfig(file, (r) => seen.push(r), { debounceMs: 20, env: NO_ENV });
  t.after(stop);
  await writeFile(join(dir, 'other.yaml'), 'workers: nope\n');
  const change = seen.next((r) => r.ok && r.config.workers === 2, 'with 2 workers');
  await writeFile(file, 'workers: 2\n');
  await change;
  assert.ok(seen.results.every((r) => r.ok), 'a change to another file must not be reported as this one');
  stop();
  const count = seen.results.length;
  await writeFile(file, 'workers: 3\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(seen.results.length, count);
});
