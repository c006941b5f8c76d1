import type { IPublishPacket } from 'mqtt-packet';
import type { QoS, ReplyProperties } from '../client-state.js';
import { Hold } from '../connection.js';
import type { Connection } from '../connection.js';
import type { ServerContext } from '../context.js';
import { TokenBucket } from '../limits.js';
import { Reason } from '../reason-codes.js';
import type { RequestOutcome } from '../requests.js';
import { responseScope, topicMatchesFilter } from '../topic-filter.js';
import { encodeAck } from './encode.js';

/**
 * PUBLISH from a device: always a 1/KP request to the platform, never forwarded to other clients and
 * never retained. It is acknowledged (PUBACK, PUBREC) only once processed, which for updates means
 * committed; an over-the-limit device is read more slowly, never answered for what was dropped.
 * Returns false when the packet has to wait (rate, in-flight or server-wide limit).
 */
export function handlePublish(ctx: ServerContext, connection: Connection, packet: IPublishPacket): boolean {
  const state = connection.client!;
  const qos = packet.qos;
  const packetId = packet.messageId ?? 0;

  let topic = packet.topic;
  if (connection.protocolVersion === 5) {
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      // MQTT 5 3.3.2.3.4: an alias outside 1..Topic Alias Maximum, or an unknown one with no topic, ends the connection.
      if (alias === 0 || alias > ctx.limits.maxTopicAliases) {
        connection.end(Reason.topicAliasInvalid, `topic alias ${alias} is outside 1..${ctx.limits.maxTopicAliases}`);
        return true;
      }
      const aliases = (connection.topicAliases ??= new Map());
      if (topic === '') {
        const known = aliases.get(alias);
        if (known === undefined) {
          connection.end(Reason.protocolError, `topic alias ${alias} was never set on this connection`);
          return true;
        }
        topic = known;
      } else aliases.set(alias, topic);
    }
  }

  if (qos === 2 && state.awaitingRelease?.has(packetId)) {
    // MQTT 4.3.3: a retransmission of a QoS 2 message already taken is not processed again; once
    // stored, it is answered with PUBREC alone (until then the first copy's PUBREC answers both).
    if (state.awaitingRelease.get(packetId) === true) connection.write(encodeAck('pubrec', packetId));
    return true;
  }
  if (!takeRate(ctx, connection)) return false;
  // Also how Tether's MQTT 5 Receive Maximum is kept: a device over it is simply not read further.
  if (connection.inflight >= ctx.limits.maxInflight) {
    connection.hold(Hold.inflight);
    return false;
  }
  if (!ctx.pressure.enter(connection)) return false;

  connection.inflight++;
  if (qos === 2) (state.awaitingRelease ??= new Map()).set(packetId, false);
  const properties = connection.protocolVersion === 5 ? replyProperties(packet) : undefined;
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  const receivedAt = ctx.hooks.acknowledged && qos > 0 ? performance.now() : 0;
  // Never rejects: failures come back as outcomes (requests.ts).
  void ctx.requests(connection.session, topic, payload, qos).then((outcome) => {
    connection.inflight--;
    ctx.pressure.leave();
    connection.release(Hold.inflight);
    ctx.hooks.request?.(outcome.extension ?? '-', outcome.error?.code ?? (outcome.acknowledge ? 'ok' : 'INTERNAL'));
    if (finish(ctx, connection, topic, qos, packetId, properties, outcome) && receivedAt > 0) ctx.hooks.acknowledged?.((performance.now() - receivedAt) / 1000);
  });
  return true;
}

/** Sends the reply and the acknowledgement; true when an acknowledgement was queued. */
function finish(ctx: ServerContext, connection: Connection, topic: string, qos: QoS, packetId: number, properties: ReplyProperties | undefined, outcome: RequestOutcome): boolean {
  if (outcome.reply) deliverReply(ctx, connection, outcome.reply.topic, outcome.reply.payload, qos, properties);
  if (outcome.refused && outcome.error) ctx.refusals.note(connection, outcome.error, topic);
  if (qos === 0) return false;
  const v5 = connection.protocolVersion === 5;
  if (!outcome.acknowledge && !v5 && (outcome.error?.code === 'STORAGE_FULL' || outcome.error?.code === 'UNAVAILABLE')) {
    // 3.1.1 has no PUBACK that says "not stored", and a full disk or a database restart lasts:
    // closing would make every device reconnect and resend in a loop while it does (a connect storm
    // onto a node that cannot serve it). The connection stays, the PUBACK is withheld (the write is
    // not stored, so not acknowledged) and the request's `/error` says why; the device sends it
    // again (with a new request, or on its next connection) once the storage is back.
    if (qos === 2) connection.client?.awaitingRelease?.delete(packetId);
    return false;
  }
  if (!outcome.acknowledge && !v5) {
    // 3.1.1 has no way to say "not stored" in a PUBACK: the connection closes unacknowledged and the
    // device sends the message again on its next connection.
    // While the database is away this happens to every 3.1.1 device that writes: one line per interval.
    const heldBack = ctx.unacknowledgedLog.pass();
    if (heldBack !== undefined) ctx.logger.warn({ sessionId: connection.session.id, clientId: connection.clientId, heldBack }, 'closing connection: a QoS 1/2 request failed inside Tether and was not acknowledged (one line per 10 s; heldBack: connections closed since the last line)');
    connection.end(Reason.unspecified, 'request failed inside Tether');
    return false;
  }
  const reason = v5 ? outcome.reason : Reason.success;
  if (qos === 1) {
    connection.write(encodeAck('puback', packetId, reason));
    return true;
  }
  const waiting = connection.client?.awaitingRelease;
  // MQTT 5 4.3.3: a PUBREC with a failure reason ends the exchange; no PUBREL follows.
  if (reason >= 0x80) waiting?.delete(packetId);
  else waiting?.set(packetId, true);
  connection.write(encodeAck('pubrec', packetId, reason));
  return true;
}

/**
 * A 1/KP reply goes to the requester without a subscription (Kaa clients rarely subscribe), and to every
 * session subscribed to it, each exactly once: the requester through its subscription when it has a
 * matching one, directly otherwise. Persistent sessions whose device is away keep QoS 1/2 replies.
 */
function deliverReply(ctx: ServerContext, requester: Connection, topic: string, payload: Buffer, qos: QoS, properties: ReplyProperties | undefined): void {
  let requesterServed = false;
  const subscribed = ctx.subscriptions.inScope(responseScope(topic));
  if (subscribed) {
    for (const state of subscribed) {
      let granted = -1;
      for (const sub of state.subscriptions ?? []) {
        if (sub.qos > granted && topicMatchesFilter(sub.filter, topic)) granted = sub.qos;
      }
      if (granted < 0) continue;
      if (state === requester.client) requesterServed = true;
      state.deliver(topic, payload, Math.min(qos, granted) as QoS, properties);
    }
  }
  if (!requesterServed && requester.client) requester.client.deliver(topic, payload, qos, properties);
}

/** MQTT 5: the request's Correlation Data and User Properties travel back on its reply (4.10). */
function replyProperties(packet: IPublishPacket): ReplyProperties | undefined {
  const props = packet.properties;
  if (!props || (props.correlationData === undefined && props.userProperties === undefined)) return undefined;
  return {
    ...(props.correlationData !== undefined && { correlationData: props.correlationData }),
    ...(props.userProperties !== undefined && { userProperties: props.userProperties }),
  };
}

const RATE_RECHECK_MS = 50;

/** limits.publishRate: a device over it is not read until its bucket has refilled (TCP pushes back). */
function takeRate(ctx: ServerContext, connection: Connection): boolean {
  const bucket = (connection.rateBucket ??= new TokenBucket(ctx.clock, ctx.limits.publishRate, ctx.limits.publishBurst));
  if (bucket.take()) return true;
  connection.hold(Hold.rate);
  // Looked at again at least every RATE_RECHECK_MS: the clock may be a test's, moved by hand.
  const timer = setTimeout(() => connection.release(Hold.rate), Math.min(bucket.msUntilToken(), RATE_RECHECK_MS));
  timer.unref();
  return false;
}
