// `npm install` builds Tether (the prepare script). `npx tether` in a clone also runs prepare: npm
// installs the clone into its cache as a package to run its bin, and a full rebuild there would
// delete dist/ under a running server (and take 13 s per call). The clone is built already then.
import { execSync } from 'node:child_process';

if (process.env.npm_command !== 'exec') execSync('npm run build', { stdio: 'inherit' });
