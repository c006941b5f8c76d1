/**
 * Package download (issue 14): 100 devices download a 10 MB package from one node at once, with
 * their endpoint tokens, over HTTP. Figures: the total rate (target ≥ 200 MB/s) and how much the
 * server's resident memory grows meanwhile, sampled every 20 ms (target < 50 MB: the package is
 * streamed chunk by chunk, never held whole, let alone once per device).
 *
 * Tether runs as a child process (bench/servers.ts), so its RSS is its own; the devices are plain
 * HTTP clients in this process that count the bytes of every copy and check the SHA-256 of some.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { api } from './control.js';
import { phaseMeter, rssMb, waitIdle } from './procstat.js';
import { fmt, type Row } from './report.js';
import type { TetherServer } from './servers.js';
import { log } from './scenarios.js';

export interface PackagePlan {
  mode: 'quick' | 'full';
  devices: number;
  packageBytes: number;
  /** Rounds of `devices` downloads at once; the figures are of the median round. */
  rounds: number;
}

export const PACKAGES_FULL: PackagePlan = { mode: 'full', devices: 100, packageBytes: 10 * 1024 * 1024, rounds: 3 };
export const PACKAGES_QUICK: PackagePlan = { ...PACKAGES_FULL, mode: 'quick', rounds: 1 };

const APP = 'demo_application';
const VERSION = '1.0.0';

export interface PackageRound {
  seconds: number;
  megabytesPerSecond: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  serverCpu: number;
  /** The devices (this process), in cores: on 2 cores they compete with the server for the CPU. */
  devicesCpu: number;
  othersCpu: number;
  /** Downloads whose bytes or SHA-256 were wrong (must be 0). */
  bad: number;
}

export interface PackageFigures {
  devices: number;
  megabytes: number;
  uploadSeconds: number;
  rounds: PackageRound[];
  /** The median round by rate. */
  median: PackageRound;
  /** Largest growth over the RSS before its round, of all rounds. */
  rssGrowthMb: number;
}

/**
 * One device: GETs the package and counts its bytes; with `verify` it also hashes them (every
 * tenth device: hashing every copy would take a core from the server under test).
 */
function download(port: number, path: string, agent: http.Agent, verify: boolean): Promise<{ bytes: number; sha256: string | undefined; status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const hash = verify ? createHash('sha256') : undefined;
      let bytes = 0;
      res.on('data', (part: Buffer) => {
        bytes += part.length;
        hash?.update(part);
      });
      res.on('end', () => resolve({ bytes, sha256: hash?.digest('hex'), status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error(`GET ${path}: no progress for 120 s`)));
  });
}

function upload(port: number, adminKey: string, data: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'PUT', path: `/otao/api/v1/applications/${APP}/software/${VERSION}/package`, headers: { authorization: `Bearer ${adminKey}`, 'x-file-name': 'bench.bin' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (body += part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    // Streamed in 64 KiB writes, chunked: the server never learns the size in advance.
    void (async () => {
      for (let i = 0; i < data.length; i += 65536) if (!req.write(data.subarray(i, i + 65536))) await new Promise((r) => req.once('drain', r));
      req.end();
    })();
  });
}

export async function measurePackageDownloads(server: TetherServer, plan: PackagePlan): Promise<PackageFigures> {
  // The software version the package belongs to (the software service may not be wired in yet: then
  // the route answers 404 and the package service checks only the application).
  await api(server, 'POST', `/otao/api/v1/applications/${APP}/software`, { version: VERSION, upgradableFrom: ['*'], specification: {} }, [200, 201, 404, 409]);
  const data = randomBytes(plan.packageBytes);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const t0 = performance.now();
  const up = await upload(server.httpPort, server.adminKey, data);
  const uploadSeconds = (performance.now() - t0) / 1000;
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${up.body.slice(0, 300)}`);
  log(`uploaded ${fmt(plan.packageBytes / 1048576)} MB in ${fmt(uploadSeconds, 2)} s`);
  const tokens: string[] = [];
  for (let i = 0; i < plan.devices; i++) {
    const created = await api<{ token: string }>(server, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: 'demo_application_v1' } }, [201]);
    tokens.push(created.body.token);
  }
  const path = (token: string) => `/otao/api/v1/packages/${APP}/${VERSION}?token=${encodeURIComponent(token)}`;
  // One warm-up download: code paths compiled, the file in the OS page cache.
  const agent = new http.Agent({ keepAlive: false, maxSockets: plan.devices * 2 });
  await download(server.httpPort, path(tokens[0]!), agent, true);

  const rounds: PackageRound[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    await waitIdle(server.pid, 10_000);
    const rssBeforeMb = rssMb(server.pid);
    let rssPeakMb = rssBeforeMb;
    const sampler = setInterval(() => {
      try {
        rssPeakMb = Math.max(rssPeakMb, rssMb(server.pid));
      } catch {
        // Gone at the very end.
      }
    }, 20);
    const cpu = phaseMeter(server.pid);
    const self0 = process.cpuUsage();
    const start = performance.now();
    const results = await Promise.all(tokens.map((token, i) => download(server.httpPort, path(token), agent, i % 10 === 0))).finally(() => clearInterval(sampler));
    const seconds = (performance.now() - start) / 1000;
    const { server: serverCpu, others: othersCpu } = cpu();
    const selfUsage = process.cpuUsage(self0);
    const devicesCpu = (selfUsage.user + selfUsage.system) / 1e6 / seconds;
    const bad = results.filter((r) => r.status !== 200 || r.bytes !== data.length || (r.sha256 !== undefined && r.sha256 !== sha256)).length;
    const megabytesPerSecond = (plan.devices * data.length) / 1e6 / seconds;
    rounds.push({ seconds, megabytesPerSecond, rssBeforeMb, rssPeakMb, serverCpu, devicesCpu, othersCpu, bad });
    log(`round ${round + 1}: ${plan.devices} × ${fmt(data.length / 1048576)} MB in ${fmt(seconds, 2)} s = ${fmt(megabytesPerSecond)} MB/s; RSS ${fmt(rssBeforeMb)} → peak ${fmt(rssPeakMb)} MB; server CPU ${fmt(serverCpu * 100)} %, devices ${fmt(devicesCpu * 100)} %, others ${fmt(othersCpu * 100)} %; ${bad} bad`);
  }
  agent.destroy();
  const byRate = [...rounds].sort((a, b) => a.megabytesPerSecond - b.megabytesPerSecond);
  return {
    devices: plan.devices,
    megabytes: data.length / 1e6,
    uploadSeconds,
    rounds,
    median: byRate[Math.floor(byRate.length / 2)]!,
    rssGrowthMb: Math.max(...rounds.map((r) => r.rssPeakMb - r.rssBeforeMb)),
  };
}

export function packageRows(plan: PackagePlan, f: PackageFigures): Row[] {
  const full = plan.mode === 'full';
  const row = (metric: string, value: string, target = '', ok?: boolean): Row => ({ metric, tether: value, reference: '', ratio: '', target, verdict: ok === undefined || !full ? '' : ok ? 'PASS' : 'MISS' });
  const bad = f.rounds.reduce((n, r) => n + r.bad, 0);
  return [
    row(`Package download: ${f.devices} devices × ${fmt((f.megabytes * 1e6) / 1048576)} MiB at once, total (MB/s)`, fmt(f.median.megabytesPerSecond), '≥ 200 MB/s', f.median.megabytesPerSecond >= 200 && bad === 0),
    row('  server RSS growth during the downloads (MB)', fmt(f.rssGrowthMb, 1), '< 50 MB', f.rssGrowthMb < 50),
    row('  rounds (MB/s)', f.rounds.map((r) => fmt(r.megabytesPerSecond)).join(' / ')),
    row('  CPU of the server / the devices / others, median round (cores)', `${fmt(f.median.serverCpu, 2)} / ${fmt(f.median.devicesCpu, 2)} / ${fmt(f.median.othersCpu, 2)}`),
    row('  upload of the package, streamed (s)', fmt(f.uploadSeconds, 2)),
    row('  downloads with wrong bytes or SHA-256', fmt(bad)),
  ];
}
