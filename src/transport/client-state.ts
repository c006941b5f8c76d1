import type { UserProperties } from 'mqtt-packet';

export type QoS = 0 | 1 | 2;

/** A subscription Tether granted: always below one concrete token (topic-filter.ts `isAllowedSubscription`). */
export interface GrantedSubscription {
  filter: string;
  qos: QoS;
  /** `kp1/<appVersion>/<extension>/<token>`: replies are matched against the subscriptions of their scope only. */
  scope: string;
  tokenHash: string;
  endpointId: string;
}

/** MQTT 5 properties a 1/KP reply carries over from its request. */
export interface ReplyProperties {
  correlationData?: Buffer;
  userProperties?: UserProperties;
}

/** A QoS 1/2 message on its way to the device, kept until the device acknowledges it. */
export interface OutboundMessage {
  packetId: number;
  topic: string;
  payload: Buffer;
  qos: 1 | 2;
  properties: ReplyProperties | undefined;
  /** `released`: PUBREC received and PUBREL sent (QoS 2), PUBCOMP awaited. */
  phase: 'sent' | 'released';
}

/** What a client state needs of the connection currently carrying it. */
export interface Carrier {
  /** How many QoS 1/2 messages the device accepts unacknowledged (MQTT 5 Receive Maximum; 3.1.1: the server's own cap). */
  readonly receiveMaximum: number;
  sendPublish(message: { topic: string; payload: Buffer; qos: QoS; packetId?: number; dup?: boolean; properties?: ReplyProperties | undefined }): void;
  sendPubrel(packetId: number): void;
}

/**
 * MQTT session state (3.1.1 §4.1, 5.0 §4.1): subscriptions, QoS 1/2 messages to the device not yet
 * acknowledged, and inbound QoS 2 packet IDs awaiting PUBREL. A clean session's state ends with its
 * connection; a persistent one (3.1.1 clean session 0, 5.0 session expiry > 0) outlives it, within
 * the bounds of limits.maxQueuedMessages and the session expiry.
 * Collections are created on first use: most devices never subscribe, and idle fleets are large.
 */
export class ClientState {
  subscriptions: GrantedSubscription[] | undefined;
  /** Sent and awaiting PUBACK / PUBREC / PUBCOMP, in send order (Map keeps insertion order). */
  private outbound: Map<number, OutboundMessage> | undefined;
  /** Waiting for room under the device's receive maximum, or for the device to come back. */
  private pending: OutboundMessage[] | undefined;
  /** Inbound QoS 2 (MQTT 4.3.3): packet IDs taken and not yet released by PUBREL; true once PUBREC was sent (after commit). */
  awaitingRelease: Map<number, boolean> | undefined;
  private nextPacketId = 1;
  carrier: Carrier | undefined;
  /** When a persistent state with no connection is discarded (clock ms). */
  expiresAt = Infinity;

  constructor(
    readonly clientId: string,
    private readonly maxQueued: number,
  ) {}

  /** Delivers a reply: QoS 0 only to a connected device; QoS 1/2 tracked until acknowledged. */
  deliver(topic: string, payload: Buffer, qos: QoS, properties: ReplyProperties | undefined): void {
    if (qos === 0) {
      this.carrier?.sendPublish({ topic, payload, qos, properties });
      return;
    }
    const message: OutboundMessage = { packetId: 0, topic, payload, qos, properties, phase: 'sent' };
    const carrier = this.carrier;
    if (carrier && (this.outbound?.size ?? 0) < carrier.receiveMaximum && !this.pending?.length) {
      this.send(carrier, message);
      return;
    }
    const pending = (this.pending ??= []);
    // limits.maxQueuedMessages: a device that never acknowledges (or never comes back) cannot grow this.
    if (pending.length + (this.outbound?.size ?? 0) >= this.maxQueued) return;
    pending.push(message);
  }

  private send(carrier: Carrier, message: OutboundMessage): void {
    message.packetId = this.allocatePacketId();
    (this.outbound ??= new Map()).set(message.packetId, message);
    carrier.sendPublish(message);
  }

  private allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.outbound?.has(id)) return id;
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is delivered. False when the ID was unknown. */
  acknowledged(packetId: number): boolean {
    const known = this.outbound?.delete(packetId) ?? false;
    if (known) {
      // Most devices get a reply now and then: an empty map is not kept per idle device.
      if (this.outbound!.size === 0) this.outbound = undefined;
      this.sendPending();
    }
    return known;
  }

  /** PUBREC: the device has the QoS 2 message; answer PUBREL. False when the ID was unknown. */
  received(packetId: number): boolean {
    const message = this.outbound?.get(packetId);
    if (!message) return false;
    message.phase = 'released';
    this.carrier?.sendPubrel(packetId);
    return true;
  }

  /**
   * A connection takes this state over: unacknowledged messages go out again (DUP, or PUBREL for
   * those already received), in their original order, then whatever waited (MQTT 4.4).
   */
  attach(carrier: Carrier): void {
    this.carrier = carrier;
    this.expiresAt = Infinity;
    if (this.outbound) {
      for (const message of this.outbound.values()) {
        if (message.phase === 'released') carrier.sendPubrel(message.packetId);
        else carrier.sendPublish({ ...message, dup: true });
      }
    }
    this.sendPending();
  }

  detach(expiresAt: number): void {
    this.carrier = undefined;
    this.expiresAt = expiresAt;
  }

  private sendPending(): void {
    const carrier = this.carrier;
    const pending = this.pending;
    if (!carrier || !pending) return;
    while (pending.length > 0 && (this.outbound?.size ?? 0) < carrier.receiveMaximum) this.send(carrier, pending.shift()!);
    if (pending.length === 0) this.pending = undefined;
  }

}
