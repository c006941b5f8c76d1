/**
 * The device side of software updates: what 7/CMP on `cmx_ota` asks of its source (the
 * ConfigurationSource of src/extensions/cmx, matched by shape), answered by the software service.
 * A configuration ID is a version: `config/json` answers the endpoint's next version with its
 * specification (+ package), `applied/json` is the device reporting the version it runs.
 */
import type { DeviceChannel } from '../core/device-link.js';
import type { Applications } from '../core/services.js';
import type { JsonValue } from '../core/types.js';
import { DEFAULT_CONFIG_NAME, configSentKey } from '../core/control.js';
import { CMX_OTA } from '../core/software.js';
import type { SoftwareDelivery, SoftwareService } from './service.js';

export function cmxOtaSource(software: SoftwareService, applications: Applications) {
  return {
    async effective(endpointId: string, appVersionName: string, name: string, localAddress?: string): Promise<SoftwareDelivery> {
      // cmx_ota has one document, the default one: named resources have nothing.
      if (name !== DEFAULT_CONFIG_NAME) return { configId: '', config: null };
      const version = await applications.getVersion(appVersionName);
      return software.delivery(endpointId, version.applicationName, localAddress);
    },

    /** Nothing is recorded per delivery: the open offer is what the device gets until it reports. */
    async noteDispatched(channel: Pick<DeviceChannel, 'endpointId' | 'appVersionName' | 'noteSent'>, name: string, sent: { configId: string; config: JsonValue }): Promise<void> {
      channel.noteSent(configSentKey(CMX_OTA, name), sent.configId);
    },

    async confirm(endpointId: string, applicationName: string, appVersionName: string, name: string, configId: string, statusCode: number, reasonPhrase: string | null, implicit?: boolean): Promise<void> {
      if (name !== DEFAULT_CONFIG_NAME) return;
      await software.report({ endpointId, applicationName, appVersionName, version: configId, statusCode, reasonPhrase, ...(implicit && { implicit }) });
    },
  };
}
