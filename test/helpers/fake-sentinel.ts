// A Redis Sentinel of the tests' own, written with node:net (RESP over TCP on 127.0.0.1, port 0),
// that names one real redis-server as the master. It answers what ioredis asks a sentinel
// (GET-MASTER-ADDR-BY-NAME, SENTINELS, CLIENT SETINFO, SUBSCRIBE +switch-master) and lets a test
// hold the master's address back while it announces a fail-over: the exact window in which a
// real sentinel setup can cut a reconnect off mid-way, forced instead of waited for.
import net from 'node:net';

export interface FakeSentinel {
  readonly port: number;
  /** From now on, GET-MASTER-ADDR-BY-NAME waits unanswered until release(). */
  holdResolves(): void;
  /** Questions for the master's address waiting now. */
  held(): number;
  /** Answers the held questions and stops holding. */
  release(): void;
  /** Open connections subscribed to +switch-master (ioredis's failover detectors). */
  subscribers(): number;
  /** PUBLISHes +switch-master to every subscribed connection, as a sentinel does after a fail-over. */
  announceSwitch(): void;
  close(): Promise<void>;
}

const bulk = (text: string): string => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
const array = (items: string[]): string => `*${items.length}\r\n${items.map(bulk).join('')}`;

/** Parses as many complete RESP arrays of bulk strings as `buffer` holds; returns them and the rest. */
function parseCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const parsed = parseOne(buffer, at);
    if (parsed === undefined) break;
    commands.push(parsed.args);
    at = parsed.next;
  }
  return { commands, rest: buffer.subarray(at) };
}

function parseOne(buffer: Buffer, from: number): { args: string[]; next: number } | undefined {
  const line = (start: number): { text: string; next: number } | undefined => {
    const end = buffer.indexOf('\r\n', start);
    return end < 0 ? undefined : { text: buffer.toString('latin1', start, end), next: end + 2 };
  };
  const head = line(from);
  if (head === undefined) return undefined;
  if (!head.text.startsWith('*')) throw new Error(`not a RESP array: ${head.text}`);
  const count = Number(head.text.slice(1));
  const args: string[] = [];
  let at = head.next;
  for (let i = 0; i < count; i++) {
    const size = line(at);
    if (size === undefined || !size.text.startsWith('$')) return undefined;
    const length = Number(size.text.slice(1));
    if (buffer.length < size.next + length + 2) return undefined;
    args.push(buffer.toString('utf8', size.next, size.next + length));
    at = size.next + length + 2;
  }
  return { args, next: at };
}

/** `port`: 0 for any free one, or one a test chose before (a sentinel that comes up late). */
export async function startFakeSentinel(masterPort: number, masterName: string, port = 0): Promise<FakeSentinel> {
  const sockets = new Set<net.Socket>();
  const subscribed = new Set<net.Socket>();
  let holding = false;
  const waiting: Array<() => void> = [];
  const masterAddress = array(['127.0.0.1', String(masterPort)]);

  function answer(socket: net.Socket, args: string[]): void {
    const [name = '', ...rest] = args;
    const command = name.toUpperCase();
    const sub = (rest[0] ?? '').toLowerCase();
    if (command === 'SENTINEL' && sub === 'get-master-addr-by-name') {
      const reply = (): void => void socket.write(rest[1] === masterName ? masterAddress : '*-1\r\n');
      if (holding) waiting.push(reply);
      else reply();
    } else if (command === 'SENTINEL' && sub === 'sentinels') {
      socket.write('*0\r\n'); // no other sentinels to learn about
    } else if (command === 'SUBSCRIBE') {
      subscribed.add(socket);
      for (const [i, channel] of rest.entries()) socket.write(`*3\r\n${bulk('subscribe')}${bulk(channel)}:${i + 1}\r\n`);
    } else if (command === 'QUIT') {
      socket.end('+OK\r\n');
    } else if (command === 'CLIENT' || command === 'PING') {
      socket.write(command === 'PING' ? '+PONG\r\n' : '+OK\r\n');
    } else {
      socket.write(`-ERR unknown command '${name}'\r\n`);
    }
  }

  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      try {
        const { commands, rest } = parseCommands(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const args of commands) answer(socket, args);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      subscribed.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake sentinel has no port');
  return {
    port: address.port,
    holdResolves: () => void (holding = true),
    held: () => waiting.length,
    release() {
      holding = false;
      for (const reply of waiting.splice(0)) reply();
    },
    subscribers: () => subscribed.size,
    announceSwitch() {
      const payload = `${masterName} 127.0.0.1 ${masterPort} 127.0.0.1 ${masterPort}`;
      for (const socket of subscribed) socket.write(`*3\r\n${bulk('message')}${bulk('+switch-master')}${bulk(payload)}`);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
