// `npx tether` in a clone looks in node_modules/.bin first. Without this link npm installs the
// clone into its cache as a package, which runs `prepare` (a full rebuild, deleting dist/ under a
// running server) on every call. Run by `npm install` after the build.
import { lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binDir = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url));
const link = `${binDir}tether`;
mkdirSync(binDir, { recursive: true });
try {
  lstatSync(link);
  unlinkSync(link);
} catch {
  // not there yet
}
symlinkSync('../../bin/tether.js', link);
