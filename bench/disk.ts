import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type LatencySummary, Samples } from './stats.js';

/**
 * The disk's own commit cost, for reading the round trip beside it: 4 KiB appended to a file in
 * the data dir and fsynced, `count` times (what one SQLite group commit costs at least).
 */
export function probeFsync(dir: string, count: number): LatencySummary {
  const file = path.join(dir, 'fsync-probe.bin');
  const fd = fs.openSync(file, 'a');
  const block = Buffer.alloc(4096, 7);
  const samples = new Samples();
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      fs.writeSync(fd, block);
      fs.fsyncSync(fd);
      samples.add(performance.now() - t);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return samples.summary();
}
