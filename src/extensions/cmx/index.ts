import { CONFIG_NAME_PATTERN, DEFAULT_CONFIG_NAME, configSentKey } from '../../core/control.js';
import type { DeviceChannel } from '../../core/device-link.js';
import { errors } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import { compileSchema, jsonPayload, parseRequest } from '../control-payload.js';
import type { Extension, ExtensionContext } from '../extension.js';
import { appliedRequestSchema, configRequestSchema } from './schemas.js';

/** Extension type name; also the default instance name. */
export const CMX = 'cmx';

/** What 7/CMP needs of the configuration service (src/configuration/service.ts). */
export interface ConfigurationSource {
  /** `localAddress`: the server address the device reached, for URLs in what it is sent (software packages). */
  effective(endpointId: string, appVersionName: string, name: string, localAddress?: string): Promise<{ configId: string; config: JsonValue }>;
  noteDispatched(channel: Pick<DeviceChannel, 'endpointId' | 'appVersionName' | 'noteSent'>, name: string, sent: { configId: string; config: JsonValue }): Promise<void>;
  /** `implicit`: the device named `configId` in a config request (7/CMP implicit application), not in an applied report. */
  confirm(endpointId: string, applicationName: string, appVersionName: string, name: string, configId: string, statusCode: number, reasonPhrase: string | null, implicit?: boolean): Promise<void>;
}

export interface CmxOptions {
  configurations: ConfigurationSource;
  /** Extension type name (default `cmx`); `cmx_ota` for software versions (src/software). */
  type?: string;
  /**
   * Answer `{}` when the endpoint has nothing (configId ''), instead of 7/CMP's
   * `{"configId":"","config":null}`: on cmx_ota "no update" must not read as an update to version "".
   */
  emptyWhenNone?: boolean;
  /**
   * Properties of an applied report to drop before the 7/CMP schema check: Kaa's Python client
   * reports its software version on cmx_ota as `{configId, config}`.
   */
  appliedIgnores?: readonly string[];
}

const EXPECTED_CONFIG = 'a 7/CMP configuration request: a JSON object such as {"observe":true} or {"configId":"<id>"}';
const EXPECTED_APPLIED = 'a 7/CMP applied request: a JSON object such as {"configId":"<id>"} or {"configId":"<id>","statusCode":400,"reasonPhrase":"<why>"}';
const validateConfig = compileSchema(configRequestSchema);
const validateApplied = compileSchema(appliedRequestSchema);

/**
 * 7/CMP configuration management over 1/KP (Kaa CMX): `config/json[/<name>]` answers with the
 * endpoint's configuration (or `{}` when the device already has it), `applied/json[/<name>]` takes
 * what the device made of it. Pushes without a request are the configuration service's job.
 */
export function createCmxExtension(deps: CmxOptions): Extension {
  const { configurations } = deps;
  const ignored = deps.appliedIgnores ?? [];

  async function config(name: string, resource: string, payload: Buffer, ctx: ExtensionContext) {
    // A zero-length body reads as {} (nothing to say): lenient, as the Kaa clients' first request may be.
    const request = parseRequest(payload, validateConfig, EXPECTED_CONFIG, {}) as { configId?: string; observe?: boolean };
    // 7/CMP: `observe` true keeps pushes coming for this session, false stops them.
    if (request.observe !== undefined) ctx.channel?.setObserving(ctx.instance, resource, request.observe);
    if (request.configId !== undefined && request.configId !== '') {
      // 7/CMP implicit application: the device names the configuration it runs. Before the
      // lookup: on cmx_ota what the device runs decides what it gets next.
      await configurations.confirm(ctx.endpointId, ctx.appVersion.applicationName, ctx.appVersion.name, name, request.configId, 200, null, true);
    }
    const current = await configurations.effective(ctx.endpointId, ctx.appVersion.name, name, ctx.channel?.localAddress);
    // 7/CMP: the same configuration as the device's: `configId` and `config` both absent.
    if (request.configId !== undefined && request.configId === current.configId) {
      ctx.channel?.noteSent(configSentKey(ctx.instance, name), current.configId);
      return { payload: jsonPayload({}) };
    }
    if (deps.emptyWhenNone && current.configId === '') return { payload: jsonPayload({}) };
    const channel = ctx.channel ?? { endpointId: ctx.endpointId, appVersionName: ctx.appVersion.name, noteSent: () => {} };
    await configurations.noteDispatched(channel, name, current);
    return { payload: jsonPayload({ configId: current.configId, config: current.config }) };
  }

  async function applied(name: string, payload: Buffer, ctx: ExtensionContext) {
    const report = parseRequest(ignored.length > 0 ? without(payload, ignored) : payload, validateApplied, EXPECTED_APPLIED) as { configId: string; statusCode?: number; reasonPhrase?: string };
    // 7/CMP: statusCode defaults to 200; 2xx is applied, anything else a failure.
    await configurations.confirm(ctx.endpointId, ctx.appVersion.applicationName, ctx.appVersion.name, name, report.configId, report.statusCode ?? 200, report.reasonPhrase ?? null);
    // 7/CMP: the response payload is empty.
  }

  return {
    name: deps.type ?? CMX,
    async handle(request, ctx) {
      const path = request.resourcePath;
      if (path === 'config/json' || path.startsWith('config/json/')) {
        const name = nameOf(path, 'config/json');
        return config(name, name === DEFAULT_CONFIG_NAME ? 'config/json' : `config/json/${name}`, request.payload, ctx);
      }
      if (path === 'applied/json' || path.startsWith('applied/json/')) return applied(nameOf(path, 'applied/json'), request.payload, ctx);
      throw errors.unknownResource(ctx.instance, path);
    },
  };
}

/** 7/CMP: `<base>` is the default configuration, `<base>/<name>` a named one (`default` is the default too). */
function nameOf(path: string, base: string): string {
  if (path.length === base.length) return DEFAULT_CONFIG_NAME;
  const name = path.slice(base.length + 1);
  if (name === 'default') return DEFAULT_CONFIG_NAME;
  if (!CONFIG_NAME_PATTERN.test(name)) throw errors.configurationNameInvalid(name);
  return name;
}

/** The payload without the given top-level properties, when it is a JSON object; else as it came (the schema check explains). */
function without(payload: Buffer, keys: readonly string[]): Buffer {
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    return payload;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !keys.some((k) => k in data)) return payload;
  const copy = { ...(data as Record<string, unknown>) };
  for (const key of keys) delete copy[key];
  return jsonPayload(copy);
}
