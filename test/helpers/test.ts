/**
 * `node:test` with a default deadline per test. Node 20 applies `--test-timeout` to a whole test
 * file, not to each test (measured: a file of two 1.5 s tests fails at --test-timeout=2000, and a
 * test's own `{ timeout }` cannot lift it), so the per-test default lives here: a test that hangs on a
 * missing await fails after 30 s under its own name. A test that needs longer says so with its own
 * `{ timeout }` and a comment why. Hooks keep node's default (no limit; the file's ceiling applies).
 */
import { describe as nodeDescribe, it as nodeIt, test as nodeTest } from 'node:test';

export { after, afterEach, before, beforeEach } from 'node:test';

export const DEFAULT_TEST_TIMEOUT_MS = 30_000;

type TestFunction = typeof nodeTest;

function withDefaultTimeout(original: TestFunction): TestFunction {
  const wrapped = (...args: unknown[]): unknown => {
    const at = args.findIndex((arg) => typeof arg === 'object' && arg !== null);
    if (at >= 0) args[at] = { timeout: DEFAULT_TEST_TIMEOUT_MS, ...(args[at] as object) };
    else {
      const fn = args.findIndex((arg) => typeof arg === 'function');
      args.splice(fn >= 0 ? fn : args.length, 0, { timeout: DEFAULT_TEST_TIMEOUT_MS });
    }
    return (original as (...a: unknown[]) => unknown)(...args);
  };
  return Object.assign(wrapped, original) as unknown as TestFunction;
}

export const test = withDefaultTimeout(nodeTest);
export const it = withDefaultTimeout(nodeIt);
export const describe = nodeDescribe;
