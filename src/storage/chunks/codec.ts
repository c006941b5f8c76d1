/**
 * The on-disk form of a chunk of one series' points, shared by time series backends.
 *
 * Layout: varint n; timestamps as zigzag varints (first value, first delta, then deltas of deltas,
 * so a steady cadence costs one byte a point); varint column count; per column its name and kind:
 * - DECIMAL: every value is a finite number with at most 6 decimals: a scale byte, then the scaled
 *   integers as zigzag varint deltas (sensor readings change by small steps: 1-3 bytes a value);
 * - FLOAT: raw little-endian float64 (anything else numeric);
 * - JSON: a JSON array (booleans, strings, mixed, or values missing from some points as null).
 * Integers are written with arithmetic, not bit operations, so the whole 2^53 range round-trips.
 */
import type { PointValue, PointValues, StoredPoint } from '../time-series.js';

const DECIMAL = 0;
const FLOAT = 1;
const JSON_KIND = 2;
const MAX_SCALE = 6;
const MAX_SCALED = 2 ** 50;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

class Writer {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  /** Unsigned integer up to 2^53. */
  varint(v: number): void {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  float(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8).setFloat64(0, v, true);
    this.length += 8;
  }

  result(): Buffer {
    return Buffer.from(this.buf.buffer, 0, this.length);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    return this.buf[this.pos++]!;
  }

  varint(): number {
    const buf = this.buf;
    // Fast path: up to 4 bytes (28 bits) with bit operations; longer values with arithmetic.
    let b = buf[this.pos++]!;
    if (b < 128) return b;
    let result = b & 127;
    b = buf[this.pos++]!;
    result |= (b & 127) << 7;
    if (b < 128) return result;
    b = buf[this.pos++]!;
    result |= (b & 127) << 14;
    if (b < 128) return result;
    b = buf[this.pos++]!;
    result |= (b & 127) << 21;
    if (b < 128) return result;
    let mul = 2 ** 28;
    for (;;) {
      b = buf[this.pos++]!;
      result += (b & 127) * mul;
      if (b < 128) return result;
      mul *= 128;
    }
  }

  zigzag(): number {
    const z = this.varint();
    if (z < 2 ** 31) return (z >>> 1) ^ -(z & 1);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  float(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function decimalScale(values: Array<PointValue | null>): number | undefined {
  let scale = 0;
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    while (scale <= MAX_SCALE) {
      const scaled = Math.round(v * POW10[scale]!);
      if (Math.abs(scaled) < MAX_SCALED && scaled / POW10[scale]! === v) break;
      scale++;
    }
    if (scale > MAX_SCALE) return undefined;
  }
  return scale;
}

/** Encodes points sorted by time. Column order follows first appearance. */
export function encodeChunk(points: readonly StoredPoint[]): Buffer {
  const w = new Writer();
  const n = points.length;
  w.varint(n);
  let prev = 0;
  let prevDelta = 0;
  for (let i = 0; i < n; i++) {
    const t = points[i]!.t;
    if (i === 0) w.zigzag(t);
    else {
      const delta = t - prev;
      w.zigzag(i === 1 ? delta : delta - prevDelta);
      prevDelta = delta;
    }
    prev = t;
  }
  const names: string[] = [];
  const seen = new Set<string>();
  for (const p of points) {
    for (const name in p.values) {
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
    }
  }
  w.varint(names.length);
  for (const name of names) {
    const nameBytes = encoder.encode(name);
    w.varint(nameBytes.length);
    w.bytes(nameBytes);
    const column = points.map((p) => (Object.hasOwn(p.values, name) ? p.values[name]! : null));
    const scale = decimalScale(column);
    if (scale !== undefined) {
      w.byte(DECIMAL);
      w.byte(scale);
      let last = 0;
      for (const v of column as number[]) {
        const scaled = Math.round(v * POW10[scale]!);
        w.zigzag(scaled - last);
        last = scaled;
      }
    } else if (column.every((v) => typeof v === 'number')) {
      w.byte(FLOAT);
      for (const v of column as number[]) w.float(v);
    } else {
      w.byte(JSON_KIND);
      const json = encoder.encode(JSON.stringify(column));
      w.varint(json.length);
      w.bytes(json);
    }
  }
  return w.result();
}

export function decodeChunk(data: Uint8Array): StoredPoint[] {
  const r = new Reader(data);
  const n = r.varint();
  const points: StoredPoint[] = new Array<StoredPoint>(n);
  let prev = 0;
  let delta = 0;
  for (let i = 0; i < n; i++) {
    let t: number;
    if (i === 0) t = r.zigzag();
    else if (i === 1) {
      delta = r.zigzag();
      t = prev + delta;
    } else {
      delta += r.zigzag();
      t = prev + delta;
    }
    points[i] = { t, values: {} };
    prev = t;
  }
  const columns = r.varint();
  for (let c = 0; c < columns; c++) {
    const name = decoder.decode(r.bytes(r.varint()));
    const kind = r.byte();
    if (kind === DECIMAL) {
      const div = POW10[r.byte()]!;
      let scaled = 0;
      for (let i = 0; i < n; i++) {
        scaled += r.zigzag();
        points[i]!.values[name] = div === 1 ? scaled : scaled / div;
      }
    } else if (kind === FLOAT) {
      for (let i = 0; i < n; i++) points[i]!.values[name] = r.float();
    } else {
      const column = JSON.parse(decoder.decode(r.bytes(r.varint()))) as Array<PointValue | null>;
      for (let i = 0; i < n; i++) {
        const v = column[i];
        if (v !== null && v !== undefined) points[i]!.values[name] = v;
      }
    }
  }
  return points;
}

/** Per numeric value: [min, max, sum, count, last]. Kept beside big chunks for downsampled reads. */
export type ChunkStats = Record<string, [number, number, number, number, number]>;

export function chunkStats(points: readonly StoredPoint[]): ChunkStats {
  const stats: ChunkStats = {};
  for (const p of points) {
    for (const name in p.values) {
      const v = p.values[name];
      if (typeof v !== 'number') continue;
      const s = stats[name];
      if (!s) stats[name] = [v, v, v, 1, v];
      else {
        if (v < s[0]) s[0] = v;
        if (v > s[1]) s[1] = v;
        s[2] += v;
        s[3]++;
        s[4] = v;
      }
    }
  }
  return stats;
}

export function sortPoints(points: StoredPoint[]): StoredPoint[] {
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.t < points[i - 1]!.t) return points.sort((a, b) => a.t - b.t);
  }
  return points;
}

export type { PointValues };

/** A chunk decoded column by column, without an object per point (downsampling reads). */
export interface ChunkColumns {
  n: number;
  t: Float64Array;
  columns: Array<{ name: string; numbers?: Float64Array; values?: Array<PointValue | null> }>;
}

export function decodeChunkColumns(data: Uint8Array): ChunkColumns {
  const r = new Reader(data);
  const n = r.varint();
  const t = new Float64Array(n);
  let prev = 0;
  let delta = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) prev = r.zigzag();
    else {
      delta = i === 1 ? r.zigzag() : delta + r.zigzag();
      prev += delta;
    }
    t[i] = prev;
  }
  const count = r.varint();
  const columns: ChunkColumns['columns'] = [];
  for (let c = 0; c < count; c++) {
    const name = decoder.decode(r.bytes(r.varint()));
    const kind = r.byte();
    if (kind === DECIMAL) {
      const div = POW10[r.byte()]!;
      const numbers = new Float64Array(n);
      let scaled = 0;
      for (let i = 0; i < n; i++) {
        scaled += r.zigzag();
        numbers[i] = scaled / div;
      }
      columns.push({ name, numbers });
    } else if (kind === FLOAT) {
      const numbers = new Float64Array(n);
      for (let i = 0; i < n; i++) numbers[i] = r.float();
      columns.push({ name, numbers });
    } else {
      columns.push({ name, values: JSON.parse(decoder.decode(r.bytes(r.varint()))) as Array<PointValue | null> });
    }
  }
  return { n, t, columns };
}
