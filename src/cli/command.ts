import { didYouMean } from '../core/did-you-mean.js';
import { errors } from '../core/errors.js';
import type { Io } from './io.js';

export interface Command {
  name: string;
  /** Full text for `tether <name> --help`. */
  help: string;
  /** Resolves with the process exit code. Throws (TetherError) for user mistakes: printed as one line. */
  run(argv: string[], io: Io): Promise<number>;
}

export function wantsHelp(argv: string[]): boolean {
  // Only before `--`, so `--metadata '--help'`-like values after a terminator are not taken for it.
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

export type Action = (argv: string[], io: Io) => Promise<number>;

/**
 * `tether <command> <action> …`: no action prints the help (exit 1), `--help` prints it (exit 0),
 * an unknown action is a one-line error listing the actions, in the order given.
 */
export function runAction(command: Pick<Command, 'name' | 'help'>, actions: Record<string, Action>, argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || wantsHelp(argv)) {
    io.out(command.help);
    return Promise.resolve(action === undefined ? 1 : 0);
  }
  const run = Object.hasOwn(actions, action) ? actions[action] : undefined;
  if (!run) {
    const names = Object.keys(actions);
    const listed = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    const near = didYouMean(action, names, (name) => `npx tether ${command.name} ${name}`);
    throw errors.configInvalid(`${command.name} action "${action}"`, `use ${listed} (see npx tether ${command.name} --help)${near}`);
  }
  return run(rest, io);
}
