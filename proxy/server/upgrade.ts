// Upgrade requests (WebSocket, and any other protocol named in Upgrade) are tunnelled to the
// origin through http-proxy and never cached. http-proxy admits only `Upgrade: websocket` by
// default; its first ws pass is that gate, and it is replaced by one that admits any protocol.
// The forwarding family is the node's own here too (forwarding.ts), not http-proxy's xfwd, which
// appends to a client's X-Forwarded-For and passes its X-Forwarded-Host on.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { HeaderMap } from '../types.js';
import { NOT_FORWARDED, addForwardingFields } from './forwarding.js';
import type { ForwardingPolicy } from './forwarding.js';

type WsPass = (req: http.IncomingMessage, socket: Duplex) => boolean | void;

export interface UpgradeTunnel {
  handle(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export interface UpgradeTarget {
  /** Base URL of the origin the tunnels go to. */
  origin: string;
  /** Its hostHeader, sent as Host instead of the client's. */
  hostHeader?: string | undefined;
  /** The node's current forwarding policy (a reload replaces it). */
  forwarding: () => ForwardingPolicy;
}

/** The client's Host as the cache would key it, or undefined when it is missing or malformed. */
function clientHost(raw: string | undefined): string | undefined {
  const host = (raw ?? '').trim().toLowerCase();
  const bare = host.endsWith(':80') ? host.slice(0, -3) : host;
  return /^[a-z0-9.\-:[\]_]+$/.test(bare) ? bare : undefined;
}

/** Replaces the client's forwarding fields on the request http-proxy copies into the tunnel's. */
function ownForwardingFields(req: http.IncomingMessage, target: UpgradeTarget): void {
  const host = clientHost(req.headers.host);
  const fields: HeaderMap = {};
  addForwardingFields(fields, req, host, target.forwarding());
  for (const name of NOT_FORWARDED) delete req.headers[name];
  Object.assign(req.headers, fields);
  const sentHost = target.hostHeader ?? host;
  if (sentHost !== undefined) req.headers.host = sentHost;
}

export function createUpgradeTunnel(target: UpgradeTarget): UpgradeTunnel {
  const proxy = httpProxy.createProxyServer({ target: target.origin, xfwd: false, ws: true });
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
      ownForwardingFields(req, target);
      proxy.ws(req, socket, head);
    },
    close() {
      for (const socket of open) socket.destroy();
      proxy.close();
    },
  };
}
