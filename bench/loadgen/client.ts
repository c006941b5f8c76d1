/** The orchestrator's handle on the load-generator worker: one command at a time. */
import { Worker } from 'node:worker_threads';
import type { BacklogFetchResult, Command, ConnectRateResult, ControlStats, FloodResult, IdleResult, PublishResult, Reply } from './protocol.js';

type ResultOf<C extends Command> = C extends { kind: 'closed' | 'paced' }
  ? PublishResult
  : C extends { kind: 'connect-rate' }
    ? ConnectRateResult
    : C extends { kind: 'flood' }
      ? FloodResult
      : C extends { kind: 'control-stats' }
        ? ControlStats
        : C extends { kind: 'backlog-fetch' }
          ? BacklogFetchResult
          : IdleResult;

export class LoadGenerator {
  private readonly worker = new Worker(new URL('./worker.js', import.meta.url));

  run<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.worker.off('message', onMessage);
        reject(err);
      };
      const onMessage = (reply: Reply) => {
        this.worker.off('error', onError);
        if (reply.ok) resolve(reply.result as ResultOf<C>);
        else reject(new Error(`load generator: ${reply.error}`));
      };
      this.worker.once('message', onMessage);
      this.worker.once('error', onError);
      this.worker.postMessage(cmd);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
