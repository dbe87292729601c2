// The ceiling for any Node server on this machine: answers every request from one preallocated
// buffer with headers like a cache hit's. Usage: node bare-server.js PORT BODY_BYTES
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 0);
const body = Buffer.alloc(Number(process.argv[3] ?? 1024), 120);
const headers = {
  'content-type': 'application/octet-stream',
  'content-length': String(body.length),
  'cache-control': 'max-age=60',
  etag: '"bench"',
};

const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`bare server listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
