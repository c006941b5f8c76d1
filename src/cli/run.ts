import type { Command } from './command.js';
import type { Io } from './io.js';
import { oneLine } from './io.js';
import { closest } from '../core/did-you-mean.js';
import { tetherVersion } from './version.js';

/**
 * A command's module is loaded when it runs: `tether start` then does not carry the CLI's MQTT
 * client and the other commands' REST clients for as long as the server runs (MBs of heap).
 */
interface CommandEntry {
  name: string;
  /** One line for `tether --help`. */
  summary: string;
  load(): Promise<Command>;
}

const COMMANDS: CommandEntry[] = [
  { name: 'start', summary: 'start the server (MQTT for devices, REST API and dashboard)', load: async () => (await import('./commands/start.js')).startCommand },
  { name: 'device', summary: 'simulate a device: report metadata (the tutorial client), send telemetry, observe configuration and answer commands, or update its software (--ota)', load: async () => (await import('./commands/device.js')).deviceCommand },
  { name: 'endpoints', summary: 'create, list, get, delete, export or import endpoints over the REST API', load: async () => (await import('./commands/endpoints.js')).endpointsCommand },
  { name: 'tokens', summary: 'list, issue, suspend, reactivate or revoke endpoint tokens', load: async () => (await import('./commands/tokens.js')).tokensCommand },
  { name: 'config', summary: 'get, set, delete or list configurations (Kaa ECR, 7/CMP) and see their delivery statuses', load: async () => (await import('./commands/config.js')).configCommand },
  { name: 'commands', summary: 'send commands (Kaa CEX, 11/CEP) to one endpoint or many, and list them', load: async () => (await import('./commands/commands.js')).commandsCommand },
  { name: 'software', summary: 'software versions of an application (Kaa OTAO): list, create, update, delete, upload a package', load: async () => (await import('./commands/software.js')).softwareCommand },
  { name: 'rollout', summary: 'roll a software version out at a rate with an abort rule; watch, pause, resume, cancel', load: async () => (await import('./commands/rollout.js')).rolloutCommand },
  { name: 'credentials', summary: 'create, list, suspend, reactivate, revoke or delete MQTT client credentials', load: async () => (await import('./commands/credentials.js')).credentialsCommand },
  { name: 'users', summary: 'list, add, change or remove dashboard users (roles: viewer, operator, admin)', load: async () => (await import('./commands/users.js')).usersCommand },
  { name: 'api-keys', summary: 'list, create or revoke named API keys (roles: viewer, operator, admin)', load: async () => (await import('./commands/api-keys.js')).apiKeysCommand },
  { name: 'audit', summary: 'list the audit log: who changed what, when, from where', load: async () => (await import('./commands/audit.js')).auditCommand },
  { name: 'admin', summary: 'recovery on the server machine: reset a dashboard password offline', load: async () => (await import('./commands/admin.js')).adminCommand },
  { name: 'backup', summary: 'a consistent backup of a running single node into one file', load: async () => (await import('./commands/backup.js')).backupCommand },
  { name: 'restore', summary: 'unpack a backup into an empty data directory', load: async () => (await import('./commands/backup.js')).restoreCommand },
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: npx tether <command> [options]

Tether: an open-source IoT endpoint platform that speaks the Kaa Protocol (1/KP over MQTT).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`npx tether <command> --help\` for a command's options. Quick start (from a clone, after npm install):
  npx tether start
  npx tether endpoints create --app-version demo_application_v1
  npx tether device --token <token>`;
}

/** Runs one command line; resolves with the exit code. Failures are printed as one line, no stack. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return 1;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    io.out(topic === undefined ? mainHelp() : (await topic.load()).help);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(tetherVersion());
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) {
    const near = closest(name, COMMANDS.map((c) => c.name));
    const hint = near === undefined ? '' : ` Did you mean "npx tether ${near}"?`;
    io.err(`Error: Unknown command "${name}".${hint} Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See npx tether --help.`);
    return 1;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (err) {
    io.err(`Error: ${oneLine(err)}`);
    return 1;
  }
}
