// The bench baselines for real: nginx and Varnish in front of the bench origin cache a response
// (second GET is a hit, the origin saw one request), stop, and leave no temp dir. Where one is not
// installed, it must say so and how to install it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isCacheHit, startNginx, startVarnish } from '../../bench/baselines.js';
import type { BaselineStart } from '../../bench/baselines.js';
import { resetOrigin, startBenchOrigin } from '../../bench/nodes.js';
import type { Started } from '../../bench/processes.js';

let origin: Started;

before(async () => {
  origin = await startBenchOrigin();
});
after(() => origin.stop());

async function originCount(path: string): Promise<number> {
  const res = await fetch(`${origin.url}/__count?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { requests: number }).requests;
}

const baselines: Array<{ name: 'nginx' | 'varnish'; binary: string; start: (originUrl: string) => Promise<BaselineStart> }> = [
  { name: 'nginx', binary: 'nginx', start: (url) => startNginx(url, { cacheBytes: 16 * 1024 * 1024 }) },
  { name: 'varnish', binary: 'varnishd', start: (url) => startVarnish(url, { cacheBytes: 16 * 1024 * 1024 }) },
];

for (const { name, binary, start } of baselines) {
  test(`${name}: caches /obj/1 (one origin request), then stops and removes its temp dir, or says how to install it`, async () => {
    await resetOrigin(origin);
    const result = await start(origin.url);
    if ('skipped' in result) {
      assert.match(result.skipped, new RegExp(`^${binary} is not installed`));
      assert.match(result.skipped, /scripts\/install-baselines\.sh/);
      return;
    }
    const baseline = result.started;
    try {
      assert.equal(baseline.name, name);
      assert.match(baseline.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(baseline.pid === undefined || baseline.pid > 0);
      assert.ok(existsSync(baseline.dir));
      const first = await fetch(`${baseline.url}/obj/1?kb=1`);
      assert.equal(first.status, 200);
      assert.equal((await first.arrayBuffer()).byteLength, 1024);
      assert.equal(isCacheHit(name, first.headers), false);
      const second = await fetch(`${baseline.url}/obj/1?kb=1`);
      assert.equal(second.status, 200);
      assert.equal((await second.arrayBuffer()).byteLength, 1024);
      assert.equal(isCacheHit(name, second.headers), true);
      assert.equal(await originCount('/obj/1'), 1);
    } finally {
      await baseline.stop();
    }
    assert.equal(existsSync(baseline.dir), false);
    if (baseline.pid !== undefined) assert.equal(existsSync(`/proc/${baseline.pid}`), false);
  });
}

for (const { name, start } of baselines) {
  test(`${name}: when it is installed but cannot start, the rejection carries its error log`, async () => {
    // An origin host that cannot resolve (RFC 6761 .invalid): both refuse their config.
    const result = await start('http://no-such-host.invalid:1').then(
      async (r) => {
        if ('started' in r) await r.started.stop();
        return r;
      },
      (err: Error) => err,
    );
    if (!(result instanceof Error)) {
      assert.ok('skipped' in result, `${name} started with an unresolvable origin`);
      return;
    }
    assert.match(result.message, /did not start/);
    assert.match(result.message, /no-such-host\.invalid/);
  });
}
