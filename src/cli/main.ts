import { processIo } from './io.js';
import { runCli } from './run.js';

// Exit explicitly: open keep-alive sockets or a stopped server's leftovers must not keep the
// process alive once the command is done (stdout/stderr writes to pipes and files are synchronous).
const code = await runCli(process.argv.slice(2), processIo);
process.exit(code);
