/**
 * The load generator runs in a worker thread so the orchestrator (process spawning, /proc
 * sampling, printing) never delays a PUBACK timestamp. The broker under test is another process.
 */
import { parentPort } from 'node:worker_threads';
import type { Command, Reply } from './protocol.js';
import { closeControlFleet, controlStats, fetchBacklog, openControlFleet } from './control.js';
import { runFlood } from './flood.js';
import { runPublishLoad } from './publish.js';
import { closeIdle, openIdle, runConnectRate } from './sessions.js';

let run = 0;

async function handle(cmd: Command): Promise<unknown> {
  // Client IDs must be unique across scenarios: a reused ID would take over a live session.
  const tag = `b${run++}-`;
  switch (cmd.kind) {
    case 'closed':
    case 'paced':
      return runPublishLoad(cmd, tag);
    case 'idle-open':
      return openIdle(cmd, tag);
    case 'idle-close':
      return closeIdle();
    case 'connect-rate':
      return runConnectRate(cmd, tag);
    case 'flood':
      return runFlood(cmd, tag);
    case 'control-open':
      return openControlFleet(cmd, tag);
    case 'control-stats':
      return controlStats(cmd.reset);
    case 'control-close':
      return closeControlFleet();
    case 'backlog-fetch':
      return fetchBacklog(cmd, tag);
  }
}

parentPort!.on('message', (cmd: Command) => {
  handle(cmd).then(
    (result) => parentPort!.postMessage({ ok: true, result } satisfies Reply),
    (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply),
  );
});
