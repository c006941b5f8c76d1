import type { DeviceChannel, DeviceLink } from '../core/device-link.js';
import { MultiMap } from '../core/multimap.js';
import type { Logger } from '../core/log.js';
import type { ClientState, QoS } from './client-state.js';
import type { Session } from './session.js';
import { topicMatchesFilter } from './topic-filter.js';
import { flat, sharedName } from '../core/flat.js';

/** What a channel needs of its connection: the MQTT session state that delivers (and queues) messages. */
export interface ChannelCarrier {
  readonly client: ClientState | undefined;
}

/**
 * One session's standing for one endpoint. Created on first use, so an idle fleet pays for one
 * small object per connected device; observe flags and sent IDs only once a device uses them.
 */
class Channel implements DeviceChannel {
  private observing: Map<string, boolean> | undefined;
  private sent: Map<string, string> | undefined;
  open = true;
  /** Listeners were told (once): outstanding configurations and commands went out. */
  announced = false;

  constructor(
    readonly session: Session,
    readonly carrier: ChannelCarrier,
    readonly endpointId: string,
    readonly applicationName: string,
    readonly appVersionName: string,
    /** Plain token: a secret, part of every pushed topic; never logged. */
    readonly token: string,
  ) {}

  get sessionId(): string {
    return this.session.id;
  }

  get localAddress(): string | undefined {
    return this.session.owner.localAddress;
  }

  observes(instance: string, resource: string): boolean {
    return this.observing?.get(`${instance}/${resource}`) ?? true;
  }

  setObserving(instance: string, resource: string, observing: boolean): void {
    (this.observing ??= new Map()).set(`${instance}/${resource}`, observing);
  }

  lastSent(key: string): string | undefined {
    return this.sent?.get(key);
  }

  noteSent(key: string, value: string): void {
    (this.sent ??= new Map()).set(key, value);
  }

  forgetSent(key: string): void {
    this.sent?.delete(key);
    if (this.sent?.size === 0) this.sent = undefined;
  }
}

/**
 * The live channels of this node, by endpoint and by application version, and the push itself.
 * The transport opens a channel when a session first shows an endpoint's token and closes its
 * channels when the session ends.
 */
export class Channels implements DeviceLink {
  private readonly byEndpoint = new MultiMap<string, Channel>();
  private readonly byVersion = new Map<string, Set<Channel>>();
  private readonly bySession = new WeakMap<Session, Channel[]>();
  private readonly listeners = new Set<(channel: DeviceChannel) => void>();

  constructor(private readonly logger: Logger) {}

  /** The session's channel for the endpoint, opening it (and telling listeners) on first use. */
  open(session: Session, carrier: ChannelCarrier, endpointId: string, applicationName: string, appVersionName: string, token: string): void {
    const channel = this.ensure(session, carrier, endpointId, applicationName, appVersionName, token);
    if (channel) this.announce(channel);
  }

  /**
   * The session's channel for the endpoint, created silently on first use: a request's extension
   * sets observe flags on it before `announce` pushes what is outstanding.
   */
  ensure(session: Session, carrier: ChannelCarrier, endpointId: string, applicationName: string, appVersionName: string, token: string): DeviceChannel | undefined {
    if (session.closed) return undefined;
    const existing = this.bySession.get(session);
    const known = existing?.find((c) => c.endpointId === endpointId);
    if (known) return known;
    const channel = new Channel(session, carrier, endpointId, sharedName(applicationName), sharedName(appVersionName), flat(token));
    if (existing) existing.push(channel);
    else this.bySession.set(session, [channel]);
    this.byEndpoint.add(endpointId, channel);
    let ofVersion = this.byVersion.get(channel.appVersionName);
    if (!ofVersion) this.byVersion.set(channel.appVersionName, (ofVersion = new Set()));
    ofVersion.add(channel);
    return channel;
  }

  /** Tells the listeners about a new channel, once. */
  announce(target: DeviceChannel): void {
    const channel = target as Channel;
    if (channel.announced || !channel.open) return;
    channel.announced = true;
    for (const listener of this.listeners) {
      try {
        listener(channel);
      } catch (err) {
        this.logger.error({ err, endpointId: channel.endpointId }, 'a channel listener failed');
      }
    }
  }

  /** The session ended: its channels stop taking pushes. */
  close(session: Session): void {
    const channels = this.bySession.get(session);
    if (!channels) return;
    this.bySession.delete(session);
    for (const channel of channels) {
      channel.open = false;
      this.byEndpoint.delete(channel.endpointId, channel);
      const ofVersion = this.byVersion.get(channel.appVersionName);
      ofVersion?.delete(channel);
      if (ofVersion?.size === 0) this.byVersion.delete(channel.appVersionName);
    }
  }

  channelsOf(endpointId: string): readonly DeviceChannel[] {
    return this.byEndpoint.get(endpointId);
  }

  channelsOfVersion(appVersionName: string): DeviceChannel[] {
    return [...(this.byVersion.get(appVersionName) ?? [])];
  }

  push(target: DeviceChannel, instance: string, resourcePath: string, payload: Buffer): void {
    const channel = target as Channel;
    const state = channel.carrier.client;
    if (!channel.open || !state) return;
    const topic = `kp1/${channel.appVersionName}/${instance}/${channel.token}/${resourcePath}`;
    // A subscriber gets it at its subscription's QoS (MQTT: never above what was granted); a device
    // that never subscribed (Kaa's Python client) at QoS 1, so a lost packet is sent again.
    let granted = -1;
    for (const sub of state.subscriptions ?? []) {
      if (sub.qos > granted && topicMatchesFilter(sub.filter, topic)) granted = sub.qos;
    }
    const qos = (granted < 0 ? 1 : Math.min(granted, 1)) as QoS;
    state.deliver(topic, payload, qos, undefined);
  }

  onChannelOpened(listener: (channel: DeviceChannel) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    let n = 0;
    for (const set of this.byVersion.values()) n += set.size;
    return n;
  }
}
