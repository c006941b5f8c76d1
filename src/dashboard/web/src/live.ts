import { useEffect, useRef } from 'react';
import { api, type DashboardEvent } from './api.js';
import { backoffMs, onRetryNow, setLiveStatus } from './live/status.js';

interface Subscriber {
  onEvent: (event: DashboardEvent) => void;
  onReconnect: () => void;
}

/**
 * One stream per application however many parts of the page listen (the endpoint page and its
 * telemetry section): the server caps open streams, and browsers cap connections per host.
 *
 * The browser retries a dropped stream by itself, but gives up for good when an attempt gets an
 * HTTP error (a restarting server behind a proxy answers 502, a full server 429): then a new
 * EventSource is opened with a growing delay. Either way the page-wide live status says "down"
 * until a stream is open again.
 */
class SharedStream {
  readonly subscribers = new Set<Subscriber>();
  private source: EventSource | undefined;
  private broken = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly stopRetryNow: () => void;

  constructor(private readonly url: string) {
    this.stopRetryNow = onRetryNow(() => {
      if (this.broken) this.connect();
    });
    this.connect();
  }

  private connect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.close();
    setLiveStatus({ state: this.broken ? 'down' : 'connecting' });
    const current = new EventSource(this.url);
    this.source = current;
    current.onmessage = (message) => {
      let event: DashboardEvent;
      try {
        event = JSON.parse(message.data as string) as DashboardEvent;
      } catch {
        return; // A malformed event is skipped; the next reload shows the truth.
      }
      for (const s of this.subscribers) s.onEvent(event);
    };
    current.onerror = () => {
      if (this.closed || current !== this.source) return;
      this.broken = true;
      if (current.readyState === EventSource.CLOSED) {
        // The stream may have been refused because the session ended: any API call that gets a 401
        // sends the page to the sign-in form instead of retrying here forever.
        api.info().catch(() => {});
        const delay = backoffMs(this.attempt++);
        setLiveStatus({ state: 'down', nextRetryAt: Date.now() + delay });
        this.retryTimer = setTimeout(() => this.connect(), delay);
      } else {
        setLiveStatus({ state: 'down' });
      }
    };
    current.onopen = () => {
      if (current !== this.source) return;
      this.attempt = 0;
      setLiveStatus({ state: 'live' });
      if (this.broken) for (const s of this.subscribers) s.onReconnect();
      this.broken = false;
    };
  }

  close(): void {
    this.closed = true;
    this.stopRetryNow();
    clearTimeout(this.retryTimer);
    this.source?.close();
    setLiveStatus({ state: 'idle' });
  }
}

const streams = new Map<string, SharedStream>();

function subscribe(applicationName: string, subscriber: Subscriber): () => void {
  let stream = streams.get(applicationName);
  if (!stream) {
    stream = new SharedStream(`/dashboard/api/events?applicationName=${encodeURIComponent(applicationName)}`);
    streams.set(applicationName, stream);
  }
  const shared = stream;
  shared.subscribers.add(subscriber);
  return () => {
    shared.subscribers.delete(subscriber);
    if (shared.subscribers.size === 0) {
      shared.close();
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
