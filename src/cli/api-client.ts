import { dataDirFor } from '../config/settings.js';
import { type TetherError, errors, revive } from '../core/errors.js';
import { adminApiKeyPath, readKey } from '../platform/admin-key.js';
import type { Io } from './io.js';
import { mqttInsteadOfHttp } from './wrong-port.js';

/** Flags every REST-backed command accepts. */
export const API_FLAGS = {
  api: { type: 'string' },
  'api-key': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const API_FLAGS_HELP = `Connection options:
  --api <url>        Tether HTTP address (default: TETHER_API_URL, else http://<TETHER_HOST or
                     localhost>:<TETHER_HTTP_PORT or 8080>, the address \`npx tether start\` uses)
  --api-key <key>    API key (default: TETHER_API_KEY, TETHER_ADMIN_API_KEY, else the admin key a
                     local server keeps in <data-dir>/admin-api-key); a named key works within its role
  --data-dir <dir>   where the local server keeps its data (default: TETHER_DATA_DIR, else ./data)
  --json             print the API's JSON response instead of text`;

export interface ApiClient {
  baseUrl: string;
  /** `headers`: extra request headers, e.g. If-Match. */
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', pathAndQuery: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The successful response itself (its body unread, e.g. to stream an export); errors as in request. */
  raw(method: 'GET' | 'POST', pathAndQuery: string, body?: { text: string; contentType: string }): Promise<Response>;
  /** A streamed request body (a file upload), never held in memory whole; the JSON answer as in request. */
  stream<T>(method: 'PUT' | 'POST', pathAndQuery: string, body: AsyncIterable<Uint8Array>, headers: Record<string, string>): Promise<T>;
}

interface ApiFlagValues {
  api?: string | undefined;
  'api-key'?: string | undefined;
  'data-dir'?: string | undefined;
}

export async function createApiClient(flags: ApiFlagValues, io: Io): Promise<ApiClient> {
  const baseUrl = normalizeBaseUrl(flags.api ?? nonEmpty(io.env['TETHER_API_URL']) ?? defaultApiUrl(io.env));
  const apiKey = flags['api-key'] ?? nonEmpty(io.env['TETHER_API_KEY']) ?? nonEmpty(io.env['TETHER_ADMIN_API_KEY']) ?? (await localKey(flags, io));
  return {
    baseUrl,
    request: (method, pathAndQuery, body, headers) => call(baseUrl, apiKey, method, pathAndQuery, body, headers),
    raw: (method, pathAndQuery, body) => send(baseUrl, apiKey, method, pathAndQuery, body),
    stream: (method, pathAndQuery, body, headers) => upload(baseUrl, apiKey, method, pathAndQuery, body, headers),
  };
}

/** Where `npx tether start` listens with the same environment: TETHER_HOST and TETHER_HTTP_PORT. */
function defaultApiUrl(env: NodeJS.ProcessEnv): string {
  const bound = nonEmpty(env['TETHER_HOST']);
  // A wildcard bind address is reachable as localhost; an IPv6 literal needs brackets.
  const host = bound === undefined || bound === '0.0.0.0' || bound === '::' || bound === '[::]' ? 'localhost' : bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
  const port = nonEmpty(env['TETHER_HTTP_PORT']) ?? '8080';
  return `http://${host}:${port}`;
}

async function send(baseUrl: string, apiKey: string, method: string, pathAndQuery: string, body?: { text: string; contentType: string }): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${pathAndQuery}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body !== undefined ? { 'content-type': body.contentType } : {}) },
      ...(body !== undefined ? { body: body.text } : {}),
    });
  } catch (err) {
    throw errors.apiUnreachable(baseUrl, await networkProblem(baseUrl, err));
  }
  if (!response.ok) {
    const text = await response.text();
    const json = parseJson(text);
    throw problemOf(response.status, json, '');
  }
  return response;
}

async function upload<T>(baseUrl: string, apiKey: string, method: string, pathAndQuery: string, body: AsyncIterable<Uint8Array>, headers: Record<string, string>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${pathAndQuery}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json', ...headers },
      body: ReadableStream.from(body),
      // Node's fetch sends a stream only half-duplex (the answer after the whole body).
      duplex: 'half',
    } as RequestInit);
  } catch (err) {
    throw errors.apiUnreachable(baseUrl, await networkProblem(baseUrl, err));
  }
  const text = await response.text();
  const json = parseJson(text);
  if (!response.ok) throw problemOf(response.status, json, text.split('\n')[0]!.slice(0, 200));
  return json as T;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw errors.configInvalid(`--api "${raw}"`, 'use an http(s) URL such as http://localhost:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw errors.configInvalid(`--api "${raw}"`, 'use an http(s) URL such as http://localhost:8080');
  }
  return url.href.replace(/\/+$/, '');
}

async function localKey(flags: ApiFlagValues, io: Io): Promise<string> {
  const dataDir = dataDirFor(flags['data-dir'], io.env, io.cwd);
  const file = adminApiKeyPath(dataDir);
  const key = await readKey(file);
  if (key === undefined) throw errors.apiKeyMissing(file);
  return key;
}

async function call<T>(baseUrl: string, apiKey: string, method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const url = `${baseUrl}${pathAndQuery}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw errors.apiUnreachable(baseUrl, await networkProblem(baseUrl, err));
  }
  const text = await response.text();
  const json = parseJson(text);
  if (!response.ok) {
    // The API's problem body: {status, code, message}, built from the same error catalog.
    throw problemOf(response.status, json, text.split('\n')[0]!.slice(0, 200));
  }
  return json as T;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's catalog error as it was; an unknown code (a newer server) keeps its message. */
function problemOf(status: number, json: unknown, snippet: string): TetherError {
  if (!isProblem(json)) return errors.apiAnswered(status, snippet);
  return revive(json) ?? errors.apiAnswered(status, `${json.code}: ${json.message.replace(/\.$/, '')}`);
}

function isProblem(value: unknown): value is { status: number; code: string; message: string } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['status'] === 'number' && typeof v['code'] === 'string' && typeof v['message'] === 'string';
}

async function networkProblem(baseUrl: string, err: unknown): Promise<string> {
  // fetch reports network failures as TypeError('fetch failed') with the socket error as cause.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timed out';
  // A hang-up or garbage instead of HTTP (UND_ERR_SOCKET, HPE_…): perhaps this is the MQTT port.
  const named = await mqttInsteadOfHttp(baseUrl);
  if (named !== undefined) return named;
  return code ?? cause?.message ?? (err as Error).message;
}
