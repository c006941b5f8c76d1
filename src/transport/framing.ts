import mqttPacket from 'mqtt-packet';
import type { Packet, Parser } from 'mqtt-packet';

/**
 * Splits a connection's bytes into whole MQTT packets by their fixed header (MQTT 3.1.1 §2.2.3: a
 * type byte, then a Remaining Length of at most four bytes). A packet whose header announces more
 * than `maxPacketSize` bytes is refused before its body is buffered. Between packets a connection
 * holds nothing: an idle fleet costs no parser state, which a per-connection mqtt-packet parser
 * (an EventEmitter with a BufferList stream) would.
 */
export type FrameVerdict = { kind: 'too-large'; size: number } | { kind: 'malformed'; problem: string };

export class PacketFramer {
  /** Bytes of a packet not complete yet, and how many it needs in all (0: header not complete). */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  private needed = 0;

  constructor(private readonly maxPacketSize: number) {}

  /** Hands each complete packet to `sink.onFrame`; returns a verdict when the bytes break the rules. */
  push(chunk: Buffer, sink: { onFrame(packet: Buffer): void }): FrameVerdict | undefined {
    let data = chunk;
    if (this.pending) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // A large packet arriving in many chunks is joined once, when it is complete.
      if (this.needed > 0 && this.pendingBytes < this.needed) return undefined;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = undefined;
      this.pendingBytes = 0;
      this.needed = 0;
    }
    let offset = 0;
    while (offset < data.length) {
      const header = readFixedHeader(data, offset);
      if (header === undefined) break;
      if ('problem' in header) return { kind: 'malformed', problem: header.problem };
      if (header.size > this.maxPacketSize) return { kind: 'too-large', size: header.size };
      if (data.length - offset < header.size) {
        this.needed = header.size;
        break;
      }
      sink.onFrame(data.subarray(offset, offset + header.size));
      offset += header.size;
    }
    if (offset < data.length) {
      // Copied: the rest of a read buffer must not keep the whole buffer alive.
      const rest = Buffer.from(data.subarray(offset));
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return undefined;
  }
}

/** The packet's whole size from its fixed header; undefined while the header is incomplete. */
function readFixedHeader(data: Buffer, offset: number): { size: number } | { problem: string } | undefined {
  let length = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (offset + i >= data.length) return undefined;
    const byte = data[offset + i]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { size: 1 + i + length };
    multiplier *= 128;
  }
  return { problem: 'Remaining Length longer than four bytes' };
}

/**
 * Decodes one whole packet with mqtt-packet. One parser per protocol level serves every connection:
 * fed exactly one complete packet, it emits it synchronously and is back at its start. After an
 * error it is replaced instead (see `decode`).
 */
export class PacketDecoder {
  private readonly parsers = new Map<number, Parser>();
  private decoded: Packet | undefined;
  private failure: Error | undefined;

  decode(bytes: Buffer, protocolVersion: 3 | 4 | 5): Packet | Error {
    // Every request is a PUBLISH: the well-formed ones without properties skip the generic parser.
    if (protocolVersion !== 5 && bytes[0]! >> 4 === 3) {
      const publish = decodePublish(bytes);
      if (publish) return publish;
    }
    // Every reply a device acknowledges comes back as a PUBACK: the well-formed 3.1/3.1.1 one too.
    if (protocolVersion !== 5 && bytes.length === 4 && bytes[0] === 0x40 && bytes[1] === 2) {
      return { cmd: 'puback', retain: false, qos: 0, dup: false, length: 2, topic: null, payload: null, messageId: (bytes[2]! << 8) | bytes[3]! } as unknown as Packet;
    }
    const parser = this.parserFor(protocolVersion);
    this.decoded = undefined;
    this.failure = undefined;
    parser.parse(bytes);
    const packet = this.decoded;
    const failure = this.failure;
    this.decoded = undefined;
    this.failure = undefined;
    if (packet && !failure) return packet;
    // Whatever the parser kept of a packet it could not finish must not reach the next connection's.
    // mqtt-packet 9.0.2 has no public way to reset a parser (only `parse` and the two events), so
    // a parser that failed is dropped and the next packet gets a new one; failures are rare (the
    // connection is closed), so the cost of one more parser there does not matter.
    this.parsers.delete(protocolVersion);
    return failure ?? new Error('packet shorter than its fixed header says');
  }

  private parserFor(protocolVersion: number): Parser {
    let parser = this.parsers.get(protocolVersion);
    if (!parser) {
      parser = mqttPacket.parser({ protocolVersion });
      parser.on('packet', (packet: Packet) => (this.decoded = packet));
      parser.on('error', (err: Error) => (this.failure ??= err));
      this.parsers.set(protocolVersion, parser);
    }
    return parser;
  }
}

/**
 * A 3.1/3.1.1 PUBLISH by hand, giving the same packet as mqtt-packet's parser
 * (test/transport/packets.test.ts compares them). Anything unusual (QoS 3, a topic or packet ID
 * running past the packet) is left to mqtt-packet, so errors read exactly as before.
 */
function decodePublish(bytes: Buffer): Packet | undefined {
  const first = bytes[0]!;
  const qos = (first >> 1) & 3;
  if (qos === 3) return undefined;
  let at = 1;
  let length = 0;
  for (let multiplier = 1; ; multiplier *= 128) {
    const byte = bytes[at++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
  }
  const end = at + length;
  if (end !== bytes.length || at + 2 > end) return undefined;
  const topicLength = bytes.readUInt16BE(at);
  at += 2;
  if (at + topicLength > end) return undefined;
  const topic = bytes.toString('utf8', at, at + topicLength);
  at += topicLength;
  let messageId: number | undefined;
  if (qos > 0) {
    if (at + 2 > end) return undefined;
    messageId = bytes.readUInt16BE(at);
    at += 2;
  }
  return {
    cmd: 'publish',
    retain: (first & 1) !== 0,
    qos,
    dup: (first & 8) !== 0,
    length,
    topic,
    payload: bytes.subarray(at, end),
    ...(messageId !== undefined && { messageId }),
  } as Packet;
}
