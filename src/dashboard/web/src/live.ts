import { useEffect, useRef } from 'react';
import type { DashboardEvent } from './api.js';

interface Subscriber {
  onEvent: (event: DashboardEvent) => void;
  onReconnect: () => void;
}

interface SharedStream {
  source: EventSource;
  subscribers: Set<Subscriber>;
}

// One stream per application however many parts of the page listen (the endpoint page and its
// telemetry section): the server caps open streams, and browsers cap connections per host.
const streams = new Map<string, SharedStream>();

function subscribe(applicationName: string, subscriber: Subscriber): () => void {
  let stream = streams.get(applicationName);
  if (!stream) {
    const source = new EventSource(`/dashboard/api/events?applicationName=${encodeURIComponent(applicationName)}`);
    const subscribers = new Set<Subscriber>();
    let broken = false;
    source.onmessage = (message) => {
      let event: DashboardEvent;
      try {
        event = JSON.parse(message.data as string) as DashboardEvent;
      } catch {
        return; // A malformed event is skipped; the next reload shows the truth.
      }
      for (const s of subscribers) s.onEvent(event);
    };
    source.onerror = () => {
      broken = true;
    };
    source.onopen = () => {
      if (broken) for (const s of subscribers) s.onReconnect();
      broken = false;
    };
    stream = { source, subscribers };
    streams.set(applicationName, stream);
  }
  const shared = stream;
  shared.subscribers.add(subscriber);
  return () => {
    shared.subscribers.delete(subscriber);
    if (shared.subscribers.size === 0) {
      shared.source.close();
      if (streams.get(applicationName) === shared) streams.delete(applicationName);
    }
  };
}

/**
 * Subscribes to the server's Server-Sent Events for one application. `onReconnect` runs when the
 * stream comes back after a break, so the caller can reload what it may have missed.
 */
export function useLiveEvents(applicationName: string | undefined, onEvent: (event: DashboardEvent) => void, onReconnect: () => void): void {
  const handlers = useRef({ onEvent, onReconnect });
  handlers.current = { onEvent, onReconnect };

  useEffect(() => {
    if (!applicationName) return;
    return subscribe(applicationName, {
      onEvent: (event) => {
        try {
          handlers.current.onEvent(event);
        } catch {
          // One listener's failure must not keep the others from the event.
        }
      },
      onReconnect: () => handlers.current.onReconnect(),
    });
  }, [applicationName]);
}
