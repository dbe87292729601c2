// The error table is the one source of codes; the README must list every one of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, MiniCdnError } from '../../common/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

for (const code of Object.keys(ERROR_CODES)) {
  test(`README documents ${code}`, () => {
    assert.ok(readme.includes(`\`${code}\``), `${code} is missing from README.md's error table`);
  });
}

test('MiniCdnError carries its code and HTTP status', () => {
  const err = new MiniCdnError('MCDN_UPSTREAM_TIMEOUT', 'slow');
  assert.equal(err.code, 'MCDN_UPSTREAM_TIMEOUT');
  assert.equal(err.status, 504);
  assert.ok(err instanceof Error);
});
