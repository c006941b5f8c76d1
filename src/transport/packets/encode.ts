/**
 * The acknowledgements, by hand: they are the most frequent packets Tether writes and have a fixed
 * shape, so they skip mqtt-packet's generic encoder. test/transport/encode.test.ts checks them byte
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

/** PINGRESP. */
export const PINGRESP = Buffer.from([0xd0, 0]);
