/**
 * A minimal MQTT 3.1.1 encoder/decoder for the load generator. Only the packets a device sends
 * and receives in the benchmarks are covered. Hand-rolled rather than mqtt.js so the generator,
 * which shares two cores with the broker under test, spends as little CPU per message as possible;
 * the same codec drives Tether and mosquitto, so the ratio stays fair.
 */

export const PacketType = {
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBACK: 9,
  PINGRESP: 13,
} as const;

export type Packet =
  | { type: 2; returnCode: number }
  | { type: 3; qos: number; topic: string; packetId: number; payload: Buffer }
  | { type: 4; packetId: number }
  | { type: 9; packetId: number; granted: number[] }
  | { type: 13 }
  | { type: number };

function remainingLengthSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function writeRemainingLength(buf: Buffer, offset: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[offset++] = byte;
  } while (n > 0);
  return offset;
}

function packet(firstByte: number, bodyLength: number): { buf: Buffer; offset: number } {
  const buf = Buffer.allocUnsafe(1 + remainingLengthSize(bodyLength) + bodyLength);
  buf[0] = firstByte;
  return { buf, offset: writeRemainingLength(buf, 1, bodyLength) };
}

export function encodeConnect(clientId: string, keepaliveSeconds: number, cleanSession = true): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const { buf, offset } = packet(0x10, 10 + 2 + id.length);
  let o = offset;
  o = buf.writeUInt16BE(4, o);
  o += buf.write('MQTT', o, 'latin1');
  buf[o++] = 4; // protocol level 3.1.1
  buf[o++] = cleanSession ? 0x02 : 0x00;
  o = buf.writeUInt16BE(keepaliveSeconds, o);
  o = buf.writeUInt16BE(id.length, o);
  id.copy(buf, o);
  return buf;
}

/** `topic` is pre-encoded because the generator reuses one topic per device for every message. */
export function encodePublish(topic: Buffer, payload: Buffer | string, qos: 0 | 1, packetId: number): Buffer {
  const payloadLength = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const bodyLength = 2 + topic.length + (qos > 0 ? 2 : 0) + payloadLength;
  const { buf, offset } = packet(0x30 | (qos << 1), bodyLength);
  let o = buf.writeUInt16BE(topic.length, offset);
  o += topic.copy(buf, o);
  if (qos > 0) o = buf.writeUInt16BE(packetId, o);
  if (typeof payload === 'string') buf.write(payload, o, 'utf8');
  else payload.copy(buf, o);
  return buf;
}

export function encodePuback(packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = 0x40;
  buf[1] = 2;
  buf.writeUInt16BE(packetId, 2);
  return buf;
}

export function encodeSubscribe(packetId: number, topics: string[], qos: 0 | 1): Buffer {
  const encoded = topics.map((t) => Buffer.from(t, 'utf8'));
  const bodyLength = 2 + encoded.reduce((sum, t) => sum + 2 + t.length + 1, 0);
  const { buf, offset } = packet(0x82, bodyLength);
  let o = buf.writeUInt16BE(packetId, offset);
  for (const t of encoded) {
    o = buf.writeUInt16BE(t.length, o);
    o += t.copy(buf, o);
    buf[o++] = qos;
  }
  return buf;
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);
export const PINGREQ = Buffer.from([0xc0, 0x00]);

/**
 * Incremental parser for one connection: feed it socket chunks, it calls `onPacket` for every
 * complete packet. Chunks usually hold whole packets, so the common case does not copy.
 */
export class PacketParser {
  private pending: Buffer | null = null;

  constructor(private readonly onPacket: (packet: Packet) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let o = 0;
    while (o < buf.length) {
      if (buf.length - o < 2) break;
      const first = buf[o]!;
      let length = 0;
      let multiplier = 1;
      let i = o + 1;
      let complete = false;
      for (let n = 0; n < 4 && i < buf.length; n++) {
        const byte = buf[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + length > buf.length) break;
      this.onPacket(decode(first, buf, i, i + length));
      o = i + length;
    }
    if (o < buf.length) this.pending = buf.subarray(o);
    // Keep a partial packet independent of a chunk the socket may reuse.
    if (this.pending && this.pending.buffer === buf.buffer && buf === chunk) this.pending = Buffer.from(this.pending);
  }
}

function decode(first: number, buf: Buffer, start: number, end: number): Packet {
  const type = first >> 4;
  switch (type) {
    case PacketType.CONNACK:
      return { type, returnCode: buf[start + 1] ?? 255 };
    case PacketType.PUBACK:
      return { type, packetId: buf.readUInt16BE(start) };
    case PacketType.SUBACK: {
      const granted: number[] = [];
      for (let i = start + 2; i < end; i++) granted.push(buf[i]!);
      return { type, packetId: buf.readUInt16BE(start), granted };
    }
    case PacketType.PUBLISH: {
      const qos = (first >> 1) & 0x03;
      const topicLength = buf.readUInt16BE(start);
      const topic = buf.toString('utf8', start + 2, start + 2 + topicLength);
      let o = start + 2 + topicLength;
      let packetId = 0;
      if (qos > 0) {
        packetId = buf.readUInt16BE(o);
        o += 2;
      }
      return { type, qos, topic, packetId, payload: Buffer.from(buf.subarray(o, end)) };
    }
    default:
      return { type };
  }
}
