import type { RunningTether } from '../../src/platform/tether.js';
import { httpCall, type Reply } from '../helpers/http.js';

export type { Reply };

/** A fetch against a running Tether: `auth` is a bearer key, a `cookie=` string, or '' for none. */
export function http(running: RunningTether, method: string, path: string, auth: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  return httpCall(running, method, path, { auth, body, contentType });
}

/** Signs in to the dashboard; resolves with the `cookie=` auth string. */
export async function signIn(running: RunningTether, username: string, password: string): Promise<string> {
  const res = await http(running, 'POST', '/dashboard/api/sign-in', '', { username, password });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${res.text}`);
  return `cookie=${String(res.headers.get('set-cookie')).split(';')[0]}`;
}
