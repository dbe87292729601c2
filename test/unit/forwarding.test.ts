// The forwarding family's parsing: which for= values of a trusted proxy's Forwarded are kept
// (RFC 7239 §4: elements split by commas outside quoted strings, §6: node values), and which
// trustedProxies entries are addresses or CIDR blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileForwarding, forwardedForChain, parseAddressBlock } from '../../proxy/server/forwarding.js';

const CHAINS: { name: string; value: string | string[]; chain: string }[] = [
  { name: 'RFC 7239 §4: for= kept, proto and by dropped', value: 'for=192.0.2.60;proto=http;by=203.0.113.43', chain: 'for=192.0.2.60' },
  { name: 'RFC 7239 §4: one element per hop', value: 'for=192.0.2.43, for=198.51.100.17', chain: 'for=192.0.2.43, for=198.51.100.17' },
  { name: 'RFC 7239 §6: a quoted IPv6 node with a port stays quoted', value: 'for="[2001:db8:cafe::17]:4711"', chain: 'for="[2001:db8:cafe::17]:4711"' },
  { name: 'RFC 7239 §4: parameter names are case-insensitive', value: 'For=a;host=evil.test', chain: 'for=a' },
  { name: 'RFC 7239 §4: a comma inside a quoted string does not split', value: 'for="a,b";host=x, for=c', chain: 'for="a,b", for=c' },
  { name: 'RFC 7239 §4: an element without for= is left out', value: 'host=evil.test;proto=https, for=c', chain: 'for=c' },
  { name: 'RFC 7239 §6: for=unknown and obfuscated nodes are kept', value: 'for=unknown, for=_hidden', chain: 'for=unknown, for=_hidden' },
  { name: 'RFC 7239 §4: a value that is neither token nor quoted-string is left out', value: 'for=bad value, for="unterminated', chain: '' },
  { name: 'RFC 9110 §5.3: several field lines are one list', value: ['for=a', 'for=b;proto=https'], chain: 'for=a, for=b' },
  { name: 'RFC 7239 §4: an empty field', value: '', chain: '' },
];

for (const row of CHAINS) {
  test(`forwardedForChain: ${row.name}`, () => {
    assert.equal(forwardedForChain(row.value), row.chain);
  });
}

const BLOCKS: { entry: string; parsed: ReturnType<typeof parseAddressBlock> }[] = [
  { entry: '127.0.0.1', parsed: { address: '127.0.0.1', family: 4 } },
  { entry: '10.0.0.0/8', parsed: { address: '10.0.0.0', family: 4, prefix: 8 } },
  { entry: '::1', parsed: { address: '::1', family: 6 } },
  { entry: 'fd00::/8', parsed: { address: 'fd00::', family: 6, prefix: 8 } },
  { entry: '0.0.0.0/0', parsed: { address: '0.0.0.0', family: 4, prefix: 0 } },
  { entry: '10.0.0.0/33', parsed: undefined },
  { entry: '::/129', parsed: undefined },
  { entry: '10.0.0.0/', parsed: undefined },
  { entry: '10.0.0.0/8/9', parsed: undefined },
  { entry: 'edge.internal', parsed: undefined },
  { entry: '10.0.0', parsed: undefined },
];

for (const row of BLOCKS) {
  test(`parseAddressBlock(${JSON.stringify(row.entry)})`, () => {
    assert.deepEqual(parseAddressBlock(row.entry), row.parsed);
  });
}

test('compileForwarding: no list trusts nobody; a list answers addresses and blocks of both families, the same when asked again', () => {
  assert.equal(compileForwarding('n').trusts('127.0.0.1'), false);
  const policy = compileForwarding('n', ['192.0.2.1', '10.0.0.0/8', 'fd00::/8', '::1']);
  for (let round = 0; round < 2; round++) {
    assert.equal(policy.trusts('192.0.2.1'), true);
    assert.equal(policy.trusts('192.0.2.2'), false);
    assert.equal(policy.trusts('10.200.3.4'), true);
    assert.equal(policy.trusts('fd12::5'), true);
    assert.equal(policy.trusts('::1'), true);
    assert.equal(policy.trusts('2001:db8::1'), false);
    assert.equal(policy.trusts('not-an-address'), false);
  }
  // More distinct peers than the memo holds: verdicts stay right after it starts over.
  for (let i = 0; i < 5000; i++) assert.equal(policy.trusts(`10.0.${i >> 8}.${i & 255}`), true);
  assert.equal(policy.trusts('192.0.2.2'), false);
  assert.throws(() => compileForwarding('n', ['10.0.0.0/8', 'nope']), /trustedProxies: "nope"/);
});
