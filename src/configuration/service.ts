import { Ajv, type ValidateFunction } from 'ajv';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { CONFIG_NAME_PATTERN, DEFAULT_CONFIG_NAME, configSentKey, type ConfigStatusRecord, type ConfigurationRecord } from '../core/control.js';
import type { DeviceChannel, DeviceLink } from '../core/device-link.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Applications, Registry } from '../core/services.js';
import type { JsonValue, Page } from '../core/types.js';
import type { Storage } from '../storage/storage.js';
import type { ConfigKey, ControlStorage, Dispatch, StatusQuery } from '../storage/control.js';
import { configIdOf } from './config-id.js';

/** The 7/CMP extension instance configurations travel on. */
export const CMX = 'cmx';


/** What a device is sent: `{configId, config}`; `configId` '' and `config` null when it has none (7/CMP). */
export interface EffectiveConfiguration {
  configId: string;
  config: JsonValue;
}

export interface ConfigurationDeps {
  store: ControlStorage;
  /** Settings documents hold the per-version configuration schemas. */
  settings: Pick<Storage, 'getSetting' | 'putSetting' | 'deleteSetting'>;
  bus: EventBus;
  applications: Applications;
  registry: Registry;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Kaa ECR and CMX in one service: configurations per endpoint, per application version (the
 * default every endpoint without its own falls back to) and per name, their delivery statuses,
 * and the push of each change to the live sessions this node holds.
 */
export class ConfigurationService {
  private readonly store: ControlStorage;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private devices: DeviceLink | undefined;
  private readonly unsubscribe: () => void;
  private stopListening: (() => void) | undefined;
  private readonly ajv = new Ajv({ allErrors: false, strict: false });
  private readonly schemas = new Map<string, { schema: string; validate: ValidateFunction } | null>();
  private readonly configuredVersions = new Map<string, boolean>();

  constructor(private readonly deps: ConfigurationDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.unsubscribe = deps.bus.subscribe((event) => this.onEvent(event));
  }

  /** Pushes go to the sessions of this node's MQTT front door; without it nothing is pushed. */
  attach(devices: DeviceLink): void {
    this.devices = devices;
    this.stopListening = devices.onChannelOpened((channel) => {
      this.pushOutstanding(channel).catch((err: unknown) => this.logger.error({ err, endpointId: channel.endpointId }, 'pushing configurations failed'));
    });
  }

  close(): void {
    this.unsubscribe();
    this.stopListening?.();
  }

  // --- names ----------------------------------------------------------------------------------

  /** REST `?name=`: absent and `default` mean the default (unnamed) configuration. */
  static restName(name: string | undefined): string {
    if (name === undefined || name === '' || name === 'default') return DEFAULT_CONFIG_NAME;
    if (!CONFIG_NAME_PATTERN.test(name)) throw errors.configurationNameInvalid(name);
    return name;
  }

  // --- ECR: what operators do -----------------------------------------------------------------

  async get(key: ConfigKey): Promise<ConfigurationRecord> {
    await this.checkScope(key);
    const record = await this.store.getConfiguration(key);
    if (!record) throw errors.configurationNotFound(describe(key));
    return record;
  }

  async list(endpointId: string, appVersionName: string): Promise<ConfigurationRecord[]> {
    await this.checkScope({ endpointId, appVersionName, name: '' });
    return this.store.listConfigurations(endpointId, appVersionName);
  }

  /**
   * Sets a configuration. `ifMatch` (the HTTP If-Match ETag, '*' for "any") makes it conditional:
   * a document that changed since it was read answers 412 instead of being overwritten.
   */
  async put(key: ConfigKey, config: JsonValue, ifMatch?: string): Promise<ConfigurationRecord> {
    const version = await this.checkScope(key);
    await this.validate(key.appVersionName, key.name, config);
    const now = this.clock.iso();
    const record: ConfigurationRecord = { ...key, configId: configIdOf(config), config, createdDate: now, updatedDate: now };
    const before = await this.store.getConfiguration(key);
    if ((await this.store.putConfiguration(record, ifMatch)) === 'conflict') {
      throw errors.configurationChanged((await this.store.getConfiguration(key))?.configId);
    }
    const stored = (await this.store.getConfiguration(key)) ?? record;
    if (before?.configId !== stored.configId) await this.announce(version.applicationName, key, key.endpointId === '' ? null : [key.endpointId]);
    return stored;
  }

  async remove(key: ConfigKey, ifMatch?: string): Promise<void> {
    const version = await this.checkScope(key);
    const outcome = await this.store.deleteConfiguration(key, ifMatch);
    if (outcome === 'missing') throw errors.configurationNotFound(describe(key));
    if (outcome === 'conflict') throw errors.configurationChanged((await this.store.getConfiguration(key))?.configId);
    // An endpoint that loses its own configuration falls back to the default: that is pushed.
    await this.announce(version.applicationName, key, key.endpointId === '' ? null : [key.endpointId]);
  }

  /** Kaa ECR batch: one configuration for many endpoints, per application version. */
  async putMany(byVersion: Record<string, string[]>, name: string, config: JsonValue): Promise<number> {
    const now = this.clock.iso();
    const configId = configIdOf(config);
    let count = 0;
    for (const [appVersionName, endpointIds] of Object.entries(byVersion)) {
      const version = await this.deps.applications.getVersion(appVersionName);
      await this.validate(appVersionName, name, config);
      for (const endpointId of endpointIds) {
        const endpoint = await this.deps.registry.getEndpoint(endpointId, false);
        if (endpoint.appVersionName !== appVersionName) throw errors.validation(`endpoint ${JSON.stringify(endpointId)} runs application version ${JSON.stringify(endpoint.appVersionName)}, not ${JSON.stringify(appVersionName)}`);
      }
      await this.store.putConfigurations(endpointIds.map((endpointId) => ({ endpointId, appVersionName, name, configId, config, createdDate: now, updatedDate: now })));
      for (let i = 0; i < endpointIds.length; i += 1000) {
        await this.announce(version.applicationName, { endpointId: '', appVersionName, name }, endpointIds.slice(i, i + 1000));
      }
      count += endpointIds.length;
    }
    return count;
  }

  statuses(query: StatusQuery): Promise<Page<ConfigStatusRecord>> {
    return this.store.queryStatuses(query);
  }

  // --- schemas ----------------------------------------------------------------------------------

  async getSchema(appVersionName: string, name: string): Promise<JsonValue | undefined> {
    await this.deps.applications.getVersion(appVersionName);
    return this.deps.settings.getSetting(schemaKey(appVersionName, name));
  }

  async putSchema(appVersionName: string, name: string, schema: JsonValue): Promise<void> {
    await this.deps.applications.getVersion(appVersionName);
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw errors.configurationSchemaInvalid('it must be a JSON object');
    try {
      this.ajv.compile(schema);
    } catch (err) {
      throw errors.configurationSchemaInvalid((err as Error).message);
    }
    await this.deps.settings.putSetting(schemaKey(appVersionName, name), schema);
    this.schemas.delete(schemaKey(appVersionName, name));
  }

  async deleteSchema(appVersionName: string, name: string): Promise<boolean> {
    await this.deps.applications.getVersion(appVersionName);
    this.schemas.delete(schemaKey(appVersionName, name));
    return this.deps.settings.deleteSetting(schemaKey(appVersionName, name));
  }

  private async validate(appVersionName: string, name: string, config: JsonValue): Promise<void> {
    const key = schemaKey(appVersionName, name);
    const schema = await this.deps.settings.getSetting(key);
    if (schema === undefined) return;
    const text = JSON.stringify(schema);
    let cached = this.schemas.get(key);
    // Another node may have changed the schema: the stored one is the truth, compiled once per text.
    if (!cached || cached.schema !== text) {
      cached = { schema: text, validate: this.ajv.compile(schema as object) };
      this.schemas.set(key, cached);
    }
    if (!cached.validate(config)) {
      const first = cached.validate.errors?.[0];
      throw errors.configurationInvalid(first ? `${first.instancePath || '(the document)'} ${first.message ?? 'is invalid'}` : 'it is invalid');
    }
  }

  // --- CMX: what devices do ---------------------------------------------------------------------

  /** The configuration the endpoint should run: its own, else its version's default, else none. */
  async effective(endpointId: string, appVersionName: string, name: string): Promise<EffectiveConfiguration> {
    const own = await this.store.getConfiguration({ endpointId, appVersionName, name });
    const record = own ?? (await this.store.getConfiguration({ endpointId: '', appVersionName, name }));
    // 7/CMP: absent configuration: `config` null and `configId` "".
    return record ? { configId: record.configId, config: record.config } : { configId: '', config: null };
  }

  /** The device was sent (or answered with) a configuration: its status shows it dispatched. */
  noteDispatched(channel: Pick<DeviceChannel, 'endpointId' | 'appVersionName' | 'noteSent'>, name: string, sent: EffectiveConfiguration): Promise<void> {
    channel.noteSent(sentKey(name), sent.configId);
    if (sent.configId === '') return Promise.resolve();
    return this.store.recordDispatches([{ endpointId: channel.endpointId, appVersionName: channel.appVersionName, name, configId: sent.configId, config: sent.config, at: this.clock.iso() }]);
  }

  /** 7/CMP `applied`: what the device made of a configuration (2xx: applied; anything else: failed). */
  async confirm(endpointId: string, applicationName: string, appVersionName: string, name: string, configId: string, statusCode: number, reasonPhrase: string | null): Promise<void> {
    const at = this.clock.iso();
    await this.store.recordConfirmation({ endpointId, appVersionName, name, configId, statusCode, reasonPhrase, at });
    void this.deps.bus.publish({ type: 'configuration.confirmed', endpointId, applicationName, appVersionName, name, configId, statusCode, at }).catch(() => {});
  }

  // --- pushes -------------------------------------------------------------------------------------

  /** UC2 (7/CMP): a device that connects gets every configuration it has not applied yet. */
  private async pushOutstanding(channel: DeviceChannel): Promise<void> {
    const devices = this.devices;
    if (!devices) return;
    const version = await this.deps.applications.getVersion(channel.appVersionName);
    if (!version.extensions.includes(CMX)) return;
    // Most fleets connect far more often than they are configured: a version without any
    // configuration costs a new session no reads at all.
    if (!(await this.versionHasConfigurations(channel.appVersionName))) return;
    const [own, defaults, applied] = await Promise.all([
      this.store.listConfigurations(channel.endpointId, channel.appVersionName),
      this.store.listConfigurations('', channel.appVersionName),
      this.store.appliedConfigIds(channel.endpointId, channel.appVersionName),
    ]);
    const effective = new Map<string, ConfigurationRecord>();
    for (const record of defaults) effective.set(record.name, record);
    for (const record of own) effective.set(record.name, record);
    for (const [name, record] of effective) {
      if (applied.get(name) === record.configId) continue;
      await this.pushTo(channel, name, { configId: record.configId, config: record.config });
    }
  }

  /**
   * Whether any configuration of the version exists (any endpoint's or its default), read once per
   * version and then kept true by `configuration.changed` (from every node, over the bus). A removal
   * never turns it false again: a stale true costs only the reads it saves.
   */
  private async versionHasConfigurations(appVersionName: string): Promise<boolean> {
    if (this.configuredVersions.get(appVersionName) === true) return true;
    const found = await this.store.hasConfigurations(appVersionName);
    // A change announced while the read ran has already said true: never overwrite it.
    if (this.configuredVersions.get(appVersionName) !== true) this.configuredVersions.set(appVersionName, found);
    return this.configuredVersions.get(appVersionName) === true;
  }

  private async pushTo(channel: DeviceChannel, name: string, sent: EffectiveConfiguration, dispatches?: Dispatch[]): Promise<void> {
    const devices = this.devices;
    if (!devices || !channel.open) return;
    const resource = resourceOf(name);
    // 7/CMP: `observe: false` stops pushes for this session; the same configuration is never sent twice.
    if (!channel.observes(CMX, resource)) return;
    if (channel.lastSent(sentKey(name)) === sent.configId) return;
    devices.push(channel, CMX, `${resource}/status`, Buffer.from(JSON.stringify(sent), 'utf8'));
    if (dispatches) {
      channel.noteSent(sentKey(name), sent.configId);
      if (sent.configId !== '') dispatches.push({ endpointId: channel.endpointId, appVersionName: channel.appVersionName, name, configId: sent.configId, config: sent.config, at: this.clock.iso() });
    } else await this.noteDispatched(channel, name, sent);
  }

  private async announce(applicationName: string, key: ConfigKey, endpointIds: string[] | null): Promise<void> {
    await this.deps.bus.publish({ type: 'configuration.changed', applicationName, appVersionName: key.appVersionName, name: key.name, endpointIds, at: this.clock.iso() });
  }

  private onEvent(event: TetherEvent): void {
    if (event.type === 'configuration.changed') {
      this.configuredVersions.set(event.appVersionName, true);
      this.pushChange(event.appVersionName, event.name, event.endpointIds).catch((err: unknown) => this.logger.error({ err, appVersionName: event.appVersionName }, 'pushing a configuration change failed'));
    } else if (event.type === 'application.deleted') {
      // Published by the node that deleted it; every node removing the same rows again is harmless.
      for (const name of event.appVersionNames) this.configuredVersions.delete(name);
      this.store.deleteApplication(event.applicationName, event.appVersionNames).catch((err: unknown) => this.logger.error({ err, applicationName: event.applicationName }, 'removing the configurations and commands of a deleted application failed'));
    } else if (event.type === 'endpoint.deleted') {
      this.store.deleteEndpoint(event.endpointId).catch((err: unknown) => this.logger.error({ err, endpointId: event.endpointId }, 'removing the configurations of a deleted endpoint failed'));
    }
  }

  /** Every live session this node holds that the change concerns gets the new effective configuration. */
  private async pushChange(appVersionName: string, name: string, endpointIds: string[] | null): Promise<void> {
    const devices = this.devices;
    if (!devices) return;
    const channels = endpointIds === null ? devices.channelsOfVersion(appVersionName) : endpointIds.flatMap((id) => devices.channelsOf(id).filter((c) => c.appVersionName === appVersionName));
    if (channels.length === 0) return;
    const version = await this.deps.applications.getVersion(appVersionName);
    if (!version.extensions.includes(CMX)) return;
    const dispatches: Dispatch[] = [];
    if (endpointIds === null) {
      // A new default reaches every endpoint that has no configuration of its own by that name.
      const record = await this.store.getConfiguration({ endpointId: '', appVersionName, name });
      const sent = record ? { configId: record.configId, config: record.config } : { configId: '', config: null };
      const overridden = await this.store.endpointOverrides(appVersionName, name, channels.map((c) => c.endpointId));
      for (const channel of channels) if (!overridden.has(channel.endpointId)) await this.pushTo(channel, name, sent, dispatches);
    } else {
      for (const channel of channels) await this.pushTo(channel, name, await this.effective(channel.endpointId, appVersionName, name), dispatches);
    }
    if (dispatches.length > 0) await this.store.recordDispatches(dispatches);
  }

  /** The endpoint exists and runs the version (an endpoint's configuration), or the version exists (a default). */
  private async checkScope(key: ConfigKey) {
    const version = await this.deps.applications.getVersion(key.appVersionName);
    if (key.endpointId !== '') {
      const endpoint = await this.deps.registry.getEndpoint(key.endpointId, false);
      if (endpoint.applicationName !== version.applicationName) throw errors.endpointNotInApplication(key.endpointId, version.applicationName);
    }
    return version;
  }
}

/** 7/CMP resource path of a configuration: `config/json` for the default, `config/json/<name>` otherwise. */
export function resourceOf(name: string): string {
  return name === DEFAULT_CONFIG_NAME ? 'config/json' : `config/json/${name}`;
}

const sentKey = (name: string) => configSentKey(CMX, name);
const schemaKey = (appVersionName: string, name: string) => `configuration.schema.${appVersionName}.${name}`;

function describe(key: ConfigKey): string {
  const what = key.name === DEFAULT_CONFIG_NAME ? 'The default configuration' : `Configuration ${JSON.stringify(key.name)}`;
  return key.endpointId === '' ? `${what} of application version ${JSON.stringify(key.appVersionName)}` : `${what} of endpoint ${JSON.stringify(key.endpointId)} (version ${JSON.stringify(key.appVersionName)})`;
}
