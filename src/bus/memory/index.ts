import { errors } from '../../core/errors.js';
import type { EventBus, EventHandler, TetherEvent } from '../bus.js';
import { LocalHandlers } from '../local-handlers.js';

/**
 * The in-process bus: delivers each event to the subscribers of this process (local-handlers.ts:
 * in a microtask, never inside `publish`).
 */
export function createMemoryBus(): EventBus {
  const handlers = new LocalHandlers();
  let closed = false;

  return {
    kind: 'memory',

    publish(event: TetherEvent): Promise<void> {
      if (closed) return Promise.reject(errors.unavailable());
      handlers.deliver(event);
      return Promise.resolve();
    },

    // Every event here is this process's own: `localOnly` changes nothing.
    subscribe(handler: EventHandler): () => void {
      return handlers.add(handler);
    },

    async close(): Promise<void> {
      closed = true;
      handlers.clear();
    },
  };
}
