import { errors } from '../../core/errors.js';
import type { EventBus, EventHandler, TetherEvent } from '../bus.js';

/**
 * The in-process bus: delivers each event to the subscribers of this process. Handlers run in a
 * microtask, never inside `publish`, so a publisher is never slowed or broken by a subscriber.
 */
export function createMemoryBus(): EventBus {
  const handlers = new Set<EventHandler>();
  let closed = false;

  return {
    kind: 'memory',

    publish(event: TetherEvent): Promise<void> {
      if (closed) return Promise.reject(errors.unavailable());
      // Snapshot: a handler subscribing or unsubscribing during delivery affects the next event only.
      for (const handler of [...handlers]) {
        queueMicrotask(() => {
          if (!handlers.has(handler)) return;
          try {
            handler(event);
          } catch {
            // A throwing handler must not affect the others; it is the subscriber's job to log.
          }
        });
      }
      return Promise.resolve();
    },

    // Every event here is this process's own: `localOnly` changes nothing.
    subscribe(handler: EventHandler): () => void {
      // Wrapped so the same function subscribed twice gets two independent subscriptions.
      const subscription: EventHandler = (event) => handler(event);
      handlers.add(subscription);
      return () => {
        handlers.delete(subscription);
      };
    },

    async close(): Promise<void> {
      closed = true;
      handlers.clear();
    },
  };
}
