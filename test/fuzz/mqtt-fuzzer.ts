/**
 * An MQTT fuzzer for Tether's front door: random bytes and valid MQTT 3.1.1 and 5.0 packets
 * (made by mqtt-packet from fast-check's arbitrary fields) mutated at random, sent over several
 * connections at once while a well-behaved device keeps working. Shared by the bounded run in
 * `npm test` (test/fuzz/mqtt.test.ts) and the long one in `npm run fuzz` (bench/fuzz.ts).
 */
import net from 'node:net';
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';

/** What the server may answer with: acknowledgements, replies, pings, and a DISCONNECT (MQTT 5). */
const ALLOWED_ANSWERS = new Set(['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'pingresp', 'disconnect', 'publish']);

/** A mutation of an encoded packet: as is, a byte flipped, cut short, bytes inserted, or two glued. */
function mutate(bytes: Buffer, mutation: { kind: number; at: number; value: number; extra: Uint8Array }): Buffer {
  if (bytes.length === 0) return Buffer.from(mutation.extra);
  const at = mutation.at % bytes.length;
  switch (mutation.kind % 5) {
    case 0:
      return bytes;
    case 1: {
      const copy = Buffer.from(bytes);
      copy[at] = mutation.value & 0xff;
      return copy;
    }
    case 2:
      return bytes.subarray(0, at);
    case 3:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(mutation.extra), bytes.subarray(at)]);
    default:
      return Buffer.concat([bytes, Buffer.from(mutation.extra)]);
  }
}

const mutation = fc.record({ kind: fc.nat(), at: fc.nat(), value: fc.nat(), extra: fc.uint8Array({ maxLength: 16 }) });

const LEVELS = ['kp1', 'demo_application_v1', 'epmx', 'cmx', 'cex', 'dcx', 'cmx_ota', 'tok', '+', '#', '', 'update', 'keys', 'status', 'config', 'json', 'command', 'result', '42', '$SYS', 'a'.repeat(300)];

/**
 * The fuzzer's arbitraries. `tokens` are real endpoint tokens to put among the topic levels: with
 * only made-up ones, packets seldom get past the token look-up to subscriptions and extensions.
 */
export function mqttFuzzer(tokens: readonly string[] = []) {
  const topicLevel = fc.constantFrom(...LEVELS, ...tokens);
  /** Mostly well-formed 1/KP topics (so real tokens meet real resources), some of any shape. */
  const kpTopic = fc
    .tuple(fc.constantFrom('demo_application_v1', 'x'), fc.constantFrom('epmx', 'cmx', 'cex', 'dcx', 'cmx_ota', 'nope'), fc.constantFrom('tok', ...tokens), fc.array(topicLevel, { maxLength: 4 }))
    .map(([version, extension, token, rest]) => ['kp1', version, extension, token, ...rest].join('/'));
  const topic = fc.oneof(kpTopic, fc.array(topicLevel, { minLength: 0, maxLength: 8 }).map((levels) => levels.join('/')));
  const payload = fc.oneof(fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)), fc.constantFrom('{}', '{"a":1}', '[{"id":1,"statusCode":200}]', 'null', '{"observe":true}').map((s) => Buffer.from(s)));
  const packetId = fc.integer({ min: 0, max: 65535 });
  const qos = fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>;

  // MQTT 5 properties Tether reads (topic aliases, reply correlation, limits, session expiry), with
  // edge values; a 3.1.1 packet ignores them when generated.
  const u16 = fc.oneof(fc.constantFrom(0, 1, 65535), fc.integer({ min: 0, max: 65535 }));
  const u32 = fc.oneof(fc.constantFrom(0, 1, 4294967295), fc.nat());
  const userProperties = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })), { maxKeys: 3 });
  const publishProperties = fc.record(
    { topicAlias: u16, responseTopic: topic, correlationData: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)), payloadFormatIndicator: fc.boolean(), messageExpiryInterval: u32, contentType: fc.string({ maxLength: 20 }), userProperties },
    { requiredKeys: [] },
  );
  const connectProperties = fc.record({ sessionExpiryInterval: u32, receiveMaximum: u16, maximumPacketSize: u32, topicAliasMaximum: u16, requestResponseInformation: fc.boolean(), userProperties }, { requiredKeys: [] });

  /** Fields for one packet of any type mqtt-packet can generate. */
  const packetFields: fc.Arbitrary<Packet> = fc.oneof(
    fc.record(
      { cmd: fc.constant('connect' as const), protocolId: fc.constantFrom('MQTT', 'MQIsdp', 'XX'), protocolVersion: fc.constantFrom(3, 4, 5, 6) as fc.Arbitrary<3 | 4 | 5>, clean: fc.boolean(), clientId: fc.string({ maxLength: 40 }), keepalive: fc.integer({ min: 0, max: 65535 }), properties: connectProperties },
      { requiredKeys: ['cmd', 'protocolId', 'protocolVersion', 'clean', 'clientId', 'keepalive'] },
    ),
    fc.record({ cmd: fc.constant('publish' as const), topic, payload, qos, retain: fc.boolean(), dup: fc.boolean(), messageId: packetId, properties: publishProperties }, { requiredKeys: ['cmd', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId'] }),
    fc.record(
      { cmd: fc.constant('subscribe' as const), messageId: packetId, subscriptions: fc.array(fc.record({ topic, qos, nl: fc.boolean(), rap: fc.boolean(), rh: fc.constantFrom(0, 1, 2) }, { requiredKeys: ['topic', 'qos'] }), { minLength: 1, maxLength: 3 }), properties: fc.record({ subscriptionIdentifier: fc.integer({ min: 1, max: 268435455 }), userProperties }, { requiredKeys: [] }) },
      { requiredKeys: ['cmd', 'messageId', 'subscriptions'] },
    ),
    fc.record({ cmd: fc.constant('unsubscribe' as const), messageId: packetId, unsubscriptions: fc.array(topic, { minLength: 1, maxLength: 3 }) }),
    fc.record({ cmd: fc.constantFrom('puback' as const, 'pubrec' as const, 'pubrel' as const, 'pubcomp' as const), messageId: packetId }),
    fc.record({ cmd: fc.constantFrom('pingreq' as const, 'disconnect' as const) }),
  ) as fc.Arbitrary<Packet>;

  /**
   * Packets mqtt-packet parses but will not write, so mutation alone seldom reaches them: SUBSCRIBE and
   * UNSUBSCRIBE without a filter (packet ID, and for MQTT 5 an empty property list). CI once found the
   * first one by chance; it crashed the process.
   */
  const unwritable: fc.Arbitrary<Buffer> = fc
    .tuple(fc.constantFrom(0x82, 0xa2), packetId, fc.boolean(), mutation)
    .map(([type, id, withProperties, m]) => mutate(Buffer.from([type, withProperties ? 3 : 2, id >> 8, id & 0xff, ...(withProperties ? [0] : [])]), m));

  /** One fuzzed packet: random bytes, or a generated packet (3.1.1 or 5.0) after a mutation. */
  const fuzzedPacket: fc.Arbitrary<Buffer> = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: unwritable },
    {
      weight: 6,
      arbitrary: fc.tuple(packetFields, fc.constantFrom(4, 5), mutation).map(([fields, version, m]) => {
        let bytes: Buffer;
        try {
          bytes = mqttPacket.generate(fields, { protocolVersion: version as 4 | 5 });
        } catch {
          bytes = Buffer.from(JSON.stringify(fields)).subarray(0, 32);
        }
        return mutate(bytes, m);
      }),
    },
  );

  /** A connection's script: a valid CONNECT (so packets after it reach the packet handlers), then fuzz. */
  const connectionScript = fc.tuple(fc.constantFrom(4, 5), fc.array(fuzzedPacket, { minLength: 1, maxLength: 12 }));
  return { fuzzedPacket, connectionScript };
}

export interface ScriptOutcome {
  /** Packets the server sent that a device may legitimately get (by type). */
  answers: string[];
  /** Anything else the server sent: a finding. */
  unexpected: string[];
  bytesSent: number;
}

/**
 * Runs one script on a fresh connection: sends the CONNECT and the packets, then waits until the
 * server closes the connection or goes quiet (`quietMs`). Never throws for what the server does.
 */
export function runScript(port: number, version: 4 | 5, packets: Buffer[], quietMs = 50): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const outcome: ScriptOutcome = { answers: [], unexpected: [], bytesSent: 0 };
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => (ALLOWED_ANSWERS.has(p.cmd) ? outcome.answers : outcome.unexpected).push(p.cmd));
    parser.on('error', (err: Error) => outcome.unexpected.push(`unparsable answer: ${err.message}`));
    const socket = net.connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    const hardStop = setTimeout(() => finish(), 2000);
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(hardStop);
      socket.destroy();
      resolve(outcome);
    };
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    socket.on('data', (data) => {
      parser.parse(data);
      rearm();
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => {
      const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: '', keepalive: 30 }, { protocolVersion: version });
      const all = Buffer.concat([connect, ...packets]);
      outcome.bytesSent = all.length;
      socket.write(all);
      rearm();
    });
  });
}
