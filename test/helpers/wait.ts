/**
 * Waiting in tests. Every wait has a deadline and, when it passes, fails with what it waited for,
 * so a hang reads as "timed out after 5000 ms waiting for the second PUBACK" and names its test.
 */

export interface WaitOptions<T> {
  /** Default 5000. Keep it well under the per-test timeout (30 s) so this message wins the race. */
  timeoutMs?: number;
  /** How often `check` runs; default 10 ms. */
  intervalMs?: number;
  /** Accepts the value `check` returned; without it, any truthy value is accepted. */
  until?: (value: T) => boolean;
}

/**
 * Runs `check` until it yields an accepted value and resolves with that value. A `check` that
 * throws counts as "not yet"; its last error (or the last value seen) is part of the deadline's message.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: number | WaitOptions<T> = {}): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 10, until } = typeof options === 'number' ? { timeoutMs: options } : options;
  const accept = until ?? ((value: T) => Boolean(value));
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await check();
      if (accept(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) {
      const seen = last === undefined ? '' : 'error' in last ? `; last error: ${String(last.error)}` : until !== undefined ? `; still ${show(last.value)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Awaits `promise`, failing with `what` if it has not settled within `timeoutMs` (for closes, kicks and replies). */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets queued deliveries (microtasks and the next macrotask) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
