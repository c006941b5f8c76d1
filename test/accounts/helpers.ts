import type { RunningTether } from '../../src/platform/tether.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** A fetch against a running Tether: `auth` is a bearer key, a `cookie=` string, or '' for none. */
export async function http(running: RunningTether, method: string, path: string, auth: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (auth.startsWith('cookie=')) headers.cookie = auth.slice('cookie='.length);
  else if (auth !== '') headers.authorization = `Bearer ${auth}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = contentType;
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`http://127.0.0.1:${running.httpPort}${path}`, { method, headers, ...(payload !== undefined && { body: payload }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Signs in to the dashboard; resolves with the `cookie=` auth string. */
export async function signIn(running: RunningTether, username: string, password: string): Promise<string> {
  const res = await http(running, 'POST', '/dashboard/api/sign-in', '', { username, password });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${res.text}`);
  return `cookie=${String(res.headers.get('set-cookie')).split(';')[0]}`;
}
