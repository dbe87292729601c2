// Upgrade requests (WebSocket, and any other protocol named in Upgrade) are tunnelled to the
// origin through http-proxy and never cached. http-proxy admits only `Upgrade: websocket` by
// default; its first ws pass is that gate, and it is replaced by one that admits any protocol.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';

type WsPass = (req: http.IncomingMessage, socket: Duplex) => boolean | void;

export interface UpgradeTunnel {
  handle(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function createUpgradeTunnel(origin: string): UpgradeTunnel {
  const proxy = httpProxy.createProxyServer({ target: origin, xfwd: true, ws: true });
  const internals = proxy as unknown as { wsPasses: WsPass[] };
  const anyProtocol: WsPass = (req, socket) => {
    if (!req.headers.upgrade) {
      socket.destroy();
      return true; // stops the pass chain
    }
  };
  internals.wsPasses = [anyProtocol, ...internals.wsPasses.filter((pass) => pass.name !== 'checkMethodAndHeader')];
  proxy.on('error', (_err, _req, target) => (target as Duplex | undefined)?.destroy());
  // Tunnels outlive their HTTP exchange: closing the node must end them itself.
  const open = new Set<Duplex>();
  proxy.on('open', (toOrigin: Duplex) => {
    open.add(toOrigin);
    toOrigin.once('close', () => open.delete(toOrigin));
  });
  return {
    handle(req, socket, head) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      socket.on('error', () => socket.destroy());
      proxy.ws(req, socket, head);
    },
    close() {
      for (const socket of open) socket.destroy();
      proxy.close();
    },
  };
}
