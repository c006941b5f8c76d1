/** Turns the figures of a run into table rows (with verdicts) and detail lines. */
import type { QueryTiming } from './query.js';
import { fmt, ratio, type Row, type Verdict } from './report.js';
import { IDLE_SETTLE_MS, type BrokerFigures, type Plan } from './scenarios.js';

/** Targets are stated for the full run's sizes; a quick run shows figures without verdicts. */
const FULL_IDLE_DEVICES = 10_000;
const FULL_QUERY_ENDPOINTS = 100_000;

function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

export interface RunFigures {
  tether: BrokerFigures;
  reference: BrokerFigures;
  /** Why the reference column is empty, e.g. `skipped`. */
  referenceMissing: string;
  httpQuery?: QueryTiming;
  storageQuery?: QueryTiming;
  queryEndpoints: number;
  queryShapes: string[];
}

export function buildRows(plan: Plan, f: RunFigures): Row[] {
  const { tether: t, reference: r } = f;
  const rows: Row[] = [];
  const ref = (v: number | undefined, digits = 0) => (v === undefined ? f.referenceMissing : fmt(v, digits));
  if (t.publish) {
    rows.push({
      metric: 'update/keys QoS 1 + /status reply, max rate (updates/s)',
      tether: fmt(t.publish.rate),
      reference: ref(r.publish?.rate),
      ratio: ratio(t.publish.rate, r.publish?.rate),
      target: '≥ 0.5×',
      verdict: r.publish ? verdict(t.publish.rate / r.publish.rate >= 0.5 && t.publish.lost === 0) : '',
    });
    for (const p of ['p50', 'p90', 'p99', 'max'] as const) {
      rows.push({
        metric: `  PUBLISH→PUBACK at max rate, ${p} (ms)`,
        tether: fmt(t.publish.latency[p], 2),
        reference: ref(r.publish?.latency[p], 2),
        ratio: ratio(t.publish.latency[p], r.publish?.latency[p]),
        target: '',
        verdict: '',
      });
    }
  }
  if (t.paced) {
    rows.push({
      metric: `p99 at 50 % of max rate, ${fmt(t.paced.rate)}/s (ms)`,
      tether: fmt(t.paced.latency.p99, 2),
      reference: ref(r.paced?.latency.p99, 2),
      ratio: ratio(t.paced.latency.p99, r.paced?.latency.p99),
      target: '< 5 ms',
      verdict: verdict(t.paced.latency.p99 < 5 && t.paced.lost === 0),
    });
    rows.push({
      metric: '  p50 at 50 % of max rate (ms)',
      tether: fmt(t.paced.latency.p50, 2),
      reference: ref(r.paced?.latency.p50, 2),
      ratio: ratio(t.paced.latency.p50, r.paced?.latency.p50),
      target: '< 2 ms',
      verdict: verdict(t.paced.latency.p50 < 2 && t.paced.lost === 0),
    });
  }
  if (t.fsync) {
    rows.push({ metric: '  disk: 4 KiB append + fsync, p50 / p99 (ms)', tether: `${fmt(t.fsync.p50, 2)} / ${fmt(t.fsync.p99, 2)}`, reference: '', ratio: '', target: '', verdict: '' });
  }
  if (t.connect) {
    rows.push({
      metric: 'connects/s (connect, subscribe, request, response)',
      tether: fmt(t.connect.rate),
      reference: ref(r.connect?.rate),
      ratio: ratio(t.connect.rate, r.connect?.rate),
      target: '≥ 0.7×',
      verdict: verdict((!r.connect || t.connect.rate / r.connect.rate >= 0.7) && t.connect.failed === 0 && t.connect.errorResponses === 0),
    });
  }
  // CPU per operation (server, all threads) at each load, beside the reference at the same offered rate.
  const perOp = (b: { serverCpu: number; rate: number } | undefined) => (b ? cpuPerOp(b.serverCpu, b.rate) : undefined);
  const cpuRows: Array<[string, number | undefined, number | undefined, string, (own: number, theirs: number | undefined) => boolean]> = [
    ['  server CPU per update at max rate (µs)', perOp(t.publish), perOp(r.publish), '≤ 30 µs', (own) => own <= 30],
    ['  server CPU per update at 50 % (µs)', perOp(t.paced), perOp(r.paced), '≤ 3× ref', (own, theirs) => theirs !== undefined && own <= 3 * theirs],
    ['  server CPU per update at 10 % (µs)', perOp(t.tenth), perOp(r.tenth), '≤ 3× ref', (own, theirs) => theirs !== undefined && own <= 3 * theirs],
    ['  server CPU per connect cycle (µs)', perOp(t.connect), perOp(r.connect), '≤ 250 µs', (own) => own <= 250],
  ];
  for (const [metric, own, theirs, target, met] of cpuRows) {
    if (own === undefined) continue;
    rows.push({ metric, tether: fmt(own, 1), reference: theirs === undefined ? f.referenceMissing : fmt(theirs, 1), ratio: ratio(own, theirs), target, verdict: verdict(met(own, theirs)) });
  }
  if (t.idle) {
    rows.push({
      metric: `RSS with ${fmt(t.idle.open)} idle devices (MB)`,
      tether: fmt(t.idle.rssMb, 1),
      reference: ref(r.idle?.rssMb, 1),
      ratio: ratio(t.idle.rssMb, r.idle?.rssMb),
      target: '< 160 MB',
      verdict: plan.idleDevices < FULL_IDLE_DEVICES ? '' : verdict(t.idle.rssMb < 160 && t.idle.open >= FULL_IDLE_DEVICES),
    });
    rows.push({
      metric: '  RSS of the empty process (MB)',
      tether: fmt(t.idle.rssBeforeMb, 1),
      reference: ref(r.idle?.rssBeforeMb, 1),
      ratio: ratio(t.idle.rssBeforeMb, r.idle?.rssBeforeMb),
      target: '≤ 80 MB',
      verdict: verdict(t.idle.rssBeforeMb <= 80),
    });
    const perDevice = kbPerDevice(t.idle);
    const refPerDevice = r.idle ? kbPerDevice(r.idle) : undefined;
    rows.push({
      metric: '  RSS per idle device above the empty process (kB)',
      tether: fmt(perDevice, 1),
      reference: refPerDevice === undefined ? f.referenceMissing : fmt(refPerDevice, 1),
      ratio: ratio(perDevice, refPerDevice),
      target: '≤ 8 kB',
      verdict: plan.idleDevices < FULL_IDLE_DEVICES ? '' : verdict(perDevice <= 8),
    });
  }
  if (t.flood) {
    const fl = t.flood;
    const kept = fl.answeredRate / Math.max(1, fl.offeredRate);
    rows.push({ metric: `flood: well-behaved rate kept (${fmt(fl.offeredRate)}/s offered)`, tether: `${fmt(kept, 2)}×`, reference: '—', ratio: '', target: '≥ 0.8×', verdict: verdict(kept >= 0.8 && fl.refused === 0) });
    rows.push({ metric: '  flood: reply p99 (ms)', tether: fmt(fl.replyLatency.p99, 1), reference: '—', ratio: '', target: '< 250 ms', verdict: verdict(fl.replyLatency.p99 < 250) });
    rows.push({ metric: '  flood: new device CONNACK, max (ms)', tether: fmt(fl.connack.max, 1), reference: '—', ratio: '', target: '< 1,000 ms', verdict: verdict(fl.connack.max < 1000 && fl.connackFailures === 0 && fl.connack.count > 0) });
    rows.push({ metric: '  flood: RSS max (MB)', tether: fmt(fl.maxRssMb, 1), reference: '—', ratio: '', target: '< 300 MB', verdict: verdict(fl.maxRssMb < 300) });
    rows.push({ metric: '  flood: log growth (MB)', tether: fmt(fl.logGrowthMb, 3), reference: '—', ratio: '', target: '< 1 MB', verdict: verdict(fl.logGrowthMb < 1) });
  }
  if (f.httpQuery) {
    const n = fmt(f.queryEndpoints);
    const { httpQuery: h, storageQuery: s } = f;
    rows.push({
      metric: `endpoint list, ${n} endpoints, p50 (ms)`,
      tether: fmt(h.latency.p50, 1),
      reference: s ? fmt(s.latency.p50, 1) : '—',
      ratio: ratio(h.latency.p50, s?.latency.p50),
      target: '',
      verdict: '',
    });
    rows.push({
      metric: `endpoint list, ${n} endpoints, p99 (ms)`,
      tether: fmt(h.latency.p99, 1),
      reference: s ? fmt(s.latency.p99, 1) : '—',
      ratio: ratio(h.latency.p99, s?.latency.p99),
      target: '< 50 ms',
      verdict: f.queryEndpoints < FULL_QUERY_ENDPOINTS ? '' : verdict(h.latency.p99 < 50 && h.errors === 0),
    });
  }
  return rows;
}

/** Microseconds of server CPU per operation: `cores` busy over the phase, `rate` operations per second. */
function cpuPerOp(cores: number, rate: number): number | undefined {
  return rate > 0 ? (cores / rate) * 1e6 : undefined;
}

function kbPerDevice(idle: NonNullable<BrokerFigures['idle']>): number {
  return ((idle.rssMb - idle.rssBeforeMb) * 1024) / Math.max(1, idle.open);
}

function pct(v: number): string {
  return `${Math.round(v * 100)} %`;
}

export function buildDetails(plan: Plan, f: RunFigures): string[] {
  const out: string[] = [
    'Reference column: mosquitto for the MQTT rows; for the endpoint list, the same query on the storage layer in-process.',
  ];
  const others = [f.tether, f.reference].flatMap((b) => [b.publish, b.paced, b.connect]).map((x) => x?.othersCpu ?? 0);
  const worst = Math.max(0, ...others);
  if (worst > 0.25) {
    out.push(`**Skewed run:** other processes used up to ${pct(worst)} of a core during the scenarios (2 cores in all); absolute figures are low, ratios only indicative.`);
  }
  // One load-generator thread: when it runs at a full core, the broker was not the limit.
  for (const [scenario, figures] of [['max rate', f.reference.publish], ['connects', f.reference.connect]] as const) {
    if (figures && figures.generatorCpu >= 0.95) {
      out.push(`**mosquitto ${scenario} is generator-bound:** the load generator used ${pct(figures.generatorCpu)} of a core, so mosquitto's figure is a lower bound and Tether's ratio an upper bound (a second generator thread would compete with the broker for this machine's 2 cores).`);
    }
  }
  const both: Array<[string, BrokerFigures]> = [
    ['Tether', f.tether],
    ['mosquitto', f.reference],
  ];
  for (const [name, b] of both) {
    if (b.publish) {
      out.push(
        `${name} max rate: ${fmt(b.publish.acked)} PUBACKs in ${fmt(b.publish.seconds, 1)} s (${plan.publishDevices} devices × ${plan.window} in flight); broker CPU ${pct(b.publish.serverCpu)} of a core, generator ${pct(b.publish.generatorCpu)}, other processes ${pct(b.publish.othersCpu)}; unacknowledged ${b.publish.lost}, disconnects ${b.publish.disconnects}`,
      );
    }
    if (b.tenth) {
      out.push(
        `${name} 10 % load: ${fmt(b.tenth.rate)}/s acknowledged, open loop; p50 ${fmt(b.tenth.latency.p50, 2)} / p99 ${fmt(b.tenth.latency.p99, 2)} ms; broker CPU ${pct(b.tenth.serverCpu)}, other processes ${pct(b.tenth.othersCpu)}; unacknowledged ${b.tenth.lost}`,
      );
    }
    if (b.paced) {
      out.push(
        `${name} half load: ${fmt(b.paced.rate)}/s acknowledged, open loop; p50 ${fmt(b.paced.latency.p50, 2)} / p90 ${fmt(b.paced.latency.p90, 2)} / p99 ${fmt(b.paced.latency.p99, 2)} / max ${fmt(b.paced.latency.max, 2)} ms; broker CPU ${pct(b.paced.serverCpu)}, other processes ${pct(b.paced.othersCpu)}; unacknowledged ${b.paced.lost}`,
      );
    }
    if (b.connect) {
      out.push(
        `${name} connects: ${fmt(b.connect.completed)} in ${fmt(b.connect.seconds, 1)} s with ${plan.connectConcurrency} in flight; cycle p50 ${fmt(b.connect.latency.p50, 1)} / p99 ${fmt(b.connect.latency.p99, 1)} ms; broker CPU ${pct(b.connect.serverCpu)} of a core, generator ${pct(b.connect.generatorCpu)}, other processes ${pct(b.connect.othersCpu)}; failed ${b.connect.failed}, error responses ${b.connect.errorResponses}`,
      );
    }
    if (b.idle) {
      const perDevice = ((b.idle.rssMb - b.idle.rssBeforeMb) * 1024) / Math.max(1, b.idle.open);
      out.push(
        `${name} idle (fresh process): RSS ${fmt(b.idle.rssBeforeMb, 1)} MB before, ${fmt(b.idle.rssMb, 1)} MB with ${fmt(b.idle.open)} devices after ${IDLE_SETTLE_MS / 1000} s quiet (${fmt(perDevice, 1)} kB/device; ${fmt(b.idle.rssAtOnceMb, 1)} MB right after connecting); connecting them took ${fmt(b.idle.seconds, 1)} s; failed ${b.idle.failed}`,
      );
    }
  }
  const fl = f.tether.flood;
  if (fl) {
    out.push(
      `Tether flood: ${plan.floodDevices} devices offered ${fmt(fl.offeredRate)} requests/s with request IDs and got ${fmt(fl.answeredRate)} replies/s (${fl.refused} refused); reply p50 ${fmt(fl.replyLatency.p50, 1)} / p99 ${fmt(fl.replyLatency.p99, 1)} / max ${fmt(fl.replyLatency.max, 1)} ms; ${fl.connack.count} new devices, CONNACK p50 ${fmt(fl.connack.p50, 1)} / max ${fmt(fl.connack.max, 1)} ms (${fl.connackFailures} failed); ${plan.flooders} flooders sent ${fmt(fl.floodMb, 1)} MB over ${fl.floodConnections} connections; server CPU ${pct(fl.serverCpu)} of a core; RSS max ${fmt(fl.maxRssMb, 1)} MB; log +${fmt(fl.logGrowthMb * 1024, 1)} kB`,
    );
  }
  const { httpQuery: h, storageQuery: s } = f;
  if (h) {
    out.push(
      `endpoint list: ${h.latency.count} sequential requests over HTTP keep-alive, ${f.queryShapes.length} page shapes in turn; max ${fmt(h.latency.max, 1)} ms (storage only: ${fmt(s?.latency.max, 1)} ms). Median per shape, HTTP / storage, and totalElements:`,
    );
    f.queryShapes.forEach((shape, i) => {
      out.push(`  \`${shape}\`: ${fmt(h.shapeMedians[i], 1)} / ${fmt(s?.shapeMedians[i], 1)} ms, ${fmt(h.totals[i])}`);
    });
    if (h.firstError) out.push(`endpoint list errors: ${h.errors}, first: ${h.firstError}`);
  }
  if (plan.mode === 'quick') out.push('Quick run: fewer idle devices and endpoints, short windows; verdicts only where the full-run sizes were used.');
  return out;
}
