import type { IDisconnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';

/**
 * DISCONNECT from the device: the connection closes once what it sent before is handled (requests in
 * flight still finish and are stored). Wills are never published by Tether, so MQTT 5's "disconnect
 * with will" is the same. MQTT 5 may change the session expiry here (3.14.2.2.2), but not from zero.
 */
export function handleDisconnect(connection: Connection, packet: IDisconnectPacket): boolean {
  const expiry = packet.properties?.sessionExpiryInterval;
  if (connection.protocolVersion === 5 && expiry !== undefined && connection.sessionExpirySeconds > 0) {
    connection.sessionExpirySeconds = Math.min(expiry, connection.sessionExpirySeconds);
  }
  connection.disconnected = true;
  connection.close('device');
  return true;
}
