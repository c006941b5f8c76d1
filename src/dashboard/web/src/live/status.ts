import { useSyncExternalStore } from 'react';

/**
 * The state of the live feed (Server-Sent Events) across the page, shown by LiveIndicator.
 * `down` from the first error until a stream opens again; `nextRetryAt` is when the dashboard
 * tries next (set only while it reconnects by itself, after the browser has given up).
 */
export interface LiveStatus {
  state: 'idle' | 'connecting' | 'live' | 'down';
  since: number;
  nextRetryAt?: number;
}

let status: LiveStatus = { state: 'idle', since: Date.now() };
const listeners = new Set<() => void>();
const retryNowListeners = new Set<() => void>();

export function setLiveStatus(next: Omit<LiveStatus, 'since'>): void {
  const since = next.state === status.state ? status.since : Date.now();
  status = { ...next, since };
  for (const listener of listeners) listener();
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => status,
  );
}

/** The indicator's "Reconnect now" asks every open stream to try at once. */
export function onRetryNow(listener: () => void): () => void {
  retryNowListeners.add(listener);
  return () => retryNowListeners.delete(listener);
}

export function retryNow(): void {
  for (const listener of retryNowListeners) listener();
}

/** 1 s, 2 s, 4 s … capped at 15 s: quick after a restart, gentle during a long outage. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.min(attempt, 4));
}
