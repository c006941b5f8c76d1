import type { Aedes, Client, PublishPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import { topicMatchesFilter } from './topic-filter.js';

type QoS = 0 | 1 | 2;

/** aedes keeps a client's subscriptions keyed by topic filter; not part of its typings. */
interface ClientSubscriptions {
  subscriptions?: Record<string, unknown>;
}

/**
 * Publishes 1/KP responses. Official Kaa clients expect the response on the requesting connection
 * without subscribing, and any subscriber of the response topic receives it through the broker.
 * Each gets exactly one copy: the requester directly only if none of its subscriptions match.
 */
export function createResponder(broker: Aedes, logger: Logger, mayHaveSubscribers: (topic: string) => boolean) {
  const onError = (err?: Error) => {
    if (err) logger.debug({ err: err.message }, 'response not delivered');
  };

  return function respond(requester: Client, topic: string, payload: Buffer, qos: QoS): void {
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, retain: false, dup: false };
    if (!mayHaveSubscribers(topic)) {
      // The common case (Kaa clients rarely subscribe): nobody but the requester can receive the reply,
      // so it skips the broker's publish path; client.publish still tracks QoS 1/2 delivery.
      if (!requester.closed) requester.publish(packet, onError);
      return;
    }
    if (!requester.closed && !isSubscribed(requester, topic)) requester.publish(packet, onError);
    broker.publish(packet, onError);
  };
}

function isSubscribed(client: Client, topic: string): boolean {
  const subscriptions = (client as Client & ClientSubscriptions).subscriptions;
  if (!subscriptions) return false;
  for (const filter in subscriptions) {
    if (topicMatchesFilter(filter, topic)) return true;
  }
  return false;
}

export type Responder = ReturnType<typeof createResponder>;
