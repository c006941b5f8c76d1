import { useEffect, useRef } from 'react';
import { useLiveEvents } from '../live.js';

/** How often open rollouts are read again: they move on their own (offers, timeouts). */
const POLL_MS = 2000;

/**
 * Keeps rollout figures fresh: `reload` every POLL_MS while `open` (some rollout shown is still
 * running or paused), within half a second of a device's report (at most twice a second), and when
 * the live connection comes back.
 */
export function useRolloutRefresh(app: string, open: boolean, reload: () => Promise<unknown>): void {
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(() => void reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [open, reload]);
  const soon = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(soon.current), []);
  useLiveEvents(
    app,
    (event) => {
      if (event.type !== 'software.reported' || soon.current) return;
      soon.current = setTimeout(() => {
        soon.current = undefined;
        void reload();
      }, 500);
    },
    () => void reload(),
  );
}
