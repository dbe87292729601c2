// The tier field: sealed with the current key, opened with any known key, and never opened when
// forged. The last seal and the last MAC checked are remembered; these tables make sure a
// remembered value is never used for another point or another key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { openApplied, sealApplied } from '../../edge/tier-field.js';
import type { AppliedPoint } from '../../edge/tier-field.js';
import type { SigningKeys } from '../../edge/bus/types.js';

/** The field computed from scratch, as the format says: epoch.seq.kid.mac. */
function expectedField(point: AppliedPoint, kid: string, key: string): string {
  const mac = createHmac('sha256', key).update(`${point.epoch}.${point.seq}`).digest('hex').slice(0, 32);
  return `${point.epoch}.${point.seq}.${kid}.${mac}`;
}

const signing: SigningKeys = { current: 'k1', keys: { k1: 'first secret', k2: 'second secret' } };

const sealRows: Array<{ name: string; point: AppliedPoint; current: string; keys?: Record<string, string> }> = [
  { name: 'a first point', point: { epoch: 'e1', seq: 1 }, current: 'k1' },
  { name: 'the same point again', point: { epoch: 'e1', seq: 1 }, current: 'k1' },
  { name: 'the next sequence number', point: { epoch: 'e1', seq: 2 }, current: 'k1' },
  { name: 'another epoch, same sequence number', point: { epoch: 'e2', seq: 2 }, current: 'k1' },
  { name: 'the same point under a rotated key', point: { epoch: 'e2', seq: 2 }, current: 'k2' },
  { name: 'the same point and key id with a changed secret', point: { epoch: 'e2', seq: 2 }, current: 'k2', keys: { k1: 'first secret', k2: 'replaced secret' } },
  { name: 'an epoch with dots in it', point: { epoch: 'a.b.c', seq: 0 }, current: 'k1' },
];

for (const row of sealRows) {
  test(`sealApplied: ${row.name}`, () => {
    const keys = row.keys ?? signing.keys;
    const sealed = sealApplied(row.point, { current: row.current, keys });
    assert.equal(sealed, expectedField(row.point, row.current, keys[row.current] as string));
    assert.deepEqual(openApplied(sealed, { current: row.current, keys }), row.point);
  });
}

const openRows: Array<{ name: string; field: () => string; opens: AppliedPoint | undefined }> = [
  { name: 'a field sealed with the current key', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k1', 'first secret'), opens: { epoch: 'e9', seq: 7 } },
  { name: 'the same field again', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k1', 'first secret'), opens: { epoch: 'e9', seq: 7 } },
  { name: 'the same point with a forged MAC', field: () => `e9.7.k1.${'0'.repeat(32)}`, opens: undefined },
  { name: 'the MAC of that point moved to the next sequence number', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k1', 'first secret').replace('e9.7.', 'e9.8.'), opens: undefined },
  { name: 'that point claimed under the other key id', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k1', 'first secret').replace('.k1.', '.k2.'), opens: undefined },
  { name: 'a field sealed with the previous key', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k2', 'second secret'), opens: { epoch: 'e9', seq: 7 } },
  { name: 'a field from an unknown key id', field: () => expectedField({ epoch: 'e9', seq: 7 }, 'k3', 'first secret'), opens: undefined },
];

for (const row of openRows) {
  test(`openApplied: ${row.name}`, () => {
    assert.deepEqual(openApplied(row.field(), signing), row.opens);
  });
}
