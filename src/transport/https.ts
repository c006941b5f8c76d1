import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/log.js';
import { listenTls } from './listen.js';
import type { TlsCredentials } from './tls-credentials.js';

export interface HttpsListenerOptions {
  credentials: TlsCredentials;
  /** The request listener of the plain HTTP app (fastify: `app.routing`), served unchanged. */
  handler: (request: IncomingMessage, response: ServerResponse) => void;
  /** The plain HTTP server, whose timeouts the HTTPS server copies so both behave the same. */
  like: HttpServer;
  port: number;
  host: string;
  logger: Logger;
}

export interface HttpsListening {
  port: number;
  server: https.Server;
  /** Stops accepting and ends idle keep-alive connections; requests in progress go on. */
  stopAccepting(): void;
  /** Cuts what is left and resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * An HTTPS server in front of the same request handler as the HTTP port: one app (routes, hooks,
 * dashboard state), two listeners. Reloads with the credentials.
 */
export async function listenHttps(options: HttpsListenerOptions): Promise<HttpsListening> {
  const logger = options.logger.child({ component: 'https' });
  const { like } = options;
  const server = https.createServer(
    {
      ...options.credentials.serverOptions(),
      requestTimeout: like.requestTimeout,
      headersTimeout: like.headersTimeout,
      keepAliveTimeout: like.keepAliveTimeout,
    },
    options.handler,
  );
  server.timeout = like.timeout;
  server.maxHeadersCount = like.maxHeadersCount;
  // A malformed request gets a bare 400, as on the HTTP port; anything else just ends the socket.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    logger.debug({ err: err.code ?? err.message }, 'HTTPS client error');
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const listening = await listenTls(server, { ...options, logger, what: 'HTTPS' });
  return {
    port: listening.port,
    server,
    stopAccepting: () => {
      if (server.listening) server.close();
      server.closeIdleConnections();
    },
    close: listening.close,
  };
}
