import { useEffect, useState } from 'react';
import { retryNow, useLiveStatus } from './status.js';

/**
 * Tells whether what the page shows is live. While the feed is down the page keeps its last data,
 * so the operator must know it may be stale; the feed reconnects by itself, and "Reconnect now"
 * skips the wait.
 */
export function LiveIndicator() {
  const status = useLiveStatus();
  const [, tick] = useState(0);
  useEffect(() => {
    if (status.state !== 'down') return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [status.state]);

  if (status.state === 'idle') return null;
  if (status.state === 'down') {
    const wait = status.nextRetryAt ? Math.max(0, Math.ceil((status.nextRetryAt - Date.now()) / 1000)) : undefined;
    return (
      <div className="live-indicator live-down" role="status" data-testid="live-indicator" data-state="down">
        <span className="live-dot" aria-hidden="true" />
        <span>
          Live updates stopped{wait !== undefined && wait > 0 ? `; retrying in ${wait} s` : '; reconnecting…'} What you see may be out of date.
        </span>
        <button type="button" className="link" onClick={retryNow}>
          Reconnect now
        </button>
      </div>
    );
  }
  return (
    <div className={`live-indicator live-${status.state}`} role="status" data-testid="live-indicator" data-state={status.state} title="Changes appear as they happen">
      <span className="live-dot" aria-hidden="true" />
      <span>{status.state === 'live' ? 'Live' : 'Connecting…'}</span>
    </div>
  );
}
