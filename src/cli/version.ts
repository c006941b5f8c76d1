import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../platform/package-root.js';

/** The package version, from the package.json above the compiled code (dist/ or a private build dir). */
export function tetherVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
