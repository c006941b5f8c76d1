import type {
  FormDefinition,
  MeInfo,
  ServerInfo,
  SessionInfo,
  WidgetConfig,
} from '../../server/model.js';

export type { FormDefinition, FormField, ServerInfo, SessionInfo, WidgetColumn, WidgetConfig, DashboardEvent } from '../../server/model.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Metadata = Record<string, JsonValue>;

export interface Endpoint {
  endpointId: string;
  applicationName: string;
  appVersion: { name: string; registeredDate: string | null };
  createdDate: string;
  metadataUpdatedDate: string | null;
  connected: boolean;
  connectivityTs: string | null;
  lastConnectedDate: string | null;
  lastDisconnectedDate: string | null;
  lastSeen: string | null;
  metadata?: Metadata;
  /** With include=software: the software version the device reported on cmx_ota; null before its first report. */
  softwareVersion?: string | null;
}

export interface Page<T> {
  totalElements: number;
  content: T[];
}

export type TokenStatus = 'INACTIVE' | 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

export interface Token {
  tokenId: string;
  endpointId: string;
  status: TokenStatus;
  createdDate: string;
  statusUpdatedDate: string;
  hint: string;
}

export interface Application {
  name: string;
  description: string;
  createdDate: string;
}

export interface AppVersion {
  name: string;
  applicationName: string;
  registeredDate: string;
  /** Extension instances enabled for the version (`cmx_ota`: software updates). */
  extensions?: string[];
}

/** An error the server explained (`{status, code, message}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Called when any request finds the session gone (expired, signed out in another tab). */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** A success answer with what some callers need besides the body: the status (200 or 202) and the ETag. */
export interface Answer<T> {
  status: number;
  body: T;
  etag: string | null;
}

export async function send<T>(method: string, url: string, options: { body?: unknown; contentType?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const { body, contentType = 'application/json' } = options;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': contentType }), ...options.headers },
      ...(body === undefined ? {} : { body: contentType === 'application/json' ? JSON.stringify(body) : (body as BodyInit) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check that tether is running, then try again.');
  }
  const etag = response.headers.get('etag');
  if (response.status === 204) return { status: 204, body: undefined as T, etag };
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as { code?: string; message?: string };
    const error = new ApiError(response.status, problem.code ?? `HTTP_${response.status}`, problem.message ?? `The server answered ${response.status} ${response.statusText}.`);
    if (response.status === 401 && !url.endsWith('/sign-in')) for (const listener of signedOutListeners) listener();
    throw error;
  }
  return { status: response.status, body: parsed as T, etag };
}

export async function request<T>(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  return (await send<T>(method, url, { body, contentType })).body;
}

const enc = encodeURIComponent;

export interface EndpointListParams {
  applicationName: string;
  applicationVersionName?: string;
  offset: number;
  limit: number;
  sort?: string;
  search?: string;
  searchKeys?: string[];
  connected?: boolean;
  /** Metadata filters: `<key>~<text>`, `<key>=<value>`, `<key>` (see the endpoint list API). */
  filter?: string[];
}

export const api = {
  signIn: (username: string, password: string) => request<SessionInfo>('POST', '/dashboard/api/sign-in', { username, password }),
  signOut: () => request<void>('POST', '/dashboard/api/sign-out'),
  me: () => request<MeInfo>('GET', '/dashboard/api/me'),
  info: () => request<ServerInfo>('GET', '/dashboard/api/info'),

  widget: (app: string) => request<WidgetConfig>('GET', `/dashboard/api/applications/${enc(app)}/widget`),
  saveWidget: (app: string, config: WidgetConfig) => request<WidgetConfig>('PUT', `/dashboard/api/applications/${enc(app)}/widget`, config),
  form: (app: string) => request<FormDefinition>('GET', `/dashboard/api/applications/${enc(app)}/form`),
  saveForm: (app: string, form: FormDefinition) => request<FormDefinition>('PUT', `/dashboard/api/applications/${enc(app)}/form`, form),
  metadataKeys: (app: string) => request<{ keys: string[] }>('GET', `/dashboard/api/applications/${enc(app)}/metadata-keys`),

  applications: () => request<Application[]>('GET', '/api/v1/applications'),
  versions: (app: string) => request<AppVersion[]>('GET', `/api/v1/applications/${enc(app)}/versions`),

  endpoints: (p: EndpointListParams) => {
    // The software version costs the server one read per page: always asked for, shown where cmx_ota is enabled.
    const q = new URLSearchParams({ applicationName: p.applicationName, include: 'metadata,software', offset: String(p.offset), limit: String(p.limit) });
    if (p.applicationVersionName) q.set('applicationVersionName', p.applicationVersionName);
    if (p.sort) q.set('sort', p.sort);
    if (p.search) q.set('search', p.search);
    if (p.search && p.searchKeys && p.searchKeys.length > 0) q.set('searchKeys', p.searchKeys.join(','));
    if (p.connected !== undefined) q.set('connected', String(p.connected));
    for (const f of p.filter ?? []) q.append('filter', f);
    return request<Page<Endpoint>>('GET', `/epr/api/v1/endpoints?${q.toString()}`);
  },
  endpoint: (id: string) => request<Endpoint>('GET', `/epr/api/v1/endpoints/${enc(id)}?include=metadata`),
  createEndpoint: (input: { appVersion: { name: string }; metadata: Metadata; endpointToken?: string }) =>
    request<{ endpointId: string; token: string; status?: string }>('POST', '/epr/api/v1/endpoints', input),
  deleteEndpoint: (id: string) => request<void>('DELETE', `/epr/api/v1/endpoints/${enc(id)}`),
  putMetadataKey: (id: string, key: string, value: JsonValue) =>
    request<unknown>('PUT', `/epr/api/v1/endpoints/${enc(id)}/metadata/${enc(key)}`, value),
  deleteMetadataKey: (id: string, key: string) => request<void>('DELETE', `/epr/api/v1/endpoints/${enc(id)}/metadata/${enc(key)}`),

  tokens: (id: string) => request<Token[]>('GET', `/cm/api/v1/endpoints/${enc(id)}/tokens`),
  issueToken: (id: string, token?: string) =>
    request<{ token: string; tokenId?: string }>('POST', `/cm/api/v1/endpoints/${enc(id)}/tokens`, token ? { token } : {}),
  changeToken: (id: string, tokenId: string, action: 'suspend' | 'reactivate' | 'revoke') =>
    request<Token>('POST', `/cm/api/v1/endpoints/${enc(id)}/tokens/${enc(tokenId)}/${action}`),
};
