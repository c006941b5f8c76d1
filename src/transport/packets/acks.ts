import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { Reason } from '../reason-codes.js';
import { encodeAck } from './encode.js';

/**
 * The QoS acknowledgement flows (MQTT 4.3): PUBACK and PUBCOMP end the delivery of a reply, PUBREC
 * gets PUBREL; PUBREL from the device releases an inbound QoS 2 packet ID and gets PUBCOMP.
 */
export function handlePuback(connection: Connection, packet: IPubackPacket | IPubcompPacket): boolean {
  connection.client?.acknowledged(packet.messageId ?? 0);
  return true;
}

export function handlePubrec(connection: Connection, packet: IPubrecPacket): boolean {
  const id = packet.messageId ?? 0;
  // MQTT 5: a PUBREC with a failure reason ends the exchange; nothing more is sent.
  if ((packet.reasonCode ?? 0) >= 0x80) {
    connection.client?.acknowledged(id);
    return true;
  }
  if (!connection.client?.received(id)) {
    connection.write(encodeAck('pubrel', id, connection.protocolVersion === 5 ? Reason.packetIdNotFound : 0));
  }
  return true;
}

export function handlePubrel(connection: Connection, packet: IPubrelPacket): boolean {
  const id = packet.messageId ?? 0;
  const known = connection.client?.awaitingRelease?.delete(id) ?? false;
  connection.write(encodeAck('pubcomp', id, known || connection.protocolVersion !== 5 ? 0 : Reason.packetIdNotFound));
  return true;
}

