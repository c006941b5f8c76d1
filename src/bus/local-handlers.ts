import type { EventHandler, TetherEvent } from './bus.js';

interface Subscription {
  handler: EventHandler;
  /** Skipped for events from other nodes. */
  localOnly: boolean;
  active: boolean;
}

/**
 * The subscribers of one bus in this process, and delivery to them: all of them in ONE microtask
 * per event, never inside `publish` (a publisher is never slowed or broken by a subscriber). A
 * microtask and a closure per subscriber and event, as before, cost more than the handlers
 * themselves: most of the dozens of subscribers look at the event type and return.
 */
export class LocalHandlers {
  /** Copied on change, not per event: a handler subscribing or unsubscribing during delivery affects the next event only. */
  private list: readonly Subscription[] = [];

  add(handler: EventHandler, localOnly = false): () => void {
    // Its own record: the same function subscribed twice gets two independent subscriptions.
    const subscription: Subscription = { handler, localOnly, active: true };
    this.list = [...this.list, subscription];
    return () => {
      if (!subscription.active) return;
      subscription.active = false;
      this.list = this.list.filter((s) => s !== subscription);
    };
  }

  deliver(event: TetherEvent, remote = false): void {
    const list = this.list;
    if (list.length === 0) return;
    queueMicrotask(() => {
      for (const subscription of list) {
        // Unsubscribed since the event was published: not told.
        if (!subscription.active || (remote && subscription.localOnly)) continue;
        try {
          subscription.handler(event);
        } catch {
          // A throwing handler must not affect the others; it is the subscriber's job to log.
        }
      }
    });
  }

  clear(): void {
    for (const subscription of this.list) subscription.active = false;
    this.list = [];
  }
}
