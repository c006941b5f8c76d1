import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Cleanup {
  after(fn: () => unknown): void;
}

/** A fresh directory under the system temp dir; the caller removes it (see `removeDir`). */
export function makeTempDir(prefix = 'tether-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A fresh directory removed when the test (or suite) `t` ends. */
export function tempDir(t: Cleanup, prefix = 'tether-'): string {
  const dir = makeTempDir(prefix);
  t.after(() => removeDir(dir));
  return dir;
}
