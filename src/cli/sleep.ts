/** Waits `ms`, or less when `signal` aborts (Ctrl-C): resolves either way, never rejects. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * An AbortSignal that aborts on the first of `signals` (Ctrl-C, a supervisor's SIGTERM), so a
 * long-running command stops cleanly; `release()` takes the handlers off again.
 */
export function abortOnSignals(...signals: NodeJS.Signals[]): { signal: AbortSignal; release(): void } {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const name of signals) process.once(name, onSignal);
  return {
    signal: stop.signal,
    release: () => {
      for (const name of signals) process.removeListener(name, onSignal);
    },
  };
}
