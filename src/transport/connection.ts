import type { Duplex } from 'node:stream';
import type net from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import type { Carrier, ClientState, QoS, ReplyProperties } from './client-state.js';
import { encodeAck, encodePublish } from './packets/encode.js';
import { PacketFramer } from './framing.js';
import type { FrameVerdict, PacketDecoder } from './framing.js';
import type { TransportPeer } from './peer.js';
import type { TokenBucket } from './limits.js';
import { Session } from './session.js';
import type { SessionOwner } from './session.js';

// mqtt-packet builds a table of 65,536 two-byte buffers (~6 MB of heap, kept for good) the first
// time it generates a packet, so it can write packet IDs without allocating. Tether writes its
// hot-path packets itself (packets/encode.ts); for the rest (CONNACK, SUBACK...) the table would
// only cost memory, and it showed up as 0.6 kB per device in the idle benchmark.
mqttPacket.writeToStream.cacheNumbers = false;

/** Why a connection is not processing its next packet; reading stops while any is set (TCP pushes back). */
export const Hold = {
  /** CONNECT is being authenticated: later packets wait for its outcome. */
  connecting: 1,
  /** limits.maxInflight requests of this connection are being processed. */
  inflight: 2,
  /** Over limits.publishRate: resumes when the token bucket has refilled. */
  rate: 4,
  /** The whole server has limits.maxPendingRequests in progress. */
  pressure: 8,
  /** The device does not read what Tether writes. */
  write: 16,
} as const;

export type ConnectionState = 'awaiting-connect' | 'connecting' | 'connected' | 'ended';

/** What the server does for all connections at once: scheduling, dispatch, and the end of a connection. */
export interface ConnectionHost {
  now(): number;
  /** Handles one packet; false when it could not be taken now (a hold was set), so it stays first in line. */
  dispatch(connection: Connection, packet: Packet): boolean;
  /** Runs `connection.pump()` on a later turn, after other connections had theirs. */
  schedulePump(connection: Connection): void;
  /** Writes `connection.flush()` once this turn is over, for all connections in one pass. */
  scheduleFlush(connection: Connection): void;
  /** The framer or the decoder refused the bytes. */
  malformed(connection: Connection, problem: FrameVerdict): void;
  /** Decodes one whole packet (shared by all connections). */
  readonly decoder: PacketDecoder;
  /** The socket is gone and every packet it delivered has been handled. Called once. */
  finished(connection: Connection): void;
}

const CONNECTION = Symbol('tether.connection');
type CarriesConnection = Duplex & { [CONNECTION]?: Connection };

function onStreamData(this: CarriesConnection, chunk: Buffer | string): void {
  this[CONNECTION]?.onData(chunk);
}

function onStreamGone(this: CarriesConnection): void {
  this[CONNECTION]?.onSocketGone();
}

/** Packets handled per connection per turn before others get theirs. */
const PACKETS_PER_TURN = 64;

/**
 * One MQTT connection: its socket, parser, the packets parsed but not yet handled, what stops it
 * from reading, and what waits to be written. Protocol decisions live in packets/*.ts.
 */
export class Connection implements Carrier, SessionOwner {
  state: ConnectionState = 'awaiting-connect';
  protocolVersion: 3 | 4 | 5 = 4;
  clientId = '';
  keepaliveMs = 0;
  lastReceivedAt: number;
  readonly openedAt: number;
  /** MQTT session state; set once CONNECT is accepted. */
  client: ClientState | undefined;
  /** Requests of this connection being processed. */
  inflight = 0;
  /** MQTT 5 inbound Topic Alias map (3.3.2.3.4). */
  topicAliases: Map<number, string> | undefined;
  /** MQTT 5: how many unacknowledged QoS 1/2 messages the device accepts (its Receive Maximum). */
  receiveMaximum = 65535;
  /** MQTT 5: largest packet the device accepts; bigger replies are dropped (3.1.2.11.4). */
  maxOutgoingPacketSize = Infinity;
  /** MQTT 5: Session Expiry Interval in seconds from CONNECT (or DISCONNECT). */
  sessionExpirySeconds = 0;
  /** The device sent DISCONNECT: nothing after it is handled (3.14.4). */
  disconnected = false;
  /** Gives back this connection's place under limits.maxConnections / maxConnectionsPerIp. */
  releaseSlot: (() => void) | undefined;
  /** limits.publishRate of this connection; created on its first PUBLISH. */
  rateBucket: TokenBucket | undefined;
  /** Refusal count and log state (refusals.ts); created on the first refusal. */
  refusals: unknown;
  readonly session: Session;

  private readonly framer: PacketFramer;
  private queue: Packet[] = [];
  private head = 0;
  private holds = 0;
  private paused = false;
  private socketGone = false;
  private done = false;
  private malformedSeen = false;
  private outbox: Buffer[] | undefined;

  constructor(
    readonly stream: Duplex,
    sessionId: string,
    readonly peer: TransportPeer | undefined,
    readonly remoteAddress: string | undefined,
    private readonly host: ConnectionHost,
    maxPacketSize: number,
  ) {
    this.session = new Session(sessionId, this);
    this.openedAt = this.lastReceivedAt = host.now();
    this.framer = new PacketFramer(maxPacketSize);
    // Shared listeners that find the connection on the stream: no closures per connection.
    (stream as CarriesConnection)[CONNECTION] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamGone);
    stream.on('close', onStreamGone);
    stream.on('end', onStreamGone);
  }

  /** Read when asked (a package URL), not kept per connection. */
  get localAddress(): string | undefined {
    const address = (this.stream as Partial<net.Socket>).localAddress;
    return typeof address === 'string' && address !== '' ? address : undefined;
  }

  /** @internal */
  onData(chunk: Buffer | string): void {
    if (this.done || this.disconnected || this.state === 'ended') return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.lastReceivedAt = this.host.now();
    // The fixed header says how big a packet will be: it is refused before its body is buffered.
    const verdict = this.framer.push(bytes, this);
    if (verdict) {
      this.host.malformed(this, verdict);
      return;
    }
    this.pump();
  }

  /** One whole packet's bytes, from the framer. */
  onFrame(bytes: Buffer): void {
    if (this.malformedSeen) return;
    const packet = this.host.decoder.decode(bytes, this.protocolVersion);
    if (packet instanceof Error) {
      this.malformedSeen = true;
      this.host.malformed(this, { kind: 'malformed', problem: packet.message });
      return;
    }
    // CONNECT sets the level the packets after it (maybe in the same read) are decoded at.
    if (packet.cmd === 'connect' && this.state === 'awaiting-connect' && this.backlog === 0) {
      const version = packet.protocolVersion;
      if (version === 3 || version === 5) this.protocolVersion = version;
    }
    this.queue.push(packet);
  }

  /** Handles queued packets until one cannot be taken or this turn's share is used. */
  pump(): void {
    let budget = PACKETS_PER_TURN;
    while (this.head < this.queue.length && this.holds === 0 && this.state !== 'ended' && !this.disconnected) {
      if (budget-- === 0) {
        this.host.schedulePump(this);
        break;
      }
      const packet = this.queue[this.head]!;
      if (!this.host.dispatch(this, packet)) break;
      this.queue[this.head++] = undefined as unknown as Packet;
    }
    if (this.head >= this.queue.length && this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
    this.updateReading();
    if (this.socketGone) this.finishIfIdle();
  }

  get backlog(): number {
    return this.queue.length - this.head;
  }

  hold(reason: number): void {
    this.holds |= reason;
    this.updateReading();
  }

  release(reason: number): void {
    if ((this.holds & reason) === 0) return;
    this.holds &= ~reason;
    if (this.holds === 0) this.host.schedulePump(this);
  }

  isHeld(reason: number): boolean {
    return (this.holds & reason) !== 0;
  }

  private updateReading(): void {
    // An ended connection stays unread (close() paused it): what the device still sends is not wanted.
    const stop = this.state === 'ended' || this.holds !== 0 || this.head < this.queue.length;
    if (stop === this.paused || this.socketGone) return;
    this.paused = stop;
    if (stop) this.stream.pause();
    else {
      // Time spent unread because of Tether's own pushback does not count against the keepalive.
      this.lastReceivedAt = this.host.now();
      this.stream.resume();
    }
  }

  /**
   * The peer closed (or the socket failed). Packets it sent before still count: a device that pipelines
   * CONNECT, PUBLISH, DISCONNECT and closes at once has its PUBLISH stored. Holds that wait on the peer
   * (writes) or on time (rate) no longer apply.
   */
  /** @internal */
  onSocketGone(): void {
    if (this.socketGone) return;
    this.socketGone = true;
    this.outbox = undefined;
    this.holds &= ~(Hold.write | Hold.rate);
    if (this.holds === 0 && this.backlog > 0) this.host.schedulePump(this);
    this.finishIfIdle();
  }

  /** The connection is over once the socket is gone and no packet is left to handle (or CONNECT's outcome to await). */
  private finishIfIdle(): void {
    if (this.done || this.state === 'connecting') return;
    if (this.backlog > 0 && !this.disconnected && this.state !== 'ended') return;
    this.done = true;
    this.state = 'ended';
    this.queue = [];
    this.head = 0;
    // A peer that only half-closed (TLS and WebSocket streams allow it) is not left half open.
    if (!this.stream.destroyed) this.stream.destroy();
    this.host.finished(this);
  }

  /** From now on packets are decoded and encoded at this protocol level (CONNECT said which). */
  useProtocolVersion(version: 3 | 4 | 5): void {
    this.protocolVersion = version;
  }

  /**
   * Tether ends the connection (kick, takeover, keepalive, limits): an MQTT 5 device is told why in a
   * DISCONNECT with a reason code and string (3.14.2.2.2); 3.1.1 has no such packet from the server.
   */
  end(reasonCode: number, reason: string): void {
    if (this.state === 'ended') return;
    if (this.state === 'connected' && this.protocolVersion === 5) {
      this.send({ cmd: 'disconnect', reasonCode, properties: { reasonString: reason } } as Packet);
    }
    this.close();
  }

  /** Stops handling packets and closes the socket after what was already queued for writing. */
  close(initiator: 'device' | 'tether' = 'tether'): void {
    if (this.state !== 'ended') this.state = 'ended';
    this.queue = [];
    this.head = 0;
    if (this.socketGone) {
      this.finishIfIdle();
      return;
    }
    this.flush();
    this.stream.end();
    // When Tether ends it (a kick, a limit, a protocol error), nothing the device still sends matters:
    // it is not read any more (a flooder would otherwise be drained at memory speed until the socket
    // closes). A device that said DISCONNECT is read on, so its closing is seen at once.
    if (initiator === 'tether') {
      this.paused = true;
      this.stream.pause();
    }
    // A peer that never reads or never closes would keep a half-closed socket; it gets a moment, then is cut.
    const timer = setTimeout(() => this.stream.destroy(), initiator === 'tether' ? 250 : 1000);
    timer.unref();
    this.stream.once('close', () => clearTimeout(timer));
  }

  /** Cuts the connection without writing anything more. */
  destroy(): void {
    this.state = 'ended';
    this.queue = [];
    this.head = 0;
    this.outbox = undefined;
    this.stream.destroy();
    this.onSocketGone();
  }

  /** Tether is not reading this connection (pushback), so silence from it means nothing. */
  get waitingOnServer(): boolean {
    return this.holds !== 0 || this.head < this.queue.length;
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  // --- writing ---------------------------------------------------------------------

  /** Queues bytes for the socket; everything queued in one turn goes out in one write. */
  write(bytes: Buffer): void {
    if (this.socketGone || this.stream.writableEnded) return;
    if (!this.outbox) {
      this.outbox = [bytes];
      this.host.scheduleFlush(this);
    } else this.outbox.push(bytes);
  }

  send(packet: Packet): void {
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet, { protocolVersion: this.protocolVersion });
    } catch {
      // A reply mqtt-packet will not encode is Tether's bug, and often thrown inside a promise chain
      // where it would end the process: it costs this connection only.
      this.destroy();
      return;
    }
    this.write(bytes);
  }

  flush(): void {
    const outbox = this.outbox;
    if (!outbox || this.socketGone || this.stream.writableEnded) return;
    this.outbox = undefined;
    const ok = this.stream.write(outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox));
    if (!ok && !this.isHeld(Hold.write)) {
      // The device is not reading: stop reading it too, so its replies cannot pile up here.
      this.hold(Hold.write);
      this.stream.once('drain', () => this.release(Hold.write));
    }
  }

  // --- Carrier: what the MQTT session state sends through this connection ---------------

  sendPublish(message: { topic: string; payload: Buffer; qos: QoS; packetId?: number; dup?: boolean; properties?: ReplyProperties | undefined }): void {
    if (this.state !== 'connected') return;
    const withProperties = this.protocolVersion === 5 && message.properties !== undefined;
    const bytes = withProperties
      ? mqttPacket.generate(
          {
            cmd: 'publish',
            topic: message.topic,
            payload: message.payload,
            qos: message.qos,
            dup: message.dup ?? false,
            retain: false,
            ...(message.qos > 0 && { messageId: message.packetId }),
            properties: message.properties,
          } as Packet,
          { protocolVersion: 5 },
        )
      : encodePublish(message.topic, message.payload, message.qos, message.packetId ?? 0, message.dup ?? false, this.protocolVersion);
    // MQTT 5 3.1.2.11.4: a packet over the device's Maximum Packet Size is discarded as if sent.
    if (bytes.length > this.maxOutgoingPacketSize) return;
    this.write(bytes);
  }

  sendPubrel(packetId: number): void {
    if (this.state === 'connected') this.write(encodeAck('pubrel', packetId));
  }
}
