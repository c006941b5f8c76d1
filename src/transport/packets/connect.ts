import { randomUUID } from 'node:crypto';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { ConnectRefused } from '../../client-auth/mqtt.js';
import { ClientState } from '../client-state.js';
import { Hold } from '../connection.js';
import type { Connection } from '../connection.js';
import type { ServerContext } from '../context.js';
import { Reason, connackCodeV3 } from '../reason-codes.js';

/** Longest client ID accepted; MQTT requires servers to accept 23 characters, most allow far more. */
const MAX_CLIENT_ID_LENGTH = 256;
/** How long a takeover waits for the old connection's requests before the new one is accepted anyway. */
const TAKEOVER_DRAIN_MS = 5000;

/**
 * CONNECT (MQTT 3.1.1 §3.1, 5.0 §3.1): protocol level, client ID (assigned when empty), keepalive,
 * clean session / session expiry, the device's limits (MQTT 5), client authentication, takeover of
 * a connection with the same client ID, then CONNACK and the retransmission of what a persistent
 * session still owes the device. Packets after CONNECT wait until it is decided.
 */
export function handleConnect(ctx: ServerContext, connection: Connection, packet: IConnectPacket): boolean {
  if (connection.state !== 'awaiting-connect') {
    // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
    connection.end(Reason.protocolError, 'a second CONNECT on one connection is a protocol violation');
    return true;
  }
  const version = packet.protocolVersion ?? 4;
  connection.useProtocolVersion(version === 3 || version === 5 ? version : 4);
  connection.state = 'connecting';
  connection.hold(Hold.connecting);
  connection.keepaliveMs = (packet.keepalive ?? 0) * 1000;

  const clean = packet.clean !== false;
  let clientId = packet.clientId ?? '';
  let assigned = false;
  if (clientId === '') {
    // [MQTT-3.1.3-8] 3.1.1: an empty client ID needs a clean session; 5.0: the server assigns one.
    if (version !== 5 && !clean) return refuse(connection, Reason.clientIdNotValid);
    clientId = `tether-${randomUUID()}`;
    assigned = true;
  }
  if (clientId.length > MAX_CLIENT_ID_LENGTH) return refuse(connection, Reason.clientIdNotValid);
  connection.clientId = clientId;

  let sessionExpiry = 0;
  if (version === 5) {
    const props = packet.properties ?? {};
    if (props.receiveMaximum !== undefined) connection.receiveMaximum = props.receiveMaximum;
    if (props.maximumPacketSize !== undefined) connection.maxOutgoingPacketSize = props.maximumPacketSize;
    sessionExpiry = Math.min(props.sessionExpiryInterval ?? 0, ctx.limits.maxSessionExpirySeconds);
  } else {
    connection.receiveMaximum = ctx.limits.maxInflight;
    // 3.1.1 persistent sessions have no expiry of their own: Tether keeps them for the configured bound.
    if (!clean) sessionExpiry = ctx.limits.maxSessionExpirySeconds;
  }
  connection.sessionExpirySeconds = sessionExpiry;

  if (ctx.closing()) return refuse(connection, Reason.serverUnavailable);
  const authenticated = ctx.clientAuth
    ? ctx.clientAuth.authenticate({ id: connection.session.id, clientId }, packet.username, packet.password, connection.peer)
    : Promise.resolve();
  authenticated.then(
    () => accept(ctx, connection, { clean, assigned, requestedExpiry: packet.properties?.sessionExpiryInterval }),
    (err: unknown) => {
      const code = err instanceof ConnectRefused && err.returnCode === 5 ? Reason.notAuthorized : Reason.serverUnavailable;
      refuse(connection, code);
    },
  );
  return true;
}

async function accept(ctx: ServerContext, connection: Connection, connect: { clean: boolean; assigned: boolean; requestedExpiry: number | undefined }): Promise<void> {
  if (connection.ended) return;
  if (ctx.closing()) {
    refuse(connection, Reason.serverUnavailable);
    return;
  }
  const { clientId } = connection;
  const previous = ctx.live.get(clientId);
  if (previous && previous !== connection) {
    // Takeover [MQTT-3.1.4-2]: the old connection ends; requests it already sent finish first, so the
    // endpoint's connectivity records stay in order (its detach comes after its own attach).
    ctx.live.delete(clientId);
    ctx.logger.debug({ clientId, sessionId: previous.session.id }, 'session taken over by a new connection');
    previous.end(Reason.sessionTakenOver, 'another connection with the same client ID took over this session');
    await withDeadline(previous.session.drain(), TAKEOVER_DRAIN_MS);
    if (connection.ended) return;
  }

  let state = ctx.clients.get(clientId);
  const sessionPresent = !connect.clean && state !== undefined;
  if (state && (connect.clean || !sessionPresent)) {
    ctx.subscriptions.removeAll(state);
    ctx.clients.delete(clientId);
    state = undefined;
  }
  if (!state) {
    state = new ClientState(clientId, ctx.limits.maxQueuedMessages);
    ctx.clients.set(clientId, state);
  }
  connection.client = state;
  ctx.live.set(clientId, connection);
  connection.state = 'connected';

  const connack: IConnackPacket = {
    cmd: 'connack',
    sessionPresent: connection.protocolVersion === 3 ? false : sessionPresent,
    ...(connection.protocolVersion === 5
      ? {
          reasonCode: Reason.success,
          properties: {
            receiveMaximum: Math.min(ctx.limits.maxInflight, 65535),
            maximumPacketSize: ctx.limits.maxPacketSize,
            topicAliasMaximum: ctx.limits.maxTopicAliases,
            retainAvailable: false,
            sharedSubscriptionAvailable: false,
            wildcardSubscriptionAvailable: true,
            subscriptionIdentifiersAvailable: false,
            ...(connect.assigned && { assignedClientIdentifier: clientId }),
            // The device asked for longer than Tether keeps sessions: it is told the real figure.
            ...(connect.requestedExpiry !== undefined && connect.requestedExpiry > connection.sessionExpirySeconds && { sessionExpiryInterval: connection.sessionExpirySeconds }),
          },
        }
      : { returnCode: 0 }),
  };
  connection.send(connack);
  // MQTT 4.4: a resumed session's unacknowledged messages go out again, before anything new.
  state.attach(connection);
  connection.release(Hold.connecting);
  ctx.hooks.sessionStarted?.(clientId);
}

function refuse(connection: Connection, reason: number): true {
  const packet: IConnackPacket =
    connection.protocolVersion === 5 ? { cmd: 'connack', sessionPresent: false, reasonCode: reason } : { cmd: 'connack', sessionPresent: false, returnCode: connackCodeV3(reason) };
  connection.send(packet);
  connection.state = 'ended';
  connection.close();
  return true;
}

function withDeadline(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
