import { type Clock, systemClock } from '../../core/clock.js';
import { errors } from '../../core/errors.js';
import type { AppVersion } from '../../core/types.js';
import type { Extension } from '../extension.js';
import { parseBatch } from './payload.js';

/** Extension type name; also the default instance name enabled for the demo version. */
export const DCX = 'dcx';

/** What DCX needs from the time series service (src/time-series/service.ts). */
export interface DataSampleSink {
  /** Stores the batch's data points durably; resolves when they are committed. */
  ingest(appVersion: AppVersion, endpointId: string, samples: readonly unknown[], receivedAt: number): Promise<number>;
}

/**
 * 2/DCP data collection over 1/KP (Kaa DCX). One batch, one response: the handler resolves (and the
 * transport sends PUBACK and the zero-length `/status`) only after every data point is committed.
 */
export function createDcxExtension(deps: { sink: DataSampleSink; clock?: Clock }): Extension {
  const clock = deps.clock ?? systemClock;
  return {
    name: DCX,
    async handle(request, ctx) {
      // 2/DCP: the only resource path is `json` (the format specifier).
      if (request.resourcePath !== 'json') throw errors.unknownResource(ctx.instance, request.resourcePath);
      // 2/DCP: the server's receipt time is the timestamp of samples that carry none.
      const receivedAt = clock.now();
      const samples = parseBatch(request.payload);
      await deps.sink.ingest(ctx.appVersion, ctx.endpointId, samples, receivedAt);
      // 2/DCP: a successful processing confirmation has a zero-length payload.
      return;
    },
  };
}
