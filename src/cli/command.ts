import type { Io } from './io.js';

export interface Command {
  name: string;
  /** One line for `tether --help`. */
  summary: string;
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
