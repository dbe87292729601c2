// The TCP relay that cuts a link (hold, half-open, reset, refuse-new): the bench's, under the
// names the tests use.
export { startTcpRelay } from '../../bench/tcp-relay.js';
export type { RelayMode, TcpRelay } from '../../bench/tcp-relay.js';
