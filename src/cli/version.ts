import { readFileSync } from 'node:fs';

/** The package version, found by walking up from the compiled file (dist/ or a private build dir). */
export function tetherVersion(): string {
  for (let dir = new URL('./', import.meta.url), depth = 0; depth < 6; dir = new URL('../', dir), depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tether' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here; look one level up.
    }
  }
  return 'unknown';
}
