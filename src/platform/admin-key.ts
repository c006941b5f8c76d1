import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../core/errors.js';

const ADMIN_API_KEY_FILE = 'admin-api-key';

export function adminApiKeyPath(dataDir: string): string {
  return path.join(dataDir, ADMIN_API_KEY_FILE);
}

/**
 * The REST API's admin key: the configured one (TETHER_ADMIN_API_KEY, never written to disk), else
 * the one kept in `<dataDir>/admin-api-key`, else a new random key saved there with mode 0600.
 * `generated` is true only on the start that created it, so the CLI shows the key exactly once.
 */
export async function resolveAdminApiKey(dataDir: string, configured?: string): Promise<{ key: string; generated: boolean }> {
  if (configured !== undefined) return { key: configured, generated: false };
  const file = adminApiKeyPath(dataDir);
  const existing = await readKey(file);
  if (existing !== undefined) return { key: existing, generated: false };

  const key = randomBytes(32).toString('base64url');
  try {
    // `wx`: two processes starting on one data dir at once must not each believe their key won.
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const winner = await readKey(file);
      if (winner !== undefined) return { key: winner, generated: false };
    }
    throw errors.dataDirUnusable(path.dirname(file), `cannot write ${ADMIN_API_KEY_FILE} (${describe(err)})`);
  }
  return { key, generated: true };
}

/** The stored key, or undefined when there is none yet. Used by the CLI to talk to a local server. */
export async function readKey(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw errors.dataDirUnusable(path.dirname(file), `cannot read ${path.basename(file)} (${describe(err)})`);
  }
  const key = text.trim();
  if (key === '') {
    throw errors.dataDirUnusable(path.dirname(file), `${path.basename(file)} is empty; delete it to have a new key generated`);
  }
  return key;
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? String(err);
}
