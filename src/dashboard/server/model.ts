/**
 * The documents and messages the dashboard's server side and its SPA exchange. Types only, so the
 * SPA (bundled by Vite) imports them without pulling server code into the browser.
 */

/** One metadata column of the Endpoint List widget: `key` is the metadata key, `header` its title. */
export interface WidgetColumn {
  key: string;
  header: string;
  /** What `key` names: a metadata key (the default) or a time series whose latest value is shown. */
  source?: 'metadata' | 'time-series';
}

/** Endpoint List widget settings, shared by every operator of an application. */
export interface WidgetConfig {
  columns: WidgetColumn[];
  pageSize: number;
}

export type FormFieldType = 'string' | 'number' | 'boolean';

/** One custom metadata field of the endpoint creation form. */
export interface FormField {
  key: string;
  label: string;
  type: FormFieldType;
  required: boolean;
}

export interface FormDefinition {
  fields: FormField[];
}

/** Where devices connect: the dashboard prints it in the command lines it shows. */
export interface ServerInfo {
  mqttHost: string;
  mqttPort: number;
}

export interface SessionInfo {
  username: string;
}

/** GET /dashboard/api/me answers 200 either way, so a signed-out first visit logs no failed request. */
export type MeInfo = { signedIn: true; username: string; role: 'admin' | 'operator' | 'viewer' } | { signedIn: false; hint: string };

/** What the live stream sends: bus events for one application, without secrets. */
export type DashboardEvent =
  | { type: 'endpoint.created'; endpointId: string; at: string }
  | { type: 'endpoint.deleted'; endpointId: string; at: string }
  | { type: 'metadata.updated'; endpointId: string; at: string; metadata: Record<string, unknown> }
  | { type: 'connectivity.changed'; endpointId: string; at: string; connected: boolean }
  | { type: 'token.status-changed'; endpointId: string; at: string; tokenId: string; status: string }
  /** New data points (docs/time-series.md): the newest point per series, at most every 250 ms per endpoint. */
  | { type: 'time-series.appended'; endpointId: string; at: string; latest: Record<string, { timestamp: string; values: Record<string, number | boolean | string> }> }
  /** The device said what it made of a configuration (7/CMP applied): 2xx applied, else failed. `name` is "default" for the default one. */
  | { type: 'configuration.confirmed'; endpointId: string; at: string; name: string; configId: string; statusCode: number }
  /** A command got its result (EXECUTED) or ran out of time (EXPIRED); `commandId` as the CEX REST answers it. */
  | { type: 'command.finished'; endpointId: string; at: string; commandId: string; commandType: string; status: 'EXECUTED' | 'EXPIRED' }
  /** The device reported on cmx_ota the software version it runs (2xx) or a failed update of `version` (docs/software.md). */
  | { type: 'software.reported'; endpointId: string; at: string; version: string; statusCode: number; reasonPhrase: string | null };

/** Map tiles of the Endpoint Location map (`dashboard.map`); an empty tileUrl draws no tiles. */
export interface MapSettings {
  tileUrl: string;
  attribution: string;
}
