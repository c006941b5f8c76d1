import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../core/log.js';
import { listenTls } from './listen.js';
import type { Listening } from './listen.js';
import { setPeer, tlsPeer } from './peer.js';
import type { TlsCredentials } from './tls-credentials.js';

export interface MqttTlsOptions {
  credentials: TlsCredentials;
  /** The MQTT core's `handle`: TLS is only another source of streams. */
  handle: (stream: Duplex) => void;
  port: number;
  host: string;
  logger: Logger;
}

/**
 * MQTT over TLS (mqtts, 8883 by default). Each connection is handed to the MQTT core once the
 * handshake is done, carrying its TransportPeer (client certificate and whether it verified).
 */
export async function listenMqttTls(options: MqttTlsOptions): Promise<Listening> {
  const logger = options.logger.child({ component: 'mqtts' });
  // A client that sends CONNECT, PUBLISH, DISCONNECT and closes its side at once still gets its
  // requests processed: the MQTT core handles what it received before the end (connection.ts).
  const server = tls.createServer({ ...options.credentials.serverOptions(), allowHalfOpen: true, noDelay: true });
  server.on('secureConnection', (socket: TLSSocket) => {
    setPeer(socket, tlsPeer(socket, 'tls'));
    options.handle(socket);
  });
  return listenTls(server, { ...options, logger, what: 'MQTT over TLS' });
}
