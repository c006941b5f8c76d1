import { errors } from '../../core/errors.js';
import type { Registry } from '../../core/services.js';
import type { Metadata, MetadataChange } from '../../core/types.js';
import type { Extension, ExtensionContext, KpRequest, KpResponse } from '../extension.js';
import { parseDeleteRequest, parseGetRequest, parseUpdateRequest } from './payload.js';

/** Extension type name; also the default instance name enabled for app versions. */
export const EPMX = 'epmx';

/**
 * 10/EPMP endpoint metadata over 1/KP. Device key access rules (hidden, read-only) are enforced by
 * the registry for the `device` actor; this module only speaks the protocol.
 */
export function createEpmxExtension(deps: { registry: Registry }): Extension {
  const { registry } = deps;
  /**
   * Per endpoint, the latest accepted write. Writes are handed to the registry as they arrive (it
   * applies them in order and storage commits them in groups); a read waits for the writes accepted
   * before it, so a device reads its own writes even when it pipelines requests.
   */
  const lastWrite = new Map<string, Promise<void>>();

  function write(endpointId: string, change: MetadataChange): Promise<unknown> {
    const written = registry.changeMetadata(endpointId, change, 'device');
    const forget = () => {
      if (lastWrite.get(endpointId) === settled) lastWrite.delete(endpointId);
    };
    const settled: Promise<void> = written.then(forget, forget);
    lastWrite.set(endpointId, settled);
    return written;
  }

  async function getKeys(ctx: ExtensionContext): Promise<KpResponse> {
    const pending = lastWrite.get(ctx.endpointId);
    if (pending) await pending;
    // 10/EPMP: keys the device can neither read nor write are filtered out (registry, `device` actor).
    const keys = await registry.metadataKeys(ctx.endpointId, 'device');
    return json(keys);
  }

  async function get(request: KpRequest, ctx: ExtensionContext): Promise<KpResponse> {
    const pending = lastWrite.get(ctx.endpointId);
    const keys = parseGetRequest(request.payload);
    if (pending) await pending;
    if (keys === undefined) return json(await registry.getMetadata(ctx.endpointId, 'device'));
    // 10/EPMP: explicitly requesting a restricted key is an error, not a silent omission.
    const access = ctx.appVersion.metadataKeyAccess;
    for (const key of keys) {
      if (Object.hasOwn(access, key) && access[key] === 'hidden') throw errors.metadataKeyReadDenied(key);
    }
    const all = await registry.getMetadata(ctx.endpointId, 'device');
    // Null prototype: `__proto__` is a valid 10/EPMP key and must stay an ordinary property.
    const picked: Metadata = Object.create(null) as Metadata;
    for (const key of keys) {
      const value = Object.hasOwn(all, key) ? all[key] : undefined;
      if (value !== undefined) picked[key] = value;
    }
    return json(picked);
  }

  return {
    name: EPMX,
    async handle(request, ctx) {
      switch (request.resourcePath) {
        case 'get/keys':
          // 10/EPMP: the server MUST ignore the get/keys payload.
          return getKeys(ctx);
        case 'get':
          return get(request, ctx);
        case 'update':
          // 10/EPMP: a full update removes keys absent from the payload (writable ones only: registry).
          await write(ctx.endpointId, { kind: 'replace', metadata: parseUpdateRequest(request.payload) });
          return; // 10/EPMP: success responses of updates and deletes have a zero-length payload.
        case 'update/keys':
          await write(ctx.endpointId, { kind: 'merge', metadata: parseUpdateRequest(request.payload) });
          return;
        case 'delete/keys':
          await write(ctx.endpointId, { kind: 'delete', keys: parseDeleteRequest(request.payload) });
          return;
        default:
          throw errors.unknownResource(ctx.instance, request.resourcePath);
      }
    },
  };
}


function json(value: unknown): KpResponse {
  return { payload: Buffer.from(JSON.stringify(value), 'utf8') };
}
