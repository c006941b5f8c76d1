import { useEffect, useRef } from 'react';
import type { DashboardEvent } from './api.js';

/**
 * Subscribes to the server's Server-Sent Events for one application. `onReconnect` runs when the
 * stream comes back after a break, so the caller can reload what it may have missed.
 */
export function useLiveEvents(applicationName: string | undefined, onEvent: (event: DashboardEvent) => void, onReconnect: () => void): void {
  const handlers = useRef({ onEvent, onReconnect });
  handlers.current = { onEvent, onReconnect };

  useEffect(() => {
    if (!applicationName) return;
    const source = new EventSource(`/dashboard/api/events?applicationName=${encodeURIComponent(applicationName)}`);
    let broken = false;
    source.onmessage = (message) => {
      try {
        handlers.current.onEvent(JSON.parse(message.data as string) as DashboardEvent);
      } catch {
        // A malformed event is skipped; the next reload shows the truth.
      }
    };
    source.onerror = () => {
      broken = true;
    };
    source.onopen = () => {
      if (broken) handlers.current.onReconnect();
      broken = false;
    };
    return () => source.close();
  }, [applicationName]);
}
