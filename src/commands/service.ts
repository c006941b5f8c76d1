import { randomUUID } from 'node:crypto';
import type { EventBus, TetherEvent } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { COMMAND_TYPE_PATTERN, type CommandRecord, type CommandResult, type CommandTaskProgress } from '../core/control.js';
import type { DeviceChannel, DeviceLink } from '../core/device-link.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { Applications, Registry } from '../core/services.js';
import type { JsonValue, Page } from '../core/types.js';
import type { CommandQuery, ControlStorage, ResultOutcome } from '../storage/control.js';

/** The 11/CEP extension instance commands travel on. */
export const CEX = 'cex';

export interface CommandSettings {
  /** How long a command waits for its device when the caller names no TTL (Kaa: 60 s). */
  defaultTtlMs: number;
  /** Longest TTL a caller may ask for. */
  maxTtlMs: number;
  /** How long finished commands (and their results) are kept. */
  retentionMs: number;
  /** Longest `awaitTimeout` (Kaa: 60 s). */
  maxAwaitMs: number;
  /** Background expiry and retention; tests turn them off and call `sweep`. */
  background: boolean;
}

export const DEFAULT_COMMAND_SETTINGS: CommandSettings = {
  defaultTtlMs: 60_000,
  maxTtlMs: 30 * 86_400_000,
  retentionMs: 7 * 86_400_000,
  maxAwaitMs: 60_000,
  background: true,
};

export interface CommandDeps {
  store: ControlStorage;
  bus: EventBus;
  applications: Applications;
  registry: Registry;
  clock?: Clock;
  logger?: Logger;
  settings?: Partial<CommandSettings>;
}

/** Endpoints one batch may address (the Endpoint List's "select all" reaches as far). */
export const MAX_BATCH_ENDPOINTS = 100_000;
/** Commands announced on the bus per event, so one event stays well under NATS' payload limit. */
const ANNOUNCE_CHUNK = 1000;
const EXPIRE_EVERY_MS = 1000;
const PRUNE_EVERY_MS = 10 * 60_000;
/** How often a node asks again whether applications with pending commands still have any. */
const RECHECK_PENDING_EVERY_MS = 10_000;

/**
 * Kaa CEX: commands are stored before anything is sent, pushed to the device's live sessions on
 * whichever node holds them, sent again to each new session until the device reports a result,
 * and never sent once they have a result or their time ran out. The life of one command:
 * PENDING -> EXECUTED (a result, whatever its status code) | EXPIRED (its TTL ran out).
 */
export class CommandService {
  readonly settings: CommandSettings;
  private readonly store: ControlStorage;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private devices: DeviceLink | undefined;
  private readonly unsubscribe: () => void;
  private stopListening: (() => void) | undefined;
  private readonly waiters = new Map<number, Set<() => void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private sweeping: Promise<void> | undefined;
  /**
   * Per application: whether it may have pending commands (read from the store once, set by every
   * `commands.created` from any node, and set back to false by a recheck after the expiry sweep).
   * Most sessions belong to fleets with no command waiting: they open without a read.
   */
  private readonly pendingByApplication = new Map<string, boolean>();
  /** Bumped by each `commands.created` of the application: a recheck that raced one keeps `true`. */
  private readonly createdEpoch = new Map<string, number>();
  private lastRecheck = 0;

  constructor(private readonly deps: CommandDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.settings = { ...DEFAULT_COMMAND_SETTINGS, ...deps.settings };
    this.unsubscribe = deps.bus.subscribe((event) => this.onEvent(event));
    if (this.settings.background) {
      this.timers.push(setInterval(() => void this.expire(), EXPIRE_EVERY_MS).unref());
      this.timers.push(setInterval(() => void this.prune(), PRUNE_EVERY_MS).unref());
    }
  }

  attach(devices: DeviceLink): void {
    this.devices = devices;
    this.stopListening = devices.onChannelOpened((channel) => {
      this.pushOutstanding(channel).catch((err: unknown) => this.logger.error({ err, endpointId: channel.endpointId }, 'pushing commands failed'));
    });
  }

  close(): void {
    this.unsubscribe();
    this.stopListening?.();
    for (const timer of this.timers) clearInterval(timer);
    for (const wake of this.waiters.values()) for (const w of wake) w();
    this.waiters.clear();
  }

  // --- what operators do ------------------------------------------------------------------------

  /** Stores one command for an endpoint and pushes it to the endpoint's live sessions on any node. */
  async send(input: { endpointId: string; commandType: string; payload: JsonValue; ttlMs?: number }): Promise<CommandRecord> {
    checkType(input.commandType);
    const endpoint = await this.deps.registry.getEndpoint(input.endpointId, false);
    const [command] = await this.create(endpoint.applicationName, input.commandType, input.payload, [input.endpointId], this.ttl(input.ttlMs), null);
    return command!;
  }

  /** One command to many endpoints (Kaa CEX batch): a task whose progress counts its commands. */
  async sendBatch(input: { applicationName: string; commandType: string; payload: JsonValue; endpointIds: readonly string[]; ttlMs?: number }): Promise<CommandTaskProgress> {
    checkType(input.commandType);
    await this.deps.applications.getApplication(input.applicationName);
    const endpointIds = [...new Set(input.endpointIds)];
    if (endpointIds.length === 0) throw errors.validation('endpointIds is empty: name at least one endpoint');
    if (endpointIds.length > MAX_BATCH_ENDPOINTS) throw errors.validation(`a batch may address at most ${MAX_BATCH_ENDPOINTS} endpoints (got ${endpointIds.length})`);
    await this.checkEndpoints(input.applicationName, endpointIds);
    const ttlMs = this.ttl(input.ttlMs);
    const now = this.clock.now();
    const taskId = randomUUID();
    const createdAt = new Date(now).toISOString();
    const expiresAt = new Date(now + ttlMs).toISOString();
    await this.store.insertTask({ taskId, applicationName: input.applicationName, commandType: input.commandType, requestPayload: input.payload, createdAt, expiresAt, endpointCount: endpointIds.length });
    await this.create(input.applicationName, input.commandType, input.payload, endpointIds, ttlMs, taskId);
    return (await this.store.getTask(taskId))!;
  }

  /**
   * Resolves with the command once it is EXECUTED or EXPIRED, or as it stands after `timeoutMs`
   * (Kaa's `awaitTimeout`): the REST call answers 200 or 202.
   */
  async awaitResult(command: CommandRecord, timeoutMs: number): Promise<CommandRecord> {
    if (command.status !== 'PENDING' || timeoutMs <= 0) return command;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        const set = this.waiters.get(command.id);
        set?.delete(wake);
        if (set?.size === 0) this.waiters.delete(command.id);
        resolve();
      };
      const timer = setTimeout(wake, Math.min(timeoutMs, this.settings.maxAwaitMs));
      let set = this.waiters.get(command.id);
      if (!set) this.waiters.set(command.id, (set = new Set()));
      set.add(wake);
      // The result may have been stored between the insert and this wait.
      void this.store.getCommand(command.id).then((now) => {
        if (now && now.status !== 'PENDING') wake();
      }, () => {});
    });
    return (await this.store.getCommand(command.id)) ?? command;
  }

  async get(endpointId: string, commandType: string, id: number): Promise<CommandRecord> {
    const command = Number.isSafeInteger(id) ? await this.store.getCommand(id) : undefined;
    if (!command || command.endpointId !== endpointId || command.commandType !== commandType) throw errors.commandNotFound(`Command ${id} of type ${JSON.stringify(commandType)} for endpoint ${JSON.stringify(endpointId)}`);
    return command;
  }

  async last(endpointId: string, commandType: string): Promise<CommandRecord> {
    const command = await this.store.lastCommand(endpointId, commandType);
    if (!command) throw errors.commandNotFound(`A ${JSON.stringify(commandType)} command for endpoint ${JSON.stringify(endpointId)}`);
    return command;
  }

  /** The newest command of each type for each endpoint (Kaa: POST /endpoints/commands/last). */
  async lastOf(endpointIds: readonly string[], commandTypes: readonly string[]): Promise<CommandRecord[]> {
    const found: CommandRecord[] = [];
    for (const endpointId of endpointIds) {
      for (const commandType of commandTypes) {
        const command = await this.store.lastCommand(endpointId, commandType);
        if (command) found.push(command);
      }
    }
    return found;
  }

  list(query: CommandQuery): Promise<Page<CommandRecord>> {
    return this.store.queryCommands(query);
  }

  async remove(endpointId: string, commandType: string, id: number): Promise<void> {
    await this.get(endpointId, commandType, id);
    await this.store.deleteCommand(id);
  }

  async task(taskId: string): Promise<CommandTaskProgress> {
    const task = await this.store.getTask(taskId);
    if (!task) throw errors.commandTaskNotFound(taskId);
    return task;
  }

  tasks(applicationName: string | undefined, offset: number, limit: number): Promise<Page<CommandTaskProgress>> {
    return this.store.listTasks(applicationName, offset, limit);
  }

  // --- what devices do (11/CEP) -------------------------------------------------------------------

  /** 11/CEP command request: every outstanding command of the type; they count as sent to the session. */
  async outstanding(channel: DeviceChannel | undefined, endpointId: string, commandType: string): Promise<CommandRecord[]> {
    const commands = await this.store.outstandingCommands(endpointId, this.clock.iso(), commandType);
    if (commands.length > 0) {
      if (channel) for (const c of commands) channel.noteSent(sentKey(c.id), SENT);
      await this.store.markDispatched(commands.map((c) => c.id), this.clock.iso());
    }
    return commands;
  }

  /** 11/CEP result request: stored before the device is acknowledged; waiting REST calls answer. */
  async report(endpointId: string, applicationName: string, commandType: string, results: readonly CommandResult[]): Promise<ResultOutcome> {
    const at = this.clock.iso();
    const outcome = await this.store.completeCommands(endpointId, commandType, results, at);
    for (const command of outcome.executed) {
      this.forgetSent(endpointId, command.id);
      void this.deps.bus.publish({ type: 'command.finished', id: command.id, endpointId, applicationName, commandType, status: 'EXECUTED', at }).catch(() => {});
    }
    return outcome;
  }

  // --- background ---------------------------------------------------------------------------------

  /** Expires what ran out of time, then removes what is past retention; tests call it directly. */
  async sweep(): Promise<void> {
    await this.expire();
    await this.prune();
  }

  private expire(): Promise<void> {
    // One sweep at a time: a slow database must not pile sweeps up.
    this.sweeping ??= (async () => {
      try {
        for (;;) {
          const expired = await this.store.expireCommands(this.clock.iso(), 1000);
          for (const c of expired) {
            this.forgetSent(c.endpointId, c.id);
            void this.deps.bus.publish({ type: 'command.finished', id: c.id, endpointId: c.endpointId, applicationName: c.applicationName, commandType: c.commandType, status: 'EXPIRED', at: c.updatedAt }).catch(() => {});
          }
          if (expired.length < 1000) break;
        }
        if (this.clock.now() - this.lastRecheck >= RECHECK_PENDING_EVERY_MS) {
          this.lastRecheck = this.clock.now();
          await this.recheckAllPending();
        }
      } catch (err) {
        this.logger.error({ err }, 'expiring commands failed');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  private async prune(): Promise<void> {
    try {
      const removed = await this.store.pruneCommands(new Date(this.clock.now() - this.settings.retentionMs).toISOString());
      if (removed > 0) this.logger.info({ removed }, 'removed finished commands past their retention');
    } catch (err) {
      this.logger.error({ err }, 'removing old commands failed');
    }
  }

  // --- pushes ---------------------------------------------------------------------------------------

  private async create(applicationName: string, commandType: string, payload: JsonValue, endpointIds: readonly string[], ttlMs: number, taskId: string | null): Promise<CommandRecord[]> {
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    const expiresAt = new Date(now + ttlMs).toISOString();
    const stored = await this.store.insertCommands(
      endpointIds.map((endpointId) => ({
        endpointId,
        applicationName,
        commandType,
        status: 'PENDING' as const,
        requestPayload: payload,
        responsePayload: null,
        statusCode: null,
        reasonPhrase: null,
        createdAt: at,
        updatedAt: at,
        expiresAt,
        lastDispatchedAt: null,
        taskId,
      })),
    );
    // Stored first, then announced: every node (this one too, through the bus) pushes to the sessions it holds.
    for (let i = 0; i < stored.length; i += ANNOUNCE_CHUNK) {
      const commands = stored.slice(i, i + ANNOUNCE_CHUNK).map((c) => ({ id: c.id, endpointId: c.endpointId }));
      await this.deps.bus.publish({ type: 'commands.created', applicationName, commandType, requestPayload: payload, commands, at });
    }
    return stored;
  }

  /** A device that connects (or first shows its token) gets everything outstanding, per type. */
  private async pushOutstanding(channel: DeviceChannel): Promise<void> {
    if (!this.devices) return;
    const version = await this.deps.applications.getVersion(channel.appVersionName);
    if (!version.extensions.includes(CEX)) return;
    if (!(await this.mayHavePending(version.applicationName))) return;
    const commands = await this.store.outstandingCommands(channel.endpointId, this.clock.iso());
    if (commands.length === 0) return;
    const byType = new Map<string, CommandRecord[]>();
    for (const c of commands) {
      const list = byType.get(c.commandType);
      if (list) list.push(c);
      else byType.set(c.commandType, [c]);
    }
    const sent: number[] = [];
    for (const [commandType, list] of byType) sent.push(...this.pushTo(channel, commandType, list));
    if (sent.length > 0) await this.store.markDispatched(sent, this.clock.iso());
  }

  /** Pushes the commands the session was not sent yet; returns their IDs. */
  private pushTo(channel: DeviceChannel, commandType: string, commands: ReadonlyArray<Pick<CommandRecord, 'id' | 'requestPayload'>>): number[] {
    const devices = this.devices;
    const resource = `command/${commandType}`;
    // 11/CEP: `observe: false` stops pushes of that command type for this session.
    if (!devices || !channel.open || !channel.observes(CEX, resource)) return [];
    // Exact IDs, not the highest one: IDs are handed out before their rows commit, so two commands
    // created at once (on two nodes, or two requests) may be announced out of order.
    const fresh = commands.filter((c) => channel.lastSent(sentKey(c.id)) === undefined);
    if (fresh.length === 0) return [];
    devices.push(channel, CEX, `${resource}/status`, Buffer.from(JSON.stringify(fresh.map((c) => ({ id: c.id, payload: c.requestPayload }))), 'utf8'));
    for (const c of fresh) channel.noteSent(sentKey(c.id), SENT);
    return fresh.map((c) => c.id);
  }

  private onEvent(event: TetherEvent): void {
    if (event.type === 'commands.created') {
      this.pendingByApplication.set(event.applicationName, true);
      this.createdEpoch.set(event.applicationName, (this.createdEpoch.get(event.applicationName) ?? 0) + 1);
      this.pushCreated(event).catch((err: unknown) => this.logger.error({ err }, 'pushing new commands failed'));
    } else if (event.type === 'command.finished') {
      const waiting = this.waiters.get(event.id);
      if (waiting) for (const wake of [...waiting]) wake();
    }
  }

  private async pushCreated(event: Extract<TetherEvent, { type: 'commands.created' }>): Promise<void> {
    const devices = this.devices;
    if (!devices) return;
    const sent: number[] = [];
    for (const { id, endpointId } of event.commands) {
      for (const channel of devices.channelsOf(endpointId)) {
        sent.push(...this.pushTo(channel, event.commandType, [{ id, requestPayload: event.requestPayload }]));
      }
    }
    if (sent.length > 0) await this.store.markDispatched(sent, this.clock.iso());
  }

  private async mayHavePending(applicationName: string): Promise<boolean> {
    const known = this.pendingByApplication.get(applicationName);
    if (known !== undefined) return known;
    await this.recheckPending(applicationName);
    return this.pendingByApplication.get(applicationName) !== false;
  }

  /** Reads whether the application has pending commands; an announcement during the read wins. */
  private async recheckPending(applicationName: string): Promise<void> {
    const epoch = this.createdEpoch.get(applicationName) ?? 0;
    const found = await this.store.hasPendingCommands(applicationName);
    if ((this.createdEpoch.get(applicationName) ?? 0) === epoch) this.pendingByApplication.set(applicationName, found);
  }

  /** After commands expired or finished, applications that had pending ones may have none left. */
  private async recheckAllPending(): Promise<void> {
    for (const [applicationName, pending] of this.pendingByApplication) {
      if (pending) await this.recheckPending(applicationName);
    }
  }

  /** A finished command is never sent again: the sessions of this node stop remembering it. */
  private forgetSent(endpointId: string, id: number): void {
    for (const channel of this.devices?.channelsOf(endpointId) ?? []) channel.forgetSent(sentKey(id));
  }

  private ttl(ttlMs: number | undefined): number {
    if (ttlMs === undefined) return this.settings.defaultTtlMs;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > this.settings.maxTtlMs) {
      throw errors.commandParameterInvalid('commandTtl', `must be a whole number of milliseconds from 1 to ${this.settings.maxTtlMs}`);
    }
    return ttlMs;
  }

  private async checkEndpoints(applicationName: string, endpointIds: readonly string[]): Promise<void> {
    const page = await this.deps.registry.listEndpoints({ applicationName, endpointIds: [...endpointIds], offset: 0, limit: endpointIds.length, includeMetadata: false });
    if (page.totalElements === endpointIds.length) return;
    const known = new Set(page.content.map((e) => e.endpointId));
    const missing = endpointIds.find((id) => !known.has(id))!;
    throw errors.endpointNotInApplication(missing, applicationName);
  }
}

function checkType(commandType: string): void {
  if (!COMMAND_TYPE_PATTERN.test(commandType)) throw errors.commandTypeInvalid(commandType);
}

/** What a session remembers of a command it was sent, until the command finishes. */
const sentKey = (id: number) => `${CEX}#${id}`;
const SENT = '1';
