import type { Command } from './command.js';
import { adminCommand } from './commands/admin.js';
import { apiKeysCommand } from './commands/api-keys.js';
import { auditCommand } from './commands/audit.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { commandsCommand } from './commands/commands.js';
import { configCommand } from './commands/config.js';
import { credentialsCommand } from './commands/credentials.js';
import { deviceCommand } from './commands/device.js';
import { endpointsCommand } from './commands/endpoints.js';
import { rolloutCommand } from './commands/rollout.js';
import { softwareCommand } from './commands/software.js';
import { startCommand } from './commands/start.js';
import { tokensCommand } from './commands/tokens.js';
import { usersCommand } from './commands/users.js';
import type { Io } from './io.js';
import { oneLine } from './io.js';
import { closest } from '../core/did-you-mean.js';
import { tetherVersion } from './version.js';

const COMMANDS: Command[] = [startCommand, deviceCommand, endpointsCommand, tokensCommand, configCommand, commandsCommand, softwareCommand, rolloutCommand, credentialsCommand, usersCommand, apiKeysCommand, auditCommand, adminCommand, backupCommand, restoreCommand];

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
    io.out(topic?.help ?? mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(tetherVersion());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const near = closest(name, COMMANDS.map((c) => c.name));
    const hint = near === undefined ? '' : ` Did you mean "npx tether ${near}"?`;
    io.err(`Error: Unknown command "${name}".${hint} Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See npx tether --help.`);
    return 1;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.err(`Error: ${oneLine(err)}`);
    return 1;
  }
}
