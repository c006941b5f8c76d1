import type { Packet } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { ServerContext } from '../context.js';
import { Reason } from '../reason-codes.js';
import { handlePubrec, handlePubrel, handlePuback } from './acks.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePing } from './ping.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

/**
 * One packet to its handler. Before CONNECT only CONNECT is allowed [MQTT-3.1.0-1]; packets a server
 * never receives (CONNACK, SUBACK...) or AUTH (not supported) end the connection.
 * Returns false when the packet must wait (see Connection.pump).
 */
export function dispatch(ctx: ServerContext, connection: Connection, packet: Packet): boolean {
  if (packet.cmd === 'connect') return handleConnect(ctx, connection, packet);
  if (connection.state !== 'connected') {
    connection.end(Reason.protocolError, 'the first packet must be CONNECT');
    return true;
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(ctx, connection, packet);
    case 'puback':
    case 'pubcomp':
      return handlePuback(connection, packet);
    case 'pubrec':
      return handlePubrec(connection, packet);
    case 'pubrel':
      return handlePubrel(connection, packet);
    case 'subscribe':
      return handleSubscribe(ctx, connection, packet);
    case 'unsubscribe':
      return handleUnsubscribe(ctx, connection, packet);
    case 'pingreq':
      return handlePing(connection);
    case 'disconnect':
      return handleDisconnect(connection, packet);
    default:
      connection.end(Reason.protocolError, `a client does not send ${packet.cmd.toUpperCase()}`);
      return true;
  }
}
