/** The result table (terminal and Markdown) and the dated section appended to docs/performance.md. */
import fs from 'node:fs';
import os from 'node:os';

export type Verdict = 'PASS' | 'MISS' | '';

export interface Row {
  metric: string;
  tether: string;
  reference: string;
  ratio: string;
  target: string;
  verdict: Verdict;
}

export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

const HEADERS = ['Metric', 'Tether', 'Reference', 'Ratio', 'Target', 'Result'];

function cells(row: Row): string[] {
  return [row.metric, row.tether, row.reference, row.ratio, row.target, row.verdict];
}

export function terminalTable(rows: Row[]): string {
  const all = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map((_, c) => (c === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    // Markdown drops leading spaces, so sub-rows get an arrow instead of the terminal's indent.
    ...rows.map((r) => `| ${cells({ ...r, metric: r.metric.startsWith('  ') ? `↳ ${r.metric.trim()}` : r.metric }).map(esc).join(' | ')} |`),
  ].join('\n');
}

export interface Environment {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  mosquitto: string;
  kernel: string;
  /** 1-minute load average when the run started: above ~0.5 others were using the cores. */
  loadAverage: number;
  /** Cores' worth of CPU other processes used in the second before the run started. */
  busyCoresBefore?: number;
}

export function environment(mosquitto: string): Environment {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    mosquitto,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

const DOC_HEADER = `# Performance

\`npm run bench\` measures Tether against targets and against a plain MQTT broker (mosquitto from
Debian) measured in the same run on the same machine, so ratios stay meaningful when the machine
changes. \`npm run bench -- --quick\` is a shorter run (about a minute) with smaller counts and
shorter windows; its figures are noisier. Each run appends a dated section below.

## Method

- **Processes.** Tether runs as a child process started through its real CLI
  (\`tether start\`, default settings: SQLite with \`synchronous=FULL\`, group commit) on a fresh data
  dir that the bench pre-seeds through the storage and services layer. mosquitto runs as a child
  with persistence off, anonymous access and no connection cap. The load generator is a worker
  thread of the bench process speaking raw MQTT 3.1.1 over loopback sockets (a minimal codec, so it
  costs little CPU); the same generator drives both brokers. On a 2-core machine the generator and
  the broker each get roughly one core; the bench reports the CPU each used (*broker CPU*,
  *generator CPU*, in % of one core): a generator near 100 % means it, not the broker, was the limit.
  Other work on the machine skews everything: each run records the load average and CPU use before
  it starts, and the CPU other processes used during each scenario (*other processes*); figures
  from a run where that is high are only good for ratios, and even those only roughly.
- **10/EPMP update throughput.** 200 devices each keep a fixed window of QoS 1
  \`kp1/demo_application_v1/epmx/<token>/update/keys\` publishes in flight (closed loop); every
  PUBACK releases the next publish. Tether acknowledges after the update is committed to SQLite;
  mosquitto acknowledges on receipt and, with no subscribers, discards the message. Latency is
  PUBLISH written → PUBACK read. After a warm-up, acknowledgements inside a fixed window are counted.
- **Latency at half load.** Open loop: updates are sent at 50 % of the rate Tether reached above,
  spread round-robin over the same devices on a 1 ms tick, whatever the broker's response times.
  mosquitto is driven at the same absolute rate.
- **Connects per second.** A fixed number of devices in flight each: TCP connect, CONNECT
  (clean session), SUBSCRIBE to its response topics, one \`get/keys/<requestId>\` request at QoS 1
  with a valid token, wait for the \`/status\` response, DISCONNECT. mosquitto has no one to answer,
  so there the device publishes to its own response topic and waits for the broker to deliver it
  back: the same packets and round trips.
- **Idle devices.** 10,000 devices connect, subscribe to their response topics, send one
  \`update/keys\` and stay connected; the broker's VmRSS is read from \`/proc/<pid>/status\` once its
  CPU has settled.
- **Dashboard list query.** 100,000 endpoints with \`model\`, \`mac\` and \`meterDescription\` metadata
  are seeded into a fresh data dir; \`GET /epr/api/v1/endpoints\` with metadata included, 20 per
  page, sorted by a metadata key or a column, with and without a search term, at several offsets,
  is timed over HTTP (keep-alive, sequential). The reference is the same query run directly on the
  storage layer in the bench process, which shows what the HTTP/API layer adds.

Benchmarks are never run as tests and never assert on time; they print figures and ratios.
`;

export function appendToDocs(file: string, env: Environment, mode: string, rows: Row[], details: string[]): void {
  const section = [
    '',
    `## ${env.date} — ${mode} run`,
    '',
    `Machine: ${env.cores} cores (\`nproc\`), ${env.cpuModel}, ${env.memoryGb} GB RAM, ${env.kernel}; Node ${env.node}; mosquitto ${env.mosquitto}; load average at start ${env.loadAverage.toFixed(2)}${env.busyCoresBefore !== undefined ? `, CPU busy just before the run ${Math.round(env.busyCoresBefore * 100)} % of a core` : ''}.`,
    '',
    markdownTable(rows),
    '',
    ...details.map(bullet('-')),
    '',
  ].join('\n');
  if (!fs.existsSync(file)) fs.writeFileSync(file, DOC_HEADER);
  fs.appendFileSync(file, section);
}

/** Details indented by two spaces are sub-items of the one before. */
export function bullet(mark: string): (detail: string) => string {
  return (d) => (d.startsWith('  ') ? `  ${mark} ${d.trim()}` : `${mark} ${d}`);
}
