import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of Tether's package.json: the nearest one above this compiled file (in dist/ or a
 * private build dir of the tests). Benchmarks and tests find sources and assets from it.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tether') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("Tether's package.json not found above the running code");
    dir = parent;
  }
}
