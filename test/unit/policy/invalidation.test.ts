// Invalidation after unsafe requests: RFC 9111 §4.4; safe methods RFC 9110 §9.2.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidatesOnResponse, invalidationTargets, isSafeMethod } from '../../../proxy/policy/index.js';
import type { HeaderMap } from '../../../proxy/types.js';

interface MethodCase {
  name: string;
  section: string;
  method: string;
  safe: boolean;
}

const methodCases: MethodCase[] = [
  { name: 'GET', section: 'RFC 9110 §9.2.1', method: 'GET', safe: true },
  { name: 'HEAD', section: 'RFC 9110 §9.2.1', method: 'HEAD', safe: true },
  { name: 'OPTIONS', section: 'RFC 9110 §9.2.1', method: 'OPTIONS', safe: true },
  { name: 'TRACE', section: 'RFC 9110 §9.2.1', method: 'TRACE', safe: true },
  { name: 'POST', section: 'RFC 9110 §9.2.1', method: 'POST', safe: false },
  { name: 'PUT', section: 'RFC 9110 §9.2.1', method: 'PUT', safe: false },
  { name: 'DELETE', section: 'RFC 9110 §9.2.1', method: 'DELETE', safe: false },
  { name: 'PATCH', section: 'RFC 9110 §9.2.1', method: 'PATCH', safe: false },
  { name: 'an unknown method is not safe', section: 'RFC 9111 §4.4', method: 'FROB', safe: false },
  { name: 'lower-case get is another method', section: 'RFC 9110 §9.1', method: 'get', safe: false },
];

for (const c of methodCases) {
  void test(`${c.section}: isSafeMethod ${c.name}`, () => {
    assert.equal(isSafeMethod(c.method), c.safe);
  });
}

interface InvalidatesCase {
  name: string;
  section: string;
  method: string;
  status: number;
  expected: boolean;
}

const invalidatesCases: InvalidatesCase[] = [
  { name: 'POST 200', section: 'RFC 9111 §4.4', method: 'POST', status: 200, expected: true },
  { name: 'PUT 201', section: 'RFC 9111 §4.4', method: 'PUT', status: 201, expected: true },
  { name: 'DELETE 204', section: 'RFC 9111 §4.4', method: 'DELETE', status: 204, expected: true },
  { name: 'POST 303', section: 'RFC 9111 §4.4', method: 'POST', status: 303, expected: true },
  { name: 'POST 399', section: 'RFC 9111 §4.4', method: 'POST', status: 399, expected: true },
  { name: 'unknown method 200', section: 'RFC 9111 §4.4', method: 'FROB', status: 200, expected: true },
  { name: 'POST 400', section: 'RFC 9111 §4.4', method: 'POST', status: 400, expected: false },
  { name: 'POST 500', section: 'RFC 9111 §4.4', method: 'POST', status: 500, expected: false },
  { name: 'POST 100', section: 'RFC 9111 §4.4', method: 'POST', status: 100, expected: false },
  { name: 'GET 200', section: 'RFC 9111 §4.4', method: 'GET', status: 200, expected: false },
  { name: 'HEAD 200', section: 'RFC 9111 §4.4', method: 'HEAD', status: 200, expected: false },
];

for (const c of invalidatesCases) {
  void test(`${c.section}: invalidatesOnResponse ${c.name}`, () => {
    assert.equal(invalidatesOnResponse(c.method, c.status), c.expected);
  });
}

interface TargetsCase {
  name: string;
  section: string;
  url: string;
  headers: HeaderMap;
  expected: string[];
}

const targetsCases: TargetsCase[] = [
  { name: 'the request URL alone', section: 'RFC 9111 §4.4', url: 'http://a.example/x?y=1', headers: {}, expected: ['http://a.example/x?y=1'] },
  { name: 'relative Location resolved', section: 'RFC 9111 §4.4', url: 'http://a.example/dir/x', headers: { location: 'y' }, expected: ['http://a.example/dir/x', 'http://a.example/dir/y'] },
  { name: 'absolute Content-Location of the same origin', section: 'RFC 9111 §4.4', url: 'https://a.example/x', headers: { 'content-location': 'https://a.example/z' }, expected: ['https://a.example/x', 'https://a.example/z'] },
  { name: 'both, de-duplicated', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { location: '/x', 'content-location': '/y' }, expected: ['http://a.example/x', 'http://a.example/y'] },
  { name: 'another host is not invalidated', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { location: 'http://b.example/x' }, expected: ['http://a.example/x'] },
  { name: 'another scheme is not invalidated', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { location: 'https://a.example/y' }, expected: ['http://a.example/x'] },
  { name: 'another port is not invalidated', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { 'content-location': 'http://a.example:8080/y' }, expected: ['http://a.example/x'] },
  { name: 'an explicit default port is the same origin', section: 'RFC 9111 §4.4', url: 'http://a.example:80/x', headers: { location: 'http://A.EXAMPLE/y' }, expected: ['http://a.example/x', 'http://a.example/y'] },
  { name: 'a scheme-relative URL of another host', section: 'RFC 9111 §4.4', url: 'https://a.example/x', headers: { location: '//evil.example/x' }, expected: ['https://a.example/x'] },
  { name: 'fragments are dropped', section: 'RFC 9111 §4.4', url: 'http://a.example/x#top', headers: { location: '/y#part' }, expected: ['http://a.example/x', 'http://a.example/y'] },
  { name: 'several Location lines are ignored', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { location: ['/a', '/b'] }, expected: ['http://a.example/x'] },
  { name: 'an unparseable Location is ignored', section: 'RFC 9111 §4.4', url: 'http://a.example/x', headers: { location: 'http://[bad' }, expected: ['http://a.example/x'] },
  { name: 'an unparseable request URL is returned alone', section: 'RFC 9111 §4.4', url: 'not a url', headers: { location: '/y' }, expected: ['not a url'] },
];

for (const c of targetsCases) {
  void test(`${c.section}: invalidationTargets ${c.name}`, () => {
    assert.deepEqual(invalidationTargets(c.url, c.headers), c.expected);
  });
}
