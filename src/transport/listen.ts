import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../core/log.js';
import type { TlsCredentials } from './tls-credentials.js';

/** A listener a transport opened: its bound port (the real one when asked for 0) and how to stop it. */
export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** server.listen as a promise that rejects with the socket error (EADDRINUSE...), for one-line start errors. */
function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Keeps the server's raw connections so that closing can end them. The MQTT core closes first and
 * ends its sessions gracefully; what is left then (handshakes in progress, idle keep-alive
 * requests) is cut, so a stop never waits on a silent client.
 */
function trackConnections(server: net.Server): { closeAndCut(): Promise<void> } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    closeAndCut: () =>
      new Promise<void>((resolve) => {
        if (server.listening) server.close(() => resolve());
        else if (sockets.size === 0) resolve();
        else server.once('close', () => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * What every TLS listener (MQTT over TLS, HTTPS) does the same way: failed handshakes are the
 * client's problem (debug log), the certificate follows credential reloads, a listen error (port in
 * use) undoes the reload hook, and closing cuts what the graceful stop left.
 */
export async function listenTls(
  server: tls.Server,
  options: { credentials: TlsCredentials; port: number; host: string; logger: Logger; what: string },
): Promise<{ port: number; close(): Promise<void> }> {
  const { logger, what } = options;
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    logger.debug({ err: err.code ?? err.message, remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
  });
  const connections = trackConnections(server);
  const detach = options.credentials.attach(server);
  try {
    await listenOn(server, options.port, options.host);
  } catch (err) {
    detach();
    throw err;
  }
  server.on('error', (err) => logger.error({ err }, `${what} listener error`));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, `${what} listening`);
  return {
    port,
    close: async () => {
      detach();
      await connections.closeAndCut();
    },
  };
}
