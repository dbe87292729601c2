// A TCP relay on 127.0.0.1 (port 0) in front of a server, to cut a link the way networks do:
// 'hold' stops forwarding both ways and keeps every socket open (packets held: nothing arrives,
// nothing closes), 'half-open' stops forwarding from the server to the client only (the client's
// commands still reach the server, no answer comes back), 'reset' destroys every connection (and
// later ones, until 'forward'), 'refuse-new' keeps the open connections forwarding but destroys
// new ones (a client cut off after a disconnect cannot come back). Held bytes are dropped, never
// delivered late: a link that comes back is a fresh one, as after a real partition where the
// peers gave up on the old connection. The partition bench scenario and the partition tests share it.
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
}

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  let mode: RelayMode = 'forward';
  let accepted = 0;
  const pairs = new Set<Pair>();

  const relay = net.createServer((client) => {
    accepted++;
    if (mode === 'reset' || mode === 'refuse-new') return void client.destroy();
    const server = net.connect(targetPort, targetHost);
    const pair = { client, server };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    // Bytes are passed on only while the mode allows it, else dropped.
    client.on('data', (chunk: Buffer) => {
      if (mode === 'forward' || mode === 'half-open' || mode === 'refuse-new') server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (mode === 'forward' || mode === 'refuse-new') client.write(chunk);
    });
  });
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
