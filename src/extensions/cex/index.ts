import { COMMAND_TYPE_PATTERN, type CommandRecord, type CommandResult } from '../../core/control.js';
import type { DeviceChannel } from '../../core/device-link.js';
import { errors } from '../../core/errors.js';
import { compileSchema, jsonPayload, parseRequest } from '../control-payload.js';
import type { Extension, ExtensionContext } from '../extension.js';
import { commandRequestSchema, resultRequestSchema } from './schemas.js';

/** Extension type name; also the default instance name. */
export const CEX = 'cex';

/** What 11/CEP needs of the command service (src/commands/service.ts). */
export interface CommandSource {
  outstanding(channel: DeviceChannel | undefined, endpointId: string, commandType: string): Promise<CommandRecord[]>;
  report(endpointId: string, applicationName: string, commandType: string, results: readonly CommandResult[]): Promise<{ executed: unknown[]; unknown: number[]; finished: number[] }>;
}

const EXPECTED_COMMAND = 'an 11/CEP command request: a JSON object such as {} or {"observe":true}';
const EXPECTED_RESULT = 'an 11/CEP result request: a JSON array such as [{"id":1,"statusCode":200,"payload":{}}]';
const validateCommand = compileSchema(commandRequestSchema);
const validateResult = compileSchema(resultRequestSchema);

/**
 * 11/CEP command execution over 1/KP (Kaa CEX): `command/<type>` answers with every outstanding
 * command of the type, `result/<type>` stores what the device made of them (before the PUBACK).
 * Pushes of new commands are the command service's job.
 */
export function createCexExtension(deps: { commands: CommandSource }): Extension {
  const { commands } = deps;

  async function command(commandType: string, payload: Buffer, ctx: ExtensionContext) {
    const request = parseRequest(payload, validateCommand, EXPECTED_COMMAND, {}) as { observe?: boolean };
    // 11/CEP: `observe` true keeps new commands coming to this session, false stops them.
    if (request.observe !== undefined) ctx.channel?.setObserving(ctx.instance, `command/${commandType}`, request.observe);
    const outstanding = await commands.outstanding(ctx.channel, ctx.endpointId, commandType);
    // 11/CEP: every outstanding command of the type; an empty array when there is none.
    return { payload: jsonPayload(outstanding.map((c) => ({ id: c.id, payload: c.requestPayload }))) };
  }

  async function result(commandType: string, payload: Buffer, ctx: ExtensionContext) {
    const parsed = parseRequest(payload, validateResult, EXPECTED_RESULT) as unknown as CommandResult | CommandResult[];
    const results = Array.isArray(parsed) ? parsed : [parsed];
    const outcome = await commands.report(ctx.endpointId, ctx.appVersion.applicationName, commandType, results);
    // A result for a command this endpoint never had is the device's mistake: it hears so. One for a
    // command already finished (a retransmission, or one that expired) changes nothing and is fine.
    if (outcome.unknown.length > 0 && outcome.executed.length === 0 && outcome.finished.length === 0) throw errors.commandResultUnknown(outcome.unknown, commandType);
  }

  return {
    name: CEX,
    async handle(request, ctx) {
      const path = request.resourcePath;
      const slash = path.indexOf('/');
      const resource = slash < 0 ? path : path.slice(0, slash);
      const commandType = slash < 0 ? '' : path.slice(slash + 1);
      if (resource !== 'command' && resource !== 'result') throw errors.unknownResource(ctx.instance, path);
      // 11/CEP: the command type is a non-empty alphanumeric string (one topic level).
      if (!COMMAND_TYPE_PATTERN.test(commandType)) throw errors.commandTypeInvalid(commandType);
      return resource === 'command' ? command(commandType, request.payload, ctx) : result(commandType, request.payload, ctx);
    },
  };
}
