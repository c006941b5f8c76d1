/**
 * The acknowledgements, by hand: they are the most frequent packets Tether writes and have a fixed
 * shape, so they skip mqtt-packet's generic encoder. test/transport/packets.test.ts checks them byte
 * for byte against mqtt-packet.
 */
const FIRST_BYTE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

export type AckKind = keyof typeof FIRST_BYTE;

/**
 * PUBACK, PUBREC, PUBREL or PUBCOMP for `packetId`. A reason code other than success (MQTT 5 only)
 * makes it one byte longer; success is left out, as MQTT 5 §3.4.2.1 allows, so the bytes are the
 * same for every protocol level.
 */
export function encodeAck(kind: AckKind, packetId: number, reasonCode = 0): Buffer {
  if (reasonCode === 0) return Buffer.from([FIRST_BYTE[kind], 2, packetId >> 8, packetId & 0xff]);
  return Buffer.from([FIRST_BYTE[kind], 3, packetId >> 8, packetId & 0xff, reasonCode]);
}

/**
 * A PUBLISH without properties (MQTT 3.1.1, or MQTT 5 with none): one reply per request goes out
 * this way, so it skips mqtt-packet's generic encoder. Byte for byte the same as mqtt-packet's
 * (test/transport/packets.test.ts); MQTT 5 with properties uses mqtt-packet.
 */
export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1 | 2, packetId: number, dup: boolean, protocolVersion: number): Buffer {
  const topicLength = Buffer.byteLength(topic);
  // MQTT 5 has a property length (one byte, zero) before the payload.
  const propertyBytes = protocolVersion === 5 ? 1 : 0;
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + propertyBytes + payload.length;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1);
  let at = 1;
  for (let rest = remaining; ; ) {
    const byte = rest % 128;
    rest = Math.floor(rest / 128);
    out[at++] = rest > 0 ? byte | 0x80 : byte;
    if (rest === 0) break;
  }
  out.writeUInt16BE(topicLength, at);
  at += 2;
  at += out.write(topic, at, 'utf8');
  if (qos > 0) {
    out.writeUInt16BE(packetId, at);
    at += 2;
  }
  if (propertyBytes) out[at++] = 0;
  payload.copy(out, at);
  return out;
}

/** PINGRESP. */
export const PINGRESP = Buffer.from([0xd0, 0]);
