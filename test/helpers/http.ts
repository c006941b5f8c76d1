/** HTTP calls in tests: one fetch wrapper with a deadline, so a stuck server fails the call, not the run. */

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers of every shape
  json: any;
}

export interface CallOptions {
  /** A bearer key, a whole Authorization value (`Basic …`), `cookie=<name=value>`, or undefined/'' for none. */
  auth?: string | undefined;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  /** Default application/json when there is a body. */
  contentType?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** `where`: a base URL (`http://127.0.0.1:1234`) or anything with an `httpPort` on loopback. */
export type Server = string | { httpPort: number };

export function baseUrl(where: Server): string {
  return typeof where === 'string' ? where : `http://127.0.0.1:${where.httpPort}`;
}

/** A body sent as JSON even when it is a string (`httpCall` sends a string as it is): for helpers that always send JSON. */
export function asJson(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}

export async function httpCall(where: Server, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth ?? '';
  if (auth.startsWith('cookie=')) headers['cookie'] = auth.slice('cookie='.length);
  // A value with a scheme (`Basic …`, `bearer …`) is sent as it is; a bare key becomes a bearer key.
  else if (auth !== '') headers['authorization'] = /^\S+ /.test(auth) ? auth : `Bearer ${auth}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(baseUrl(where) + path, {
    method,
    headers,
    ...(payload !== undefined && { body: payload }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  // A live-update stream never ends: its status and headers are the answer.
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, text: '', json: undefined };
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Like `httpCall`, but fails unless the answer is 2xx; resolves with the parsed body. */
export async function httpOk<T>(where: Server, method: string, path: string, options: CallOptions = {}): Promise<T> {
  const reply = await httpCall(where, method, path, options);
  if (reply.status < 200 || reply.status > 299) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
  return reply.json as T;
}
