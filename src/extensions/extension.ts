import type { Logger } from '../core/log.js';
import type { DeviceChannel } from '../core/device-link.js';
import type { AppVersion, TokenRecord } from '../core/types.js';

/** One 1/KP request addressed to an extension instance, with the endpoint already identified. */
export interface KpRequest {
  /** Extension-specific resource path, e.g. `update/keys`. */
  resourcePath: string;
  payload: Buffer;
  /** Absent when the topic has none: the transport then sends no success response (1/KP). */
  requestId: number | undefined;
}

/** Who is asking: resolved by the transport before the extension runs (endpoint-aware extensions). */
export interface ExtensionContext {
  appVersion: AppVersion;
  /** The extension instance name from the topic, e.g. `epmx`. */
  instance: string;
  endpointId: string;
  token: TokenRecord;
  sessionId: string;
  logger: Logger;
  /** The session's standing for the endpoint (observe flags, what it was sent); absent without a front door that pushes. */
  channel?: DeviceChannel;
}

/** A successful response. A zero-length payload is sent when `payload` is absent. */
export interface KpResponse {
  payload?: Buffer;
}

/**
 * An extension type (e.g. `epmx`). App versions enable *instances* by name; an instance maps to a
 * type (by default the instance name is the type name). Handlers reject with TetherErrors
 * (unknown resource, malformed payload, access denied); the transport turns them into `/error` replies.
 */
export interface Extension {
  readonly name: string;
  handle(request: KpRequest, ctx: ExtensionContext): Promise<KpResponse | void>;
}

/** Finds the extension type behind an instance name. */
export interface ExtensionSet {
  resolve(instance: string): Extension | undefined;
}

/**
 * Registers extensions by type. `instances` maps extra instance names to types (`{ "epmx-2": "epmx" }`);
 * an instance name that equals a type name needs no entry.
 */
export function createExtensionSet(extensions: readonly Extension[], instances: Record<string, string> = {}): ExtensionSet {
  const byType = new Map<string, Extension>();
  for (const ext of extensions) {
    if (byType.has(ext.name)) throw new Error(`Extension type ${JSON.stringify(ext.name)} is registered twice`);
    byType.set(ext.name, ext);
  }
  const byInstance = new Map(byType);
  for (const [instance, type] of Object.entries(instances)) {
    const ext = byType.get(type);
    if (!ext) throw new Error(`Extension instance ${JSON.stringify(instance)} refers to unknown type ${JSON.stringify(type)}`);
    byInstance.set(instance, ext);
  }
  return { resolve: (instance) => byInstance.get(instance) };
}
