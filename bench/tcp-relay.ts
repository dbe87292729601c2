// A TCP relay on 127.0.0.1 (port 0) in front of a server, to cut a link the way networks do:
// 'hold' stops forwarding both ways and keeps every socket open (packets held: nothing arrives,
// nothing closes), 'half-open' stops forwarding from the server to the client only (the client's
// commands still reach the server, no answer comes back), 'reset' destroys every connection (and
// later ones, until 'forward'), 'refuse-new' keeps the open connections forwarding but destroys
// new ones (a client cut off after a disconnect cannot come back). Held bytes are kept, in order,
// and delivered when forwarding resumes, as TCP would retransmit them: a connection that outlives
// the cut is never missing a piece of its stream. The partition bench scenario and the partition
// tests share it.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type RelayMode = 'forward' | 'hold' | 'half-open' | 'reset' | 'refuse-new';

export interface TcpRelay {
  /** 127.0.0.1:port where clients connect. */
  readonly port: number;
  readonly mode: RelayMode;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Local ports of the relay's open connections to the server: how the server sees the relayed clients (CLIENT LIST addr). */
  serverSidePorts(): number[];
  setMode(mode: RelayMode): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** Bytes held on their way to the server / to the client. */
  toServer: Buffer[];
  toClient: Buffer[];
}

/** Beyond this many held bytes per direction, the connection is reset (a real path would give up too). */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  let mode: RelayMode = 'forward';
  let accepted = 0;
  const pairs = new Set<Pair>();

  const relay = net.createServer((client) => {
    accepted++;
    if (mode === 'reset' || mode === 'refuse-new') return void client.destroy();
    const server = net.connect(targetPort, targetHost);
    const pair: Pair = { client, server, toServer: [], toClient: [] };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    // Bytes are passed on while the mode allows it, else held for later.
    client.on('data', (chunk: Buffer) => pass(pair, 'toServer', chunk));
    server.on('data', (chunk: Buffer) => pass(pair, 'toClient', chunk));
  });
  function flowing(direction: 'toServer' | 'toClient'): boolean {
    return mode === 'forward' || mode === 'refuse-new' || (mode === 'half-open' && direction === 'toServer');
  }

  function pass(pair: Pair, direction: 'toServer' | 'toClient', chunk: Buffer): void {
    const held = pair[direction];
    if (flowing(direction) && held.length === 0) return void (direction === 'toServer' ? pair.server : pair.client).write(chunk);
    held.push(chunk);
    if (held.reduce((n, c) => n + c.length, 0) > MAX_HELD_BYTES) pair.client.destroy();
  }

  function flush(): void {
    for (const pair of pairs) {
      for (const direction of ['toServer', 'toClient'] as const) {
        if (!flowing(direction)) continue;
        const target = direction === 'toServer' ? pair.server : pair.client;
        for (const chunk of pair[direction].splice(0)) target.write(chunk);
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (relay.address() as AddressInfo).port;

  return {
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    serverSidePorts(): number[] {
      return [...pairs].flatMap((pair) => (pair.server.localPort === undefined ? [] : [pair.server.localPort]));
    },
    setMode(next: RelayMode): void {
      mode = next;
      if (next === 'reset') for (const pair of [...pairs]) pair.client.destroy();
      flush();
    },
    async close(): Promise<void> {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.server.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}
