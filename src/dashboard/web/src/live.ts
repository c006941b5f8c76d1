import { useEffect, useRef } from 'react';
import { api, type DashboardEvent } from './api.js';
import { backoffMs, onRetryNow, setLiveStatus } from './live/status.js';

/**
 * Subscribes to the server's Server-Sent Events for one application. `onReconnect` runs when the
 * stream comes back after a break, so the caller can reload what it may have missed.
 *
 * The browser retries a dropped stream by itself, but gives up for good when an attempt gets an
 * HTTP error (a restarting server behind a proxy answers 502, a full server 429): then this hook
 * opens a new EventSource with a growing delay. Either way the page-wide live status says "down"
 * until a stream is open again.
 */
export function useLiveEvents(applicationName: string | undefined, onEvent: (event: DashboardEvent) => void, onReconnect: () => void): void {
  const handlers = useRef({ onEvent, onReconnect });
  handlers.current = { onEvent, onReconnect };

  useEffect(() => {
    if (!applicationName) return;
    const url = `/dashboard/api/events?applicationName=${encodeURIComponent(applicationName)}`;
    let source: EventSource | undefined;
    let broken = false;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;

    const connect = () => {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      source?.close();
      setLiveStatus({ state: broken ? 'down' : 'connecting' });
      const current = new EventSource(url);
      source = current;
      current.onmessage = (message) => {
        try {
          handlers.current.onEvent(JSON.parse(message.data as string) as DashboardEvent);
        } catch {
          // A malformed event is skipped; the next reload shows the truth.
        }
      };
      current.onerror = () => {
        if (closed || current !== source) return;
        broken = true;
        if (current.readyState === EventSource.CLOSED) {
          // The stream may have been refused because the session ended: any API call that gets a 401
          // sends the page to the sign-in form instead of retrying here forever.
          api.info().catch(() => {});
          const delay = backoffMs(attempt++);
          setLiveStatus({ state: 'down', nextRetryAt: Date.now() + delay });
          retryTimer = setTimeout(connect, delay);
        } else {
          setLiveStatus({ state: 'down' });
        }
      };
      current.onopen = () => {
        if (current !== source) return;
        attempt = 0;
        setLiveStatus({ state: 'live' });
        if (broken) handlers.current.onReconnect();
        broken = false;
      };
    };

    connect();
    const stopRetryNow = onRetryNow(() => {
      if (broken) connect();
    });
    return () => {
      closed = true;
      stopRetryNow();
      clearTimeout(retryTimer);
      source?.close();
      setLiveStatus({ state: 'idle' });
    };
  }, [applicationName]);
}
