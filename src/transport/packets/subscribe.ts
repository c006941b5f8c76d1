import type { ISubackPacket, ISubscribePacket } from 'mqtt-packet';
import { errors } from '../../core/errors.js';
import type { TetherError } from '../../core/errors.js';
import { KP1_PREFIX } from '../../protocol/index.js';
import type { QoS } from '../client-state.js';
import { Hold } from '../connection.js';
import type { Connection } from '../connection.js';
import type { ServerContext } from '../context.js';
import { topicLimitProblem } from '../limits.js';
import { Reason } from '../reason-codes.js';
import { isAllowedSubscription, responseScope } from '../topic-filter.js';

/** Subscriptions are decided one packet at a time: later packets wait for this SUBACK. */
const SUBSCRIBING = Hold.connecting;

/**
 * SUBSCRIBE: a device may subscribe only below `kp1/<appVersion>/<extension>/<endpointToken>/` where
 * the version exists, the extension is enabled for it and the token is usable in its application:
 * responses carry endpoint data, and holding the token is what entitles a client to them. Anything
 * else is refused in the SUBACK (0x80; MQTT 5: 0x87 or 0x8F) and the connection stays up. The reason
 * goes to the log (throttled), not to the device.
 */
export function handleSubscribe(ctx: ServerContext, connection: Connection, packet: ISubscribePacket): boolean {
  // [MQTT-3.8.3-3]: at least one filter. (An empty SUBACK cannot even be written.)
  if (packet.subscriptions.length === 0) {
    connection.end(Reason.protocolError, 'SUBSCRIBE names no topic filter');
    return true;
  }
  const state = connection.client!;
  connection.hold(SUBSCRIBING);
  const decisions = packet.subscriptions.map(async ({ topic: filter, qos }): Promise<number> => {
    const problem = topicLimitProblem(filter, ctx.limits) ?? (isAllowedSubscription(filter) ? undefined : errors.subscriptionDenied(filter));
    if (problem) return refuse(ctx, connection, problem, filter, Reason.topicFilterInvalid);
    const [appVersionName = '', extensionInstance = '', token = ''] = filter.slice(KP1_PREFIX.length).split('/', 3);
    try {
      // Also marks an INACTIVE token ACTIVE: subscribing to its responses is using it.
      const record = await ctx.entitlement(connection.session, appVersionName, extensionInstance, token);
      if (connection.ended) return Reason.unspecified;
      const granted = Math.min(qos, 2) as QoS;
      ctx.subscriptions.add(state, { filter, qos: granted, scope: responseScope(filter), tokenHash: record.tokenHash, endpointId: record.endpointId });
      // The subscription shows the token (Kaa's Node client subscribes and never asks): outstanding
      // commands and configurations follow, after the SUBACK (queued below, written first).
      const { session } = connection;
      setImmediate(() => ctx.channels.open(session, connection, record.endpointId, record.applicationName, appVersionName, token));
      return granted;
    } catch (err) {
      // The device learns only "refused"; the log says why (unknown version, suspended token...).
      const code = (err as { code?: unknown } | null)?.code;
      return refuse(ctx, connection, errors.subscriptionDenied(filter), filter, Reason.notAuthorized, typeof code === 'string' ? code : undefined);
    }
  });
  void Promise.all(decisions).then((granted) => {
    const v5 = connection.protocolVersion === 5;
    // 3.1.1 has a single failure code (0x80); MQTT 5 says why.
    const codes = granted.map((code) => (v5 || code < 0x80 ? code : 0x80));
    const suback: ISubackPacket = { cmd: 'suback', messageId: packet.messageId, granted: codes };
    connection.send(suback);
    connection.release(SUBSCRIBING);
  });
  return true;
}

function refuse(ctx: ServerContext, connection: Connection, err: TetherError, filter: string, reasonCode: number, reason?: string): number {
  ctx.refusals.note(connection, err, filter, 'subscription refused', reason);
  return reasonCode;
}
