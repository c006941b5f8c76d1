/**
 * Export of the whole seeded registry as CSV over HTTP (GET /api/v1/endpoints/export): how long
 * 100,000 endpoints take, and the server's resident memory while it streams (sampled), which must
 * stay flat because the export never holds the list in memory.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { rssMb } from './procstat.js';
import { APPLICATION } from './seed.js';

export interface ExportTiming {
  seconds: number;
  rows: number;
  megabytes: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  status: number;
}

export function timeExport(httpPort: number, adminKey: string, pid: number): Promise<ExportTiming> {
  const rssBeforeMb = rssMb(pid);
  let rssPeakMb = rssBeforeMb;
  const sampler = setInterval(() => {
    try {
      rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
    } catch {
      // The process may be gone at the very end.
    }
  }, 50);
  const t0 = performance.now();
  return new Promise<ExportTiming>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: httpPort, path: `/api/v1/endpoints/export?applicationName=${APPLICATION}&format=csv`, headers: { authorization: `Bearer ${adminKey}` } },
      (res) => {
        let bytes = 0;
        let newlines = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 10) newlines++;
        });
        res.on('end', () => {
          clearInterval(sampler);
          // Header line excluded; values with newlines would add lines, the seeded ones have none.
          resolve({ seconds: (performance.now() - t0) / 1000, rows: newlines - 1, megabytes: bytes / 1e6, rssBeforeMb, rssPeakMb, status: res.statusCode ?? 0 });
        });
        res.on('error', (err) => {
          clearInterval(sampler);
          reject(err);
        });
      },
    );
    req.on('error', (err) => {
      clearInterval(sampler);
      reject(err);
    });
  });
}
