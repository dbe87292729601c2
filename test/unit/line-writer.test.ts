// The access log's writer: lines buffered and written asynchronously to a real file (a temp
// path) or descriptor, bounded (lines beyond the bound are dropped and counted), flushed on
// demand and synchronously at exit, reopened after rotation.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineWriter } from '../../proxy/server/line-writer.js';

const dirs: string[] = [];
function tempFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'line-writer-'));
  dirs.push(dir);
  return path.join(dir, name);
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const read = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

test('write returns before anything is written; flush writes every line, in order', async () => {
  const file = tempFile('a.log');
  const writer = new LineWriter({ path: file });
  for (let i = 0; i < 1000; i++) assert.equal(writer.write(`line ${i}\n`), true);
  assert.equal(read(file), '', 'nothing written synchronously');
  await writer.flush();
  const lines = read(file).split('\n');
  assert.equal(lines.length, 1001);
  assert.deepEqual(lines.slice(0, 3), ['line 0', 'line 1', 'line 2']);
  assert.equal(lines[999], 'line 999');
  assert.deepEqual(writer.stats(), { lines: 1000, dropped: 0, errors: 0, bufferedBytes: 0 });
  await writer.close();
});

test('lines of one turn go out without being asked: the writer schedules itself', async () => {
  const file = tempFile('b.log');
  const writer = new LineWriter({ path: file });
  writer.write('one\n');
  for (let i = 0; i < 100 && read(file) === ''; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(read(file), 'one\n');
  await writer.close();
});

test('bounded: past maxBufferedBytes lines are dropped and counted, never queued', async () => {
  const file = tempFile('c.log');
  const writer = new LineWriter({ path: file }, { maxBufferedBytes: 100 });
  const line = 'x'.repeat(19) + '\n'; // 20 bytes
  const accepted = Array.from({ length: 10 }, () => writer.write(line));
  assert.deepEqual(accepted, [true, true, true, true, true, false, false, false, false, false]);
  assert.deepEqual(writer.stats(), { lines: 5, dropped: 5, errors: 0, bufferedBytes: 100 });
  await writer.flush();
  assert.equal(read(file), line.repeat(5));
  // Written out: room again.
  assert.equal(writer.write(line), true);
  await writer.close();
  assert.equal(read(file), line.repeat(6));
  assert.equal(writer.stats().dropped, 5);
});

test('flushSync writes what is queued at once (process exit)', async () => {
  const file = tempFile('d.log');
  const writer = new LineWriter({ path: file });
  writer.write('before exit\n');
  writer.flushSync();
  assert.equal(read(file), 'before exit\n');
  assert.equal(writer.stats().bufferedBytes, 0);
  await writer.close();
  assert.equal(read(file), 'before exit\n', 'nothing written twice');
});

test('reopen after rotation: old lines stay in the moved file, new ones go to a new file at the path', async () => {
  const file = tempFile('e.log');
  const writer = new LineWriter({ path: file });
  writer.write('old\n');
  await writer.flush();
  fs.renameSync(file, `${file}.1`);
  writer.write('still old\n');
  await writer.reopen();
  writer.write('new\n');
  await writer.close();
  assert.equal(read(`${file}.1`), 'old\nstill old\n');
  assert.equal(read(file), 'new\n');
});

test('a descriptor it does not own (a pipe) is written to, and left open', async () => {
  const file = tempFile('f.log');
  const fd = fs.openSync(file, 'w');
  const writer = new LineWriter({ fd });
  writer.write('to fd\n');
  await writer.close();
  fs.writeSync(fd, 'after close\n'); // still open: the writer did not own it
  fs.closeSync(fd);
  assert.equal(read(file), 'to fd\nafter close\n');
  assert.equal(writer.write('late\n'), false, 'closed: dropped');
  assert.equal(writer.stats().dropped, 1);
});

test('a descriptor that fails is counted, and lines are lost, not thrown', async () => {
  const file = tempFile('g.log');
  fs.writeFileSync(file, '');
  const fd = fs.openSync(file, 'r'); // read-only: every write fails with EBADF
  const writer = new LineWriter({ fd });
  writer.write('a\n');
  writer.write('b\n');
  await writer.flush();
  const stats = writer.stats();
  assert.equal(stats.errors, 1);
  assert.equal(stats.dropped, 2);
  assert.equal(stats.bufferedBytes, 0);
  fs.closeSync(fd);
});
