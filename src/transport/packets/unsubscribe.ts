import type { IUnsubackPacket, IUnsubscribePacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { ServerContext } from '../context.js';
import { Reason } from '../reason-codes.js';

/** UNSUBSCRIBE: removes the filters; MQTT 5 says per filter whether it existed (3.11.3). */
export function handleUnsubscribe(ctx: ServerContext, connection: Connection, packet: IUnsubscribePacket): boolean {
  // [MQTT-3.10.3-2]: at least one filter.
  if (packet.unsubscriptions.length === 0) {
    connection.end(Reason.protocolError, 'UNSUBSCRIBE names no topic filter');
    return true;
  }
  const state = connection.client!;
  const codes = packet.unsubscriptions.map((filter) => (ctx.subscriptions.remove(state, filter) ? Reason.success : Reason.noSubscriptionExisted));
  const unsuback: IUnsubackPacket = { cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: connection.protocolVersion === 5 ? codes : [] };
  connection.send(unsuback);
  return true;
}
