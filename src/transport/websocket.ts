import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../core/log.js';
import { plainPeer, setPeer, tlsPeer } from './peer.js';

/** Where MQTT over WebSocket is served on the HTTP(S) port, as in most MQTT brokers. */
export const MQTT_WS_PATH = '/ws';

/** MQTT 3.1.1 §6: the subprotocol is `mqtt`; MQTT 3.1 clients (e.g. old Paho JS) offer `mqttv3.1`. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

/** Largest WebSocket message accepted; MQTT clients send one packet (or less) per message. */
const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

export interface MqttWebSocketOptions {
  /** The HTTP or HTTPS server of the dashboard and REST API. */
  server: HttpServer | HttpsServer;
  /** The MQTT core's `handle`: a WebSocket is only another source of streams. */
  handle: (stream: Duplex) => void;
  /** True on the HTTPS server: the peer then carries the TLS client certificate (wss). */
  secure: boolean;
  logger: Logger;
  path?: string;
  maxMessageBytes?: number;
}

/**
 * MQTT over WebSocket on the HTTP server's `upgrade` event for one path only; fastify never sees
 * these requests. Each WebSocket becomes a byte stream (binary messages) for the MQTT core.
 */
export function attachMqttWebSocket(options: MqttWebSocketOptions): { close(): void } {
  const { server, handle, secure } = options;
  const path = options.path ?? MQTT_WS_PATH;
  const logger = options.logger.child({ component: secure ? 'mqtt-wss' : 'mqtt-ws' });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    // Echo the MQTT subprotocol the client offered; a client offering none is served too.
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('error', (err) => logger.debug({ err: err.message }, 'WebSocket server error'));

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(request.url) !== path) {
      // Another upgrade handler may own this path; if there is none, answer instead of hanging.
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found', `WebSocket endpoint is ${path}`);
      return;
    }
    const offered = offeredProtocols(request);
    if (offered.length > 0 && !offered.some((p) => (SUBPROTOCOLS as readonly string[]).includes(p))) {
      refuse(socket, 400, 'Bad Request', `offer the WebSocket subprotocol ${SUBPROTOCOLS.join(' or ')}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      setPeer(stream, secure ? tlsPeer(request.socket as TLSSocket, 'wss') : plainPeer(request.socket.remoteAddress, 'ws'));
      logger.debug({ remoteAddress: request.socket.remoteAddress, protocol: ws.protocol }, 'WebSocket connection');
      handle(stream);
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    close() {
      server.off('upgrade', onUpgrade);
      // Open WebSockets are MQTT sessions: the MQTT core ends them when it closes.
      wss.close();
    },
  };
}

function pathOf(url: string | undefined): string {
  const end = url?.search(/[?#]/) ?? -1;
  return url === undefined ? '' : end === -1 ? url : url.slice(0, end);
}

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

function refuse(socket: Duplex, status: number, reason: string, message: string): void {
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
